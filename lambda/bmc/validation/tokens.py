"""Token estimates and their statistics.

Tokens cannot be counted offline without each model's tokenizer, so they are estimated from
size in bytes (docs/validation.md records the decision):

* The size of a record is the size of its JSON line: free to know, and an upper bound of its
  text's UTF-8 size (keys and structure stand in for the chat template's own tokens). One
  exception: a pure-ASCII line whose text is not ASCII writes characters as ``\\uXXXX``
  escapes (Python's ``json.dumps`` default), up to 6 bytes for one character; such records
  are measured by the UTF-8 size of their string values instead.
* ``estimate_tokens``: one token per 3 bytes, an upper bound for real text (English averages
  about 4 bytes per token; a CJK character is 3 bytes and usually one token). Used for the
  statistics, the cost estimate and the warning that a record may exceed its limit.
* ``guide_tokens``: one token per 6 bytes, the Bedrock guide's budgeting ratio. A record over
  its limit even by this count is an error: it will almost certainly be refused.
"""

from __future__ import annotations

import math
from typing import Any

STRICT_BYTES_PER_TOKEN = 3
GUIDE_BYTES_PER_TOKEN = 6
EXACT_BELOW = 128  # token counts under this are kept exactly; larger ones in ~1.6% buckets
_BUCKET_BITS = 6


def utf8_length(text: str) -> int:
    # isascii() is O(1) on CPython; only non-ASCII text pays for an encode.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def string_bytes(value: object) -> int:
    """UTF-8 size of every string value in a parsed JSON document (keys excluded)."""
    if isinstance(value, str):
        return utf8_length(value)
    if isinstance(value, dict):
        return sum(string_bytes(item) for item in value.values())
    if isinstance(value, list):
        return sum(string_bytes(item) for item in value)
    return 0


def record_size(line: bytes, record: object, text_is_ascii: bool) -> int:
    """The byte size a record's token estimate is based on (see the module docstring)."""
    if text_is_ascii or not line.isascii():
        return len(line)
    return string_bytes(record)


def estimate_tokens(utf8_bytes: int) -> int:
    return -(-utf8_bytes // STRICT_BYTES_PER_TOKEN)


def guide_tokens(utf8_bytes: int) -> int:
    return -(-utf8_bytes // GUIDE_BYTES_PER_TOKEN)


class TokenStats:
    """Total, maximum and percentiles of per-record token estimates in constant memory.

    A histogram instead of a list of counts: memory must not grow with the file. Counts of
    128 and more share buckets 1/64 wide; a percentile reports its bucket's upper end, so it
    may read up to ~1.6% high, never low.
    """

    __slots__ = ("count", "histogram", "max", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.max = 0
        self.histogram: dict[int, int] = {}

    def add(self, tokens: int) -> None:
        self.count += 1
        self.total += tokens
        self.max = max(self.max, tokens)
        if tokens >= EXACT_BELOW:
            shift = tokens.bit_length() - _BUCKET_BITS - 1
            tokens = (((tokens >> shift) + 1) << shift) - 1
        self.histogram[tokens] = self.histogram.get(tokens, 0) + 1

    def merge(self, other: TokenStats) -> None:
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)
        for key, count in other.histogram.items():
            self.histogram[key] = self.histogram.get(key, 0) + count

    def percentile(self, fraction: float) -> int:
        """Nearest-rank percentile (0 < fraction <= 1); 0 when there are no records."""
        if self.count == 0:
            return 0
        rank = max(1, math.ceil(round(fraction * self.count, 9)))
        seen = 0
        for key in sorted(self.histogram):
            seen += self.histogram[key]
            if seen >= rank:
                return min(key, self.max)
        return self.max

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "max": self.max,
            "p50": self.percentile(0.5),
            "p95": self.percentile(0.95),
        }
