"""One dataset file's pass over its lines: the hot loop, and the detailed path for a line.

Each line goes first through the format's fast path (``bmc.validation.fastpath``); a line it
cannot vouch for is parsed with orjson (``parse_failure`` explains a line orjson refuses) and
checked by the format's record checker (``bmc.validation.formats``). The scan tallies records,
characters and token estimates into the dataset's statistics, feeds every chunk read to the
digest, and hands each problem, located by line and field, to the run it reports to
(``FindingSink``: the validator's run, ``bmc.validation.validator``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from bmc.validation import codes
from bmc.validation.digest import StreamDigest
from bmc.validation.formats import Issue, RecordChecker, add, json_type, token_problem
from bmc.validation.hints import ShapeTally
from bmc.validation.lines import MAX_LINE_BYTES, iter_lines
from bmc.validation.report import DatasetStats
from bmc.validation.tokens import estimate_tokens, record_size

_BOM = b"\xef\xbb\xbf"


class FindingSink(Protocol):
    """What a file's scan reports to: the problems it finds and the bytes it reads."""

    def error(
        self, file: str | None, line: int | None, field: str | None, code: str, message: str
    ) -> None: ...

    def line_issue(self, location: str, line_number: int, issue: Issue) -> None: ...

    def bytes_read(self, size: int) -> None: ...


class FileScan:
    """One file's pass: the hot loop and what it tallies."""

    def __init__(
        self,
        sink: FindingSink,
        location: str,
        stats: DatasetStats,
        *,
        checker: RecordChecker,
        record_limit: int | None,
        tally: ShapeTally,
        fast_path: Callable[[bytes], tuple[int, int] | None] | None,
    ) -> None:
        self.sink = sink
        self.location = location
        self.stats = stats
        self.checker = checker
        self.record_limit = record_limit
        self.tally = tally
        self.fast_path = fast_path

    def run(self, read: Callable[[int], bytes], digest: StreamDigest | None) -> None:
        """The hot loop: the fast path; a line it cannot vouch for goes to ``check_line``."""
        stats = self.stats
        bytes_read = self.sink.bytes_read
        digest_update = digest.update if digest is not None else None

        def on_chunk(chunk: bytes) -> None:
            size = len(chunk)
            stats.bytes += size
            if digest_update is not None:
                digest_update(chunk)
            bytes_read(size)

        add_tokens = stats.tokens.add
        fast_path = self.fast_path
        record_limit = self.record_limit
        check_line = self.check_line
        records = 0
        characters = 0
        try:
            for line_number, line in enumerate(iter_lines(read, on_chunk=on_chunk), 1):
                if fast_path is not None and line is not None:
                    clean = fast_path(line)
                    if clean is not None:
                        records += 1
                        characters += clean[0]
                        tokens = estimate_tokens(clean[1])
                        add_tokens(tokens)
                        if record_limit is not None and tokens > record_limit:
                            self.issues(line_number, add(None, token_problem(None, clean[1], record_limit)))
                        continue
                counted, chars = check_line(line_number, line)
                records += counted
                characters += chars
        finally:
            stats.records += records
            stats.characters += characters

    def check_line(self, line_number: int, line: bytes | None) -> tuple[int, int]:
        """The detailed path for one line: (records it counts for, characters of its text)."""
        sink = self.sink
        location = self.location
        if line is None:
            sink.error(
                location,
                line_number,
                None,
                codes.LINE_TOO_LONG,
                f"line is longer than {MAX_LINE_BYTES:,} bytes; it was skipped unread",
            )
            return 1, 0
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record, problem = parse_failure(line)
            if problem is not None:
                counted = 0 if problem.code == codes.EMPTY_LINE else 1
                if counted:
                    self.tally.unparsed_line(line, line_number)
                sink.line_issue(location, line_number, problem)
                return counted, 0
        if type(record) is not dict:
            self.tally.parsed(record, line_number)
            sink.error(
                location,
                line_number,
                None,
                codes.NOT_AN_OBJECT,
                f"each line must be a JSON object, got {json_type(record)}",
            )
            return 1, 0
        checker = self.checker
        characters, ascii, issues = checker(record)
        size = record_size(line, record, ascii)
        media_tokens = checker.media_tokens
        tokens = estimate_tokens(size) + media_tokens[1]
        self.stats.tokens.add(tokens)
        if self.record_limit is not None and tokens > self.record_limit:
            issues = add(issues, token_problem(None, size, self.record_limit, media_tokens))
        if issues is not None:
            if any(not issue.warning for issue in issues):
                self.tally.parsed(record, line_number)
            self.issues(line_number, issues)
        return 1, characters

    def issues(self, line_number: int, issues: list[Issue] | None) -> None:
        for issue in issues or ():
            self.sink.line_issue(self.location, line_number, issue)


def parse_failure(line: bytes) -> tuple[Any, Issue | None]:
    """Explain a line orjson refused, or parse it if the standard library accepts it.

    The slow path: only for lines that failed. The standard library also accepts a few
    documents orjson refuses (integers beyond 64 bits, lone surrogate escapes).
    """
    if not line.strip():
        return None, Issue(
            codes.EMPTY_LINE, None, "empty line: every line must hold one JSON object (remove blank lines)"
        )
    if line.startswith(_BOM):
        return None, Issue(
            codes.UTF8_BOM, None, "the file starts with a UTF-8 byte order mark: save it as UTF-8 without BOM"
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Issue(
            codes.INVALID_UTF8,
            None,
            f"not valid UTF-8: byte 0x{line[exc.start]:02x} at byte {exc.start + 1} ({exc.reason}); "
            "save the file as UTF-8",
        )
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Issue(codes.INVALID_JSON, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return None, Issue(codes.INVALID_JSON, None, "not valid JSON: nested too deeply")
    except ValueError:  # an integer beyond Python's 4,300 digits: it cannot be read, nor shown
        return None, Issue(codes.INVALID_JSON, None, "not valid JSON: a number has more than 4,300 digits")
