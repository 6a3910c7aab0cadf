"""Paired bootstrap confidence interval of a metric's delta (custom - base).

Method (Koehn 2004, "Statistical Significance Tests for Machine Translation Evaluation",
EMNLP; Efron & Tibshirani 1993): draw N record indices with replacement (N = the number of
records both models answered), recompute the corpus metric of *both* systems on that same
sample, keep the difference; repeat ``RESAMPLES`` times; the 95% interval is the 2.5th and
97.5th percentiles of the differences. Mean metrics resample per-record scores; BLEU and chrF
resample per-record sufficient statistics, so every resampled value is an exact corpus score.

sacrebleu's own ``PairedTest`` reports a p-value and each system's interval, not an interval
of the delta, hence this small loop. The generator is numpy's PCG64 seeded with ``SEED``:
the same records give the same interval on every run and machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bmc.evaluation.metrics import CORPUS_METRICS, SystemScores, _libraries, corpus_score_from_statistics

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

RESAMPLES = 1000
SEED = 12345  # sacrebleu's default SACREBLEU_SEED, for familiarity
CONFIDENCE = 0.95
# Resamples drawn per step: bounds memory to CHUNK x N weights (10,000 records: 8 MB).
CHUNK = 100
METHOD = "paired bootstrap (Koehn 2004): corpus metric of both models on the same resampled records"


@dataclass(frozen=True, slots=True)
class DeltaInterval:
    delta: float
    low: float
    high: float

    def to_list(self) -> list[float]:
        return [self.low, self.high]


def resample_weights(
    records: int, *, resamples: int = RESAMPLES, seed: int = SEED
) -> Iterator[npt.NDArray[np.float64]]:
    """Chunks of bootstrap samples as count vectors: row r, column i = how often record i was drawn."""
    np_ = _libraries().numpy
    rng = np_.random.default_rng(seed)
    remaining = resamples
    while remaining > 0:
        size = min(CHUNK, remaining)
        indices = rng.integers(0, records, size=(size, records))
        weights = np_.zeros((size, records), dtype=float)
        for row in range(size):
            weights[row] = np_.bincount(indices[row], minlength=records)
        yield weights
        remaining -= size


def paired_delta_intervals(
    base: SystemScores,
    custom: SystemScores,
    metrics: Sequence[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, DeltaInterval]:
    """The delta (custom - base) of each metric and its paired-bootstrap interval.

    Both systems must be scored on the same records in the same order. With fewer than two
    records there is nothing to resample: the interval collapses to the delta.
    """
    if base.records != custom.records:
        raise ValueError(f"paired bootstrap needs the same records: {base.records} != {custom.records}")
    np_ = _libraries().numpy
    records = base.records
    deltas = {name: custom.corpus[name] - base.corpus[name] for name in metrics}
    if records < 2:
        return {name: DeltaInterval(d, d, d) for name, d in deltas.items()}
    samples: dict[str, list[float]] = {name: [] for name in metrics}
    for weights in resample_weights(records, resamples=resamples, seed=seed):
        for name in metrics:
            if name in CORPUS_METRICS:
                base_sums = weights @ base.statistics[name]
                custom_sums = weights @ custom.statistics[name]
                samples[name].extend(
                    corpus_score_from_statistics(name, c) - corpus_score_from_statistics(name, b)
                    for b, c in zip(base_sums, custom_sums, strict=True)
                )
            else:
                differences = custom.per_record[name] - base.per_record[name]
                samples[name].extend((weights @ differences / records).tolist())
    tail = (1 - confidence) / 2 * 100
    intervals: dict[str, DeltaInterval] = {}
    for name in metrics:
        low, high = np_.percentile(np_.array(samples[name]), [tail, 100 - tail])
        intervals[name] = DeltaInterval(deltas[name], float(low), float(high))
    return intervals
