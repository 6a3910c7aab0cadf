"""What one Distributed Map child does: ask both models (and the judge) about a batch of
records, and write the answers as JSON lines for the summary.

The batch input (``BatchSpec``) names the targets; the workflow builds it from the registry
(the serving ARN the run recorded) and the catalog (the base model's on-demand id), never from
what a caller sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bmc.evaluation.dataset import TestRecord
from bmc.evaluation.generation import Generation, Generator, InferenceSettings, Target, judge_target
from bmc.evaluation.judge import JUDGE_SETTINGS, JudgeConfig, Verdict, judge_answer
from bmc.evaluation.results import EvaluatedRecord

# The keys of a child's BatchInput: the run id and BatchSpec.to_dict()'s keys.
BATCH_INPUT_KEYS = ("runId", "custom", "base", "inference", "systemPrompt", "judge")
# A child execution (EXPRESS) runs at most 5 minutes and the batch function 270 s: a batch is
# sized so its calls fit in this budget at a conservative answer speed.
BATCH_TIME_BUDGET_SECONDS = 200.0
CALL_OVERHEAD_SECONDS = 2.0
TOKENS_PER_SECOND = 40.0
OUT_OF_TIME = "BatchOutOfTime"


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


def seconds_per_record(spec: BatchSpec) -> float:
    """A conservative duration of one record: every call answers maxTokens (judges their own)."""

    def call(max_tokens: int) -> float:
        return CALL_OVERHEAD_SECONDS + max_tokens / TOKENS_PER_SECOND

    answers = 1 if spec.base is None else 2
    judging = 0.0 if spec.judge is None else answers * call(JUDGE_SETTINGS.max_tokens)
    return answers * call(spec.inference.max_tokens) + judging


def records_per_batch(spec: BatchSpec, configured: int) -> int:
    """The batch size of a run: the deployment's, smaller when long answers would outlast a child."""
    return max(1, min(configured, int(BATCH_TIME_BUDGET_SECONDS // seconds_per_record(spec))))


def evaluate_records(
    records: Sequence[TestRecord],
    spec: BatchSpec,
    generator: Generator,
    *,
    time_left: Callable[[], float] | None = None,
) -> list[EvaluatedRecord]:
    """Every record gets an answer or a recorded failure from each model (TargetUnusableError raises).

    ``time_left`` (seconds the function has left): a record that could not finish in time is not
    started; it is recorded as failed (``BatchOutOfTime``) so that the batch still reports it.
    """
    results: list[EvaluatedRecord] = []
    judge = None if spec.judge is None else judge_target(spec.judge.model_id)
    reserve = seconds_per_record(spec) + generator.safety_seconds
    for record in records:
        if time_left is not None and time_left() < reserve:
            results.append(_out_of_time(record, spec))
            continue
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


def _out_of_time(record: TestRecord, spec: BatchSpec) -> EvaluatedRecord:
    missing = Generation(
        error=OUT_OF_TIME, message="the batch's function ran out of time before this record", attempts=0
    )
    return EvaluatedRecord(record, missing, None if spec.base is None else missing)


def _verdict(
    generator: Generator, judge: Target, config: JudgeConfig, record: TestRecord, answer: Generation
) -> Verdict | None:
    if not answer.ok:
        return None  # nothing to judge: the answer's failure is already counted
    return judge_answer(
        generator, judge, config, question=record.prompt, reference=record.reference, answer=answer.text or ""
    )
