"""One evaluated record: the test record, each model's answer and the judge's verdicts.

This is what the batch function writes (one JSON line per record) and the summary reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bmc.evaluation.dataset import CATEGORY, PROMPT, REFERENCE, TestRecord
from bmc.evaluation.generation import Generation
from bmc.evaluation.judge import Verdict


@dataclass(frozen=True, slots=True)
class EvaluatedRecord:
    record: TestRecord
    custom: Generation
    base: Generation | None = None  # None when the run does not compare with the base model
    custom_verdict: Verdict | None = None  # None without a judge (or when the answer failed)
    base_verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.record.index,
            PROMPT: self.record.prompt,
            REFERENCE: self.record.reference,
            CATEGORY: self.record.category,
            "custom": self.custom.to_dict(),
            "base": None if self.base is None else self.base.to_dict(),
        }
        if self.custom_verdict is not None or self.base_verdict is not None:
            data["judge"] = {
                "custom": None if self.custom_verdict is None else self.custom_verdict.to_dict(),
                "base": None if self.base_verdict is None else self.base_verdict.to_dict(),
            }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluatedRecord:
        judge = data.get("judge") or {}
        return cls(
            record=TestRecord.from_item(dict(data)),
            custom=Generation.from_dict(data["custom"]),
            base=None if data.get("base") is None else Generation.from_dict(data["base"]),
            custom_verdict=None if judge.get("custom") is None else Verdict.from_dict(judge["custom"]),
            base_verdict=None if judge.get("base") is None else Verdict.from_dict(judge["base"]),
        )
