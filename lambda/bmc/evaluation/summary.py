"""The evaluation summary (evaluation.json) and the per-record rows (predictions.jsonl).

Comparison: the metrics compare the models on the records *both* answered (a paired
comparison); a record either model failed is counted under ``records.failed`` and listed under
``failures``, never silently dropped and never scored as an empty answer. Without a base
model (``compareWithBase: false``) the custom model's scores stand alone.

Per metric: base, custom, delta (custom - base) and the 95% paired-bootstrap interval of the
delta (``bootstrap``). Per category: the same values without an interval (small categories give
intervals too wide to act on). Win/tie/loss counts compare the two answers of each record on the
primary metric (the gate's metric, else tokenF1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bmc.evaluation.bootstrap import CONFIDENCE, METHOD, RESAMPLES, SEED, paired_delta_intervals
from bmc.evaluation.generation import Generation
from bmc.evaluation.judge import JudgeConfig
from bmc.evaluation.metrics import (
    JUDGE,
    METRICS,
    ROUGE_L,
    SCALES,
    TOKEN_F1,
    SystemScores,
    _libraries,
    drops_letters_for_rouge,
    ordered,
    record_scores,
    score_system,
)
from bmc.evaluation.results import EvaluatedRecord

SCHEMA_VERSION = 1
FAILURE_EXAMPLES = 20
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class EvaluationReport:
    summary: dict[str, Any]  # evaluation.json
    predictions: list[dict[str, Any]]  # predictions.jsonl, one row per record, in record order


def primary_metric(metrics: Sequence[str], gate_metric: str | None = None) -> str:
    """The metric of win/tie/loss: the gate's, else tokenF1, else the first one computed."""
    if gate_metric is not None:
        return gate_metric
    return TOKEN_F1 if TOKEN_F1 in metrics else ordered(metrics)[0]


def summarize(
    records: Sequence[EvaluatedRecord],
    *,
    metrics: Sequence[str] = METRICS,
    compare_with_base: bool = True,
    gate_metric: str | None = None,
    judge: JudgeConfig | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> EvaluationReport:
    metrics = ordered(metrics)
    primary = primary_metric(metrics, gate_metric)
    records = sorted(records, key=lambda r: r.record.index)
    np_ = _libraries().numpy
    scored = [
        r for r in records if r.custom.ok and (not compare_with_base or (r.base is not None and r.base.ok))
    ]
    references = [r.record.reference for r in scored]
    custom = score_system(references, [r.custom.text or "" for r in scored], metrics)
    base = score_system(references, [_text(r.base) for r in scored], metrics) if compare_with_base else None
    reported = list(metrics)

    judged_mask = None
    if judge is not None:
        judged_mask = np_.array([_judged(r, compare_with_base) for r in scored], dtype=bool)
        custom = custom.with_metric(JUDGE, np_.array([_score(r.custom_verdict) for r in scored], dtype=float))
        if base is not None:
            base = base.with_metric(JUDGE, np_.array([_score(r.base_verdict) for r in scored], dtype=float))
        reported.append(JUDGE)

    metric_entries = _metric_entries(custom, base, reported, judged_mask, resamples=resamples, seed=seed)
    summary: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "records": _record_counts(records, scored, compare_with_base),
        "metrics": metric_entries,
        "primaryMetric": primary,
        "winTieLoss": _win_tie_loss(custom, base, primary, judged_mask) if base is not None else None,
        "categories": _categories(scored, custom, base, [m for m in reported if m != JUDGE], primary),
        "judge": _judge_section(judge, records, judged_mask, compare_with_base),
        "failures": _failures(records),
        "usage": _usage(records),
        "bootstrap": {"method": METHOD, "resamples": resamples, "seed": seed, "confidence": CONFIDENCE},
        "notes": _notes(records, scored, metrics),
    }
    predictions = _prediction_rows(records, scored, custom, base, metrics)
    return EvaluationReport(summary=summary, predictions=predictions)


def _text(generation: Generation | None) -> str:
    return "" if generation is None or generation.text is None else generation.text


def _score(verdict: Any) -> float:
    return float(verdict.score) if verdict is not None and verdict.score is not None else float("nan")


def _judged(record: EvaluatedRecord, compare_with_base: bool) -> bool:
    custom_ok = record.custom_verdict is not None and record.custom_verdict.ok
    base_ok = not compare_with_base or (record.base_verdict is not None and record.base_verdict.ok)
    return custom_ok and base_ok


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _metric_entries(
    custom: SystemScores,
    base: SystemScores | None,
    metrics: Sequence[str],
    judged_mask: Any,
    *,
    resamples: int,
    seed: int,
) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    text_metrics = [m for m in metrics if m != JUDGE]
    intervals = {}
    if base is not None and custom.records:
        intervals = paired_delta_intervals(base, custom, text_metrics, resamples=resamples, seed=seed)
    for name in text_metrics:
        entries[name] = _entry(
            name, custom.corpus[name] if custom.records else None, base, intervals.get(name)
        )
    if JUDGE in metrics:
        judged_custom = custom.subset(judged_mask)
        judged_base = base.subset(judged_mask) if base is not None else None
        interval = None
        if judged_base is not None and judged_custom.records:
            interval = paired_delta_intervals(
                judged_base, judged_custom, [JUDGE], resamples=resamples, seed=seed
            )[JUDGE]
        entries[JUDGE] = _entry(
            JUDGE, judged_custom.corpus[JUDGE] if judged_custom.records else None, judged_base, interval
        )
    return entries


def _entry(name: str, custom_value: float | None, base: SystemScores | None, interval: Any) -> dict[str, Any]:
    base_value = base.corpus[name] if base is not None and base.records else None
    delta = None if base_value is None or custom_value is None else custom_value - base_value
    return {
        "scale": SCALES[name],
        "base": _round(base_value),
        "custom": _round(custom_value),
        "delta": _round(delta),
        "ci95": None if interval is None else [_round(interval.low), _round(interval.high)],
    }


def _win_tie_loss(custom: SystemScores, base: SystemScores, metric: str, judged_mask: Any) -> dict[str, Any]:
    if metric == JUDGE:
        custom, base = custom.subset(judged_mask), base.subset(judged_mask)
    differences = custom.per_record[metric] - base.per_record[metric]
    wins = int((differences > TIE_TOLERANCE).sum())
    losses = int((differences < -TIE_TOLERANCE).sum())
    return {"metric": metric, "wins": wins, "ties": len(differences) - wins - losses, "losses": losses}


def _categories(
    scored: Sequence[EvaluatedRecord],
    custom: SystemScores,
    base: SystemScores | None,
    metrics: Sequence[str],
    primary: str,
) -> dict[str, dict[str, Any]]:
    np_ = _libraries().numpy
    names = sorted({r.record.category for r in scored if r.record.category is not None})
    categories: dict[str, dict[str, Any]] = {}
    for name in names:
        mask = np_.array([r.record.category == name for r in scored], dtype=bool)
        custom_part = custom.subset(mask)
        base_part = base.subset(mask) if base is not None else None
        entry: dict[str, Any] = {
            "records": int(mask.sum()),
            "metrics": {
                m: {k: v for k, v in _entry(m, custom_part.corpus[m], base_part, None).items() if k != "ci95"}
                for m in metrics
            },
        }
        if base_part is not None and primary in metrics:
            entry["winTieLoss"] = _win_tie_loss(custom_part, base_part, primary, None)
        categories[name] = entry
    return categories


def _record_counts(
    records: Sequence[EvaluatedRecord], scored: Sequence[EvaluatedRecord], compare_with_base: bool
) -> dict[str, Any]:
    return {
        "total": len(records),
        "scored": len(scored),
        "failed": {
            "custom": sum(not r.custom.ok for r in records),
            "base": sum(r.base is not None and not r.base.ok for r in records) if compare_with_base else None,
            "any": len(records) - len(scored),
        },
    }


def _judge_section(
    judge: JudgeConfig | None,
    records: Sequence[EvaluatedRecord],
    judged_mask: Any,
    compare_with_base: bool,
) -> dict[str, Any] | None:
    if judge is None:
        return None

    def failed(verdicts: list[Any]) -> int:
        return sum(v is not None and not v.ok for v in verdicts)

    return {
        **judge.to_dict(),
        "scale": SCALES[JUDGE],
        "judged": int(judged_mask.sum()),
        "failed": {
            "custom": failed([r.custom_verdict for r in records]),
            "base": failed([r.base_verdict for r in records]) if compare_with_base else None,
        },
        "errors": dict(
            Counter(
                v.error
                for r in records
                for v in (r.custom_verdict, r.base_verdict)
                if v is not None and v.error is not None
            )
        ),
    }


def _failures(records: Sequence[EvaluatedRecord]) -> dict[str, Any]:
    by_code: dict[str, Counter[str]] = {"custom": Counter(), "base": Counter()}
    examples: list[dict[str, Any]] = []
    for record in records:
        for model, generation in (("custom", record.custom), ("base", record.base)):
            if generation is None or generation.ok:
                continue
            code = generation.error or "NoAnswer"
            by_code[model][code] += 1
            if len(examples) < FAILURE_EXAMPLES:
                examples.append(
                    {
                        "index": record.record.index,
                        "line": record.record.line,
                        "model": model,
                        "error": code,
                        "message": generation.message,
                        "attempts": generation.attempts,
                    }
                )
    return {"byCode": {model: dict(counts) for model, counts in by_code.items()}, "examples": examples}


def _usage(records: Sequence[EvaluatedRecord]) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    for model in ("custom", "base"):
        generations = [g for g in (getattr(r, model) for r in records) if g is not None]
        if not generations:
            continue
        answered = [g for g in generations if g.ok]
        usage[model] = {
            "calls": sum(g.attempts for g in generations),
            "retries": sum(g.attempts - 1 for g in generations),
            "inputTokens": sum(g.input_tokens for g in generations),
            "outputTokens": sum(g.output_tokens for g in generations),
            "meanLatencyMs": round(sum(g.latency_ms for g in answered) / len(answered)) if answered else None,
        }
    return usage


def _notes(
    records: Sequence[EvaluatedRecord], scored: Sequence[EvaluatedRecord], metrics: Sequence[str]
) -> list[str]:
    notes: list[str] = []
    failed = len(records) - len(scored)
    if failed:
        notes.append(
            f"{failed} of {len(records)} records are not compared: a model failed to answer them (see failures)"
        )
    if ROUGE_L in metrics:
        dropped = sum(drops_letters_for_rouge(r.record.reference) for r in scored)
        if dropped:
            notes.append(
                f"rougeL: {dropped} of {len(scored)} references contain non-ASCII letters, which rouge-score's "
                "default tokenizer drops (identical non-English texts can score 0): prefer chrF for such data"
            )
    return notes


def _prediction_rows(
    records: Sequence[EvaluatedRecord],
    scored: Sequence[EvaluatedRecord],
    custom: SystemScores,
    base: SystemScores | None,
    metrics: Sequence[str],
) -> list[dict[str, Any]]:
    position = {r.record.index: i for i, r in enumerate(scored)}
    rows: list[dict[str, Any]] = []
    for record in records:
        at = position.get(record.record.index)
        scores: dict[str, Any] = {}
        for model, generation, system in (("custom", record.custom, custom), ("base", record.base, base)):
            if generation is None:
                continue
            if at is not None and system is not None:
                scores[model] = {m: _round(system.per_record[m][at]) for m in metrics}
            elif generation.ok:  # answered, but the other model did not: scored alone
                scores[model] = {
                    m: _round(v)
                    for m, v in record_scores(record.record.reference, generation.text or "", metrics).items()
                }
            else:
                scores[model] = None
        row: dict[str, Any] = {
            "index": record.record.index,
            "prompt": record.record.prompt,
            "referenceResponse": record.record.reference,
            "category": record.record.category,
            "customResponse": record.custom.text,
            "baseResponse": None if record.base is None else record.base.text,
            "scores": scores,
            "errors": {
                model: {"error": g.error, "message": g.message}
                for model, g in (("custom", record.custom), ("base", record.base))
                if g is not None and not g.ok
            },
        }
        if record.custom_verdict is not None or record.base_verdict is not None:
            row["judge"] = {
                "custom": None if record.custom_verdict is None else record.custom_verdict.score,
                "base": None if record.base_verdict is None else record.base_verdict.score,
            }
        rows.append(row)
    return rows
