"""Line splitting with bounded memory, and token estimates with constant-size statistics."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random

import pytest
from bmc.validation.digest import StreamDigest
from bmc.validation.lines import iter_lines
from bmc.validation.tokens import (
    TokenStats,
    estimate_tokens,
    guide_tokens,
    record_size,
    string_bytes,
    utf8_length,
)


def lines_of(data: bytes, chunk_bytes: int = 4, max_line_bytes: int = 16) -> list[bytes | None]:
    return list(iter_lines(io.BytesIO(data).read, chunk_bytes=chunk_bytes, max_line_bytes=max_line_bytes))


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 16])
def test_lines_across_chunk_boundaries(chunk_bytes: int) -> None:
    data = b'{"a": 1}\n{"b": 22}\n\nlast'
    assert lines_of(data, chunk_bytes) == [b'{"a": 1}', b'{"b": 22}', b"", b"last"]


def test_trailing_newline_does_not_make_an_extra_line() -> None:
    assert lines_of(b"one\ntwo\n") == [b"one", b"two"]
    assert lines_of(b"") == []


def test_crlf_is_left_to_the_json_parser() -> None:
    assert lines_of(b"one\r\ntwo\r\n") == [b"one\r", b"two\r"]


@pytest.mark.parametrize("chunk_bytes", [1, 4, 7, 16])
def test_overlong_lines_become_none_and_are_skipped(chunk_bytes: int) -> None:
    data = b"short\n" + b"x" * 40 + b"\nafter\n" + b"y" * 17 + b"\nend" + b"z" * 30
    assert lines_of(data, chunk_bytes) == [b"short", None, b"after", None, None]


def test_line_at_the_limit_is_kept() -> None:
    assert lines_of(b"x" * 16 + b"\n" + b"y" * 16, chunk_bytes=5) == [b"x" * 16, b"y" * 16]


def test_reads_chunk_by_chunk_and_reports_progress() -> None:
    data = b"".join(json.dumps({"n": i}).encode() + b"\n" for i in range(100))
    requested: list[int] = []
    source = io.BytesIO(data)

    def read(size: int) -> bytes:
        requested.append(size)
        return source.read(size)

    seen: list[bytes] = []
    lines = list(iter_lines(read, chunk_bytes=64, max_line_bytes=64, on_chunk=seen.append))
    assert len(lines) == 100
    assert set(requested) == {64}  # never "read everything"
    assert b"".join(seen) == data  # every byte, in order (the digest hashes them)


def test_chunk_must_not_exceed_the_line_limit() -> None:
    with pytest.raises(ValueError, match="chunk_bytes"):
        lines_of(b"x", chunk_bytes=32, max_line_bytes=16)


def test_token_estimates() -> None:
    assert estimate_tokens(0) == 0
    assert estimate_tokens(1) == 1
    assert estimate_tokens(3) == 1
    assert estimate_tokens(4) == 2
    assert guide_tokens(12) == 2
    assert guide_tokens(13) == 3


def test_utf8_sizes() -> None:
    assert utf8_length("abc") == 3
    assert utf8_length("caf\u00e9") == 5
    assert utf8_length("\u6771\u4eac") == 6
    assert utf8_length("\U0001f600") == 4
    assert string_bytes({"a": ["x\u00e9", {"b": "yz"}], "n": 5, "t": True, "z": None}) == 5


def test_record_size_is_the_line_unless_escapes_inflate_it() -> None:
    record = {"input": "\u00e9t\u00e9"}
    literal = json.dumps(record, ensure_ascii=False).encode()
    escaped = json.dumps(record).encode()
    assert record_size(literal, record, text_is_ascii=False) == len(literal)
    assert record_size(escaped, record, text_is_ascii=False) == 5  # the UTF-8 size of "été"
    plain = b'{"input": "ete"}'
    assert record_size(plain, {"input": "ete"}, text_is_ascii=True) == len(plain)


def test_token_stats_percentiles() -> None:
    stats = TokenStats()
    for value in range(1, 101):
        stats.add(value)
    assert stats.to_dict() == {"total": 5050, "max": 100, "p50": 50, "p95": 95}


def test_token_stats_empty() -> None:
    assert TokenStats().to_dict() == {"total": 0, "max": 0, "p50": 0, "p95": 0}


def test_large_counts_are_bucketed_within_two_percent_and_never_low() -> None:
    rng = random.Random(3)
    values = [rng.randint(1, 200_000) for _ in range(20_000)]
    stats = TokenStats()
    for value in values:
        stats.add(value)
    ordered = sorted(values)
    for fraction in (0.5, 0.95):
        exact = ordered[int(fraction * len(ordered)) - 1]
        assert exact <= stats.percentile(fraction) <= exact * 1.02
    assert stats.max == max(values)
    assert stats.total == sum(values)


def test_histogram_size_is_bounded_whatever_the_record_count() -> None:
    stats = TokenStats()
    for value in range(1, 300_000, 7):
        stats.add(value)
    # 128 exact slots, then 64 buckets per doubling: memory does not grow with the file.
    assert len(stats.histogram) < 128 + 64 * 18


def test_merge() -> None:
    first, second = TokenStats(), TokenStats()
    for value in (1, 2, 3):
        first.add(value)
    for value in (10, 20):
        second.add(value)
    first.merge(second)
    assert first.to_dict() == {"total": 36, "max": 20, "p50": 3, "p95": 20}


@pytest.mark.parametrize("threaded", [True, False])
def test_the_digest_is_the_sha256_of_every_chunk(threaded: bool) -> None:
    data = os.urandom(3 << 20)
    digest = StreamDigest(threaded=threaded)
    assert digest.threaded is threaded
    for start in range(0, len(data), 256 << 10):
        digest.update(data[start : start + (256 << 10)])
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    digest.close()  # idempotent, also after the digest was read
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
