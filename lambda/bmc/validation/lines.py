"""Split a byte stream into lines with bounded memory.

Reading large chunks and splitting them in C is much faster than ``readline`` per line, and it
works the same for local files and S3 streaming bodies (which have no fast ``readline``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

CHUNK_BYTES = 256 << 10  # small enough to stay in the CPU cache while its lines are parsed
MAX_LINE_BYTES = 8 << 20  # far above any real record (per-record limits are ~200 KB of text)


def iter_lines(
    read: Callable[[int], bytes],
    *,
    chunk_bytes: int = CHUNK_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    on_chunk: Callable[[bytes], None] | None = None,
) -> Iterator[bytes | None]:
    """Yield each line without its ``\\n``.

    A line longer than ``max_line_bytes`` is yielded as ``None`` and its bytes are skipped,
    never buffered: a file without newlines cannot exhaust memory. ``on_chunk`` receives
    every chunk read, in order (for progress reporting and the file's digest).
    """
    if chunk_bytes > max_line_bytes:
        raise ValueError("chunk_bytes must not exceed max_line_bytes")
    carry = b""
    skipping = False  # inside an oversized line: discard up to the next newline
    while True:
        chunk = read(chunk_bytes)
        if not chunk:
            break
        if on_chunk is not None:
            on_chunk(chunk)
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            skipping = False
        lines = chunk.split(b"\n")
        if carry:
            lines[0] = carry + lines[0]
        carry = lines.pop()
        # Only the first line can be longer than a chunk: it continues the previous chunks.
        if lines and len(lines[0]) > max_line_bytes:
            yield None
            yield from lines[1:]
        else:
            yield from lines
        if len(carry) > max_line_bytes:
            yield None
            carry = b""
            skipping = True
    if carry:
        yield carry
