"""What one Distributed Map child does: ask both models (and the judge) about a batch of
records, and write the answers as JSON lines for the summary.

The batch input (``BatchSpec``) names the targets; the workflow builds it from the registry
(the serving ARN the run recorded) and the catalog (the base model's on-demand id), never from
what a caller sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bmc.evaluation.dataset import TestRecord
from bmc.evaluation.generation import Generation, Generator, InferenceSettings, Target, judge_target
from bmc.evaluation.judge import JudgeConfig, Verdict, judge_answer
from bmc.evaluation.results import EvaluatedRecord


@dataclass(frozen=True, slots=True)
class BatchSpec:
    custom: Target
    base: Target | None = None  # None: compareWithBase is false
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    system_prompt: str | None = None
    judge: JudgeConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "custom": self.custom.to_dict(),
            "base": None if self.base is None else self.base.to_dict(),
            "inference": self.inference.to_dict(),
            "systemPrompt": self.system_prompt,
            "judge": None if self.judge is None else self.judge.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchSpec:
        return cls(
            custom=Target.from_dict(data["custom"]),
            base=None if not data.get("base") else Target.from_dict(data["base"]),
            inference=InferenceSettings.from_dict(data.get("inference")),
            system_prompt=data.get("systemPrompt") or None,
            judge=None if not data.get("judge") else JudgeConfig.from_dict(data["judge"]),
        )


def evaluate_records(
    records: Sequence[TestRecord], spec: BatchSpec, generator: Generator
) -> list[EvaluatedRecord]:
    """Every record gets an answer or a recorded failure from each model (TargetUnusableError raises)."""
    results: list[EvaluatedRecord] = []
    judge = None if spec.judge is None else judge_target(spec.judge.model_id)
    for record in records:
        custom = generator.generate(spec.custom, record.prompt, spec.inference, spec.system_prompt)
        base = None
        if spec.base is not None:
            base = generator.generate(spec.base, record.prompt, spec.inference, spec.system_prompt)
        custom_verdict = base_verdict = None
        if judge is not None and spec.judge is not None:
            custom_verdict = _verdict(generator, judge, spec.judge, record, custom)
            if base is not None:
                base_verdict = _verdict(generator, judge, spec.judge, record, base)
        results.append(EvaluatedRecord(record, custom, base, custom_verdict, base_verdict))
    return results


def _verdict(
    generator: Generator, judge: Target, config: JudgeConfig, record: TestRecord, answer: Generation
) -> Verdict | None:
    if not answer.ok:
        return None  # nothing to judge: the answer's failure is already counted
    return judge_answer(
        generator, judge, config, question=record.prompt, reference=record.reference, answer=answer.text or ""
    )
