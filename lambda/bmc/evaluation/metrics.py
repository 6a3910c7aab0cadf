"""Judge-free metrics: one implementation for the workflow and ``bmc score``.

Definitions (docs/evaluation.md):

- ``exactMatch``: fraction of records whose prediction equals the reference after SQuAD
  normalization (lowercase, no punctuation, no articles a/an/the, single spaces).
- ``contains``: fraction of records whose lowercased prediction contains the lowercased reference.
- ``tokenF1``: mean SQuAD token F1 (same normalization; two empty token lists score 1, one scores 0).
- ``rougeL``: mean of rouge-score's ``RougeScorer(["rougeL"], use_stemmer=False)
  .score(reference, prediction)["rougeL"].fmeasure``.
- ``bleu``: ``sacrebleu.corpus_bleu(predictions, [references]).score`` (0-100, tokenizer 13a).
- ``chrF``: ``sacrebleu.corpus_chrf(predictions, [references]).score`` (0-100).

The first four are means of per-record scores (0-1). BLEU and chrF are corpus metrics: they sum
n-gram statistics over all records before computing the score, so the corpus value is not the
mean of sentence scores. Per-record BLEU and chrF (for predictions.jsonl and win/tie/loss) are
``sentence_bleu`` (effective n-gram order, as sacrebleu recommends for single sentences) and
``sentence_chrf``; the paired bootstrap resamples the per-record sufficient statistics, so each
resampled BLEU/chrF is an exact corpus score.

The scoring libraries are imported when first used: the rest of the package (and every
function that does not score) works without them.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

EXACT_MATCH = "exactMatch"
CONTAINS = "contains"
TOKEN_F1 = "tokenF1"
ROUGE_L = "rougeL"
BLEU = "bleu"
CHRF = "chrF"
# The judge's mean rating (1-5); computed only when a judge is configured.
JUDGE = "judge"

METRICS = (EXACT_MATCH, CONTAINS, TOKEN_F1, ROUGE_L, BLEU, CHRF)
# Corpus metrics: computed from summed sufficient statistics, not as a mean of records.
CORPUS_METRICS = frozenset({BLEU, CHRF})
SCALES = {
    EXACT_MATCH: "0-1",
    CONTAINS: "0-1",
    TOKEN_F1: "0-1",
    ROUGE_L: "0-1",
    BLEU: "0-100",
    CHRF: "0-100",
    JUDGE: "1-5",
}

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


class MetricsUnavailableError(RuntimeError):
    """rouge-score or sacrebleu is not installed (``pip install -r lambda/requirements-evaluation.txt``)."""


def check_metric_names(names: Sequence[str]) -> list[str]:
    """The names that are not metrics (empty when all are known)."""
    return [name for name in names if name not in METRICS]


def ordered(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` without duplicates, in the canonical order of METRICS."""
    wanted = set(names)
    return tuple(name for name in METRICS if name in wanted)


# --- SQuAD normalization and per-record scores -------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalization: lowercase, drop punctuation and articles, collapse spaces."""
    lowered = text.lower()
    no_punctuation = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    no_articles = _ARTICLES.sub(" ", no_punctuation)
    return " ".join(no_articles.split())


def exact_match(reference: str, prediction: str) -> float:
    return 1.0 if normalize_answer(prediction) == normalize_answer(reference) else 0.0


def contains(reference: str, prediction: str) -> float:
    return 1.0 if reference.lower() in prediction.lower() else 0.0


def token_f1(reference: str, prediction: str) -> float:
    reference_tokens = normalize_answer(reference).split()
    prediction_tokens = normalize_answer(prediction).split()
    if not reference_tokens or not prediction_tokens:
        return 1.0 if reference_tokens == prediction_tokens else 0.0
    common = Counter(reference_tokens) & Counter(prediction_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(prediction_tokens)
    recall = overlap / len(reference_tokens)
    return 2 * precision * recall / (precision + recall)


def drops_letters_for_rouge(text: str) -> bool:
    """True when rouge-score's default tokenizer would drop letters of ``text``.

    It keeps only ``[a-z0-9]`` after lowercasing: accented and non-Latin letters vanish, so
    identical non-English texts can score 0. The report flags such data (chrF handles it).
    """
    return any(ch.isalpha() and not ch.isascii() for ch in text)


# --- the reference libraries -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Libraries:
    numpy: Any
    rouge: Any  # RougeScorer(["rougeL"], use_stemmer=False)
    bleu: Any  # sacrebleu.metrics.BLEU()
    chrf: Any  # sacrebleu.metrics.CHRF()
    sacrebleu: Any


@cache
def _libraries() -> _Libraries:
    try:
        import numpy
        import sacrebleu
        from rouge_score import rouge_scorer
        from sacrebleu.metrics.bleu import BLEU as SacreBLEU  # noqa: N811
        from sacrebleu.metrics.chrf import CHRF as SacreCHRF  # noqa: N811
    except ImportError as exc:
        raise MetricsUnavailableError(
            f"the scoring libraries are not installed ({exc.name}): "
            "pip install -r lambda/requirements-evaluation.txt"
        ) from exc
    return _Libraries(
        numpy=numpy,
        rouge=rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False),
        bleu=SacreBLEU(),
        chrf=SacreCHRF(),
        sacrebleu=sacrebleu,
    )


def rouge_l(reference: str, prediction: str) -> float:
    return float(_libraries().rouge.score(reference, prediction)["rougeL"].fmeasure)


def sentence_bleu(reference: str, prediction: str) -> float:
    return float(_libraries().sacrebleu.sentence_bleu(prediction, [reference]).score)


def sentence_chrf(reference: str, prediction: str) -> float:
    return float(_libraries().sacrebleu.sentence_chrf(prediction, [reference]).score)


_PER_RECORD = {
    EXACT_MATCH: exact_match,
    CONTAINS: contains,
    TOKEN_F1: token_f1,
    ROUGE_L: rouge_l,
    BLEU: sentence_bleu,
    CHRF: sentence_chrf,
}


def record_scores(reference: str, prediction: str, metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """Per-record scores (for predictions.jsonl); BLEU and chrF are sentence-level here."""
    return {name: _PER_RECORD[name](reference, prediction) for name in metrics}


# --- corpus scores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemScores:
    """One system's scores on a list of records.

    ``per_record[m]``: one score per record (sentence-level for BLEU and chrF).
    ``statistics[m]``: for BLEU and chrF, the per-record sufficient statistics (records x k).
    ``corpus[m]``: the corpus value of each metric, as the definitions above say.
    """

    per_record: dict[str, npt.NDArray[np.float64]]
    statistics: dict[str, npt.NDArray[np.float64]]
    corpus: dict[str, float]

    @property
    def records(self) -> int:
        first = next(iter(self.per_record.values()), None)
        return 0 if first is None else len(first)

    def subset(self, mask: npt.NDArray[np.bool_]) -> SystemScores:
        """The scores of the records where ``mask`` is true (a category), corpus values recomputed."""
        per_record = {name: values[mask] for name, values in self.per_record.items()}
        statistics = {name: rows[mask] for name, rows in self.statistics.items()}
        corpus: dict[str, float] = {}
        for name, values in per_record.items():
            if name in statistics:
                corpus[name] = (
                    corpus_score_from_statistics(name, statistics[name].sum(axis=0)) if len(values) else 0.0
                )
            else:
                corpus[name] = float(values.mean()) if len(values) else 0.0
        return SystemScores(per_record=per_record, statistics=statistics, corpus=corpus)

    def with_metric(self, name: str, values: npt.NDArray[np.float64]) -> SystemScores:
        """These scores plus a mean metric given per record (the judge's ratings)."""
        mean = float(values.mean()) if len(values) else 0.0
        return SystemScores(
            per_record={**self.per_record, name: values},
            statistics=self.statistics,
            corpus={**self.corpus, name: mean},
        )


def score_system(
    references: Sequence[str], predictions: Sequence[str], metrics: Sequence[str] = METRICS
) -> SystemScores:
    """Score ``predictions`` against ``references`` (same length, same order)."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    libraries = _libraries()
    np_ = libraries.numpy
    per_record: dict[str, Any] = {}
    statistics: dict[str, Any] = {}
    corpus: dict[str, float] = {}
    for name in ordered(metrics):
        per_record[name] = np_.array(
            [_PER_RECORD[name](r, p) for r, p in zip(references, predictions, strict=True)], dtype=float
        )
        if name in CORPUS_METRICS:
            scorer = libraries.bleu if name == BLEU else libraries.chrf
            corpus_function = (
                libraries.sacrebleu.corpus_bleu if name == BLEU else libraries.sacrebleu.corpus_chrf
            )
            if predictions:
                rows = scorer._extract_corpus_statistics(list(predictions), [list(references)])
                statistics[name] = np_.array(rows, dtype=float)
                corpus[name] = float(corpus_function(list(predictions), [list(references)]).score)
            else:
                statistics[name] = np_.zeros((0, 0))
                corpus[name] = 0.0
        else:
            corpus[name] = float(per_record[name].mean()) if len(per_record[name]) else 0.0
    return SystemScores(per_record=per_record, statistics=statistics, corpus=corpus)


def corpus_score_from_statistics(name: str, summed: Sequence[float]) -> float:
    """BLEU or chrF of a corpus whose per-record statistics sum to ``summed``."""
    libraries = _libraries()
    scorer = libraries.bleu if name == BLEU else libraries.chrf
    return float(scorer._compute_score_from_stats([round(value) for value in summed]).score)
