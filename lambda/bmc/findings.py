"""The error/warning record shared by everything that validates.

A finding points at the exact place of a problem: the file (a local path, an ``s3://`` URI or
another named source such as ``--hyperparameters``), the 1-based line (``None`` for file-level
findings), the field as a JSON path (``messages[1].content[0].text``), a stable machine-readable
code and a human message. Whether a finding is an error or a warning is decided by the list it
is put in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Finding:
    file: str | None
    line: int | None
    field: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, str | int | None]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }

    def location(self) -> str:
        """``file:line`` (or just the file) for human output."""
        if self.file is None:
            return "-"
        return self.file if self.line is None else f"{self.file}:{self.line}"


class FieldError(ValueError):
    """One wrong value of an object being read: ``field`` is its JSON path within that object and
    ``code`` a finding code, so a caller checking a larger document can locate it."""

    def __init__(self, field: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


DEFAULT_LISTED_PER_CODE = 20


@dataclass(slots=True)
class FindingLog:
    """Counts every finding by code but keeps only the first few of each code.

    A file with one systematic mistake can have a million identical errors: listing them all
    would make reports unreadable and memory grow with the file.
    """

    listed_per_code: int = DEFAULT_LISTED_PER_CODE
    listed: list[Finding] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        count = self.counts[finding.code] + 1
        self.counts[finding.code] = count
        if count <= self.listed_per_code:
            self.listed.append(finding)

    def extend(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)
