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
from typing import Any


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
class FindingGroup:
    """One finding and the other lines where it repeats (same file, field and code).

    ``finding`` is the first occurrence; ``count`` counts every occurrence and ``lines`` keeps
    the first line numbers (every one when the log is uncapped).
    """

    finding: Finding
    count: int = 1
    lines: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self.finding.to_dict()
        data["count"] = self.count
        data["lines"] = list(self.lines)
        return data


@dataclass(slots=True)
class FindingLog:
    """Counts every finding by code and groups repeats: one systematic mistake on a million
    lines is one group with its count and first lines, so reports stay readable and memory
    stays flat.

    ``listed_per_code`` caps the groups listed per code and the lines kept per group; None
    keeps every one (``bmc validate --max-findings all``).
    """

    listed_per_code: int | None = DEFAULT_LISTED_PER_CODE
    groups: list[FindingGroup] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _by_key: dict[tuple[str | None, str | None, str], FindingGroup] = field(default_factory=dict)
    _groups_per_code: Counter[str] = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        self.counts[finding.code] += 1
        key = (finding.file, finding.field, finding.code)
        group = self._by_key.get(key)
        cap = self.listed_per_code
        if group is not None:
            group.count += 1
            if finding.line is not None and (cap is None or len(group.lines) < cap):
                group.lines.append(finding.line)
            return
        if cap is not None and self._groups_per_code[finding.code] >= cap:
            return
        self._groups_per_code[finding.code] += 1
        group = FindingGroup(finding, lines=[] if finding.line is None else [finding.line])
        self._by_key[key] = group
        self.groups.append(group)

    def extend(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    @property
    def listed(self) -> list[Finding]:
        """The first occurrence of every listed group, in the order found."""
        return [group.finding for group in self.groups]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)
