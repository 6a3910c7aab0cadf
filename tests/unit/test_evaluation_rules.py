"""The evaluation's rules at their edges: the gate's reading and its reasons, metric definitions on
small cases, and every section of the summary computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bmc.evaluation import metrics
from bmc.evaluation.bootstrap import METHOD, paired_delta_intervals
from bmc.evaluation.dataset import TestRecord
from bmc.evaluation.gate import Gate, decide_gate
from bmc.evaluation.generation import Generation
from bmc.evaluation.judge import JudgeConfig, Verdict
from bmc.evaluation.metrics import SystemScores, score_system
from bmc.evaluation.results import EvaluatedRecord
from bmc.evaluation.summary import FAILURE_EXAMPLES, TIE_TOLERANCE, _win_tie_loss, primary_metric, summarize
from bmc.findings import FieldError

# --- the gate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"metric": "bleu", "zeta": 1, "alpha": 2},
            "gate: unknown field 'alpha' (fields: metric, minDelta, onFail)",
        ),
        (
            {"metric": "perplexity"},
            "gate.metric must be one of the evaluated metrics: exactMatch, contains, tokenF1, rougeL, bleu, chrF",
        ),
        ({"metric": "bleu", "minDelta": True}, "gate.minDelta must be a number (in the metric's units)"),
        ({"metric": "bleu", "minDelta": None}, "gate.minDelta must be a number (in the metric's units)"),
        ({"metric": "bleu", "onFail": "delete"}, "gate.onFail must be one of undeploy, keep"),
    ],
)
def test_gate_refusals_exactly(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        Gate.from_dict(data)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"metric": "bleu", "zeta": 1, "alpha": 2}, "gate.alpha", "UNKNOWN_FIELD"),
        ({"minDelta": 1}, "gate.metric", "MISSING_FIELD"),
        ({"metric": "perplexity"}, "gate.metric", "INVALID_VALUE"),
        ({"metric": "bleu", "minDelta": "1"}, "gate.minDelta", "INVALID_VALUE"),
        ({"metric": "bleu", "minDelta": math.inf}, "gate.minDelta", "INVALID_VALUE"),
        ({"metric": "bleu", "minDelta": -math.inf}, "gate.minDelta", "INVALID_VALUE"),
        ({"metric": "bleu", "minDelta": math.nan}, "gate.minDelta", "INVALID_VALUE"),
        ({"metric": "bleu", "onFail": "delete"}, "gate.onFail", "INVALID_VALUE"),
    ],
)
def test_gate_refusals_name_their_field_and_code(data: dict[str, object], field: str, code: str) -> None:
    # The run spec check locates each refusal by these (evaluation.gate.<field>).
    with pytest.raises(FieldError) as refused:
        Gate.from_dict(data)
    assert (refused.value.field, refused.value.code) == (field, code)


def test_a_gate_reads_its_defaults_and_only_the_evaluated_metrics() -> None:
    gate = Gate.from_dict({"metric": "bleu"})
    assert (gate.metric, gate.min_delta, gate.on_fail) == ("bleu", 0.0, "undeploy")
    assert isinstance(Gate.from_dict({"metric": "bleu", "minDelta": 2}).min_delta, float)
    assert Gate.from_dict({"metric": "chrF", "onFail": "keep"}).on_fail == "keep"
    with pytest.raises(ValueError, match=r"one of the evaluated metrics: bleu$"):
        Gate.from_dict({"metric": "rougeL"}, metrics=("bleu",))
    with pytest.raises(ValueError, match=r"one of the evaluated metrics: bleu, judge$"):
        Gate.from_dict({"metric": "rougeL"}, metrics=("bleu",), judge=True)


def test_gate_reasons_exactly() -> None:
    summary = {
        "metrics": {
            "rougeL": {"delta": 0.04, "ci95": [0.01, 0.07]},
            "bleu": {"delta": -1.5, "ci95": None},
            "chrF": {"delta": 2.0},
        }
    }
    passed = decide_gate(summary, Gate("rougeL", 0.04))
    assert passed.to_dict() == {
        "passed": True,
        "metric": "rougeL",
        "minDelta": 0.04,
        "delta": 0.04,
        "ci95": [0.01, 0.07],
        "undeploy": False,
        "reason": "rougeL improved by +0.04 (95% CI +0.01 to +0.07), at least the required +0.04",
    }
    failed = decide_gate(summary, Gate("bleu", 0.0))
    assert failed.reason == "bleu changed by -1.5, less than the required +0"
    assert (failed.passed, failed.undeploy, failed.ci95) == (False, True, None)
    assert decide_gate(summary, Gate("chrF", 2.5, "keep")).to_dict()["undeploy"] is False
    assert decide_gate(summary, Gate("chrF", 1.0)).reason == "chrF improved by +2, at least the required +1"
    missing = decide_gate({}, Gate("tokenF1", 0.1))
    assert (missing.passed, missing.undeploy, missing.delta) == (False, True, None)
    assert missing.reason == "no tokenF1 delta: no record was answered by both models"
    assert not decide_gate({"metrics": {"tokenF1": None}}, Gate("tokenF1", -1.0)).passed


# --- metric definitions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "prediction", "em", "contained", "f1"),
    [
        ("The Cat!", "cat", 1.0, 0.0, 1.0),
        ("cat", "The CAT sat", 0.0, 1.0, 2 * 0.5 * 1.0 / 1.5),
        ("red blue green", "blue green yellow orange", 0.0, 0.0, 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3)),
        ("a an the", "", 1.0, 0.0, 1.0),  # both empty after normalization
        ("the", "dog", 0.0, 0.0, 0.0),  # one empty
        ("x y", "z", 0.0, 0.0, 0.0),  # nothing in common
        ("b b a", "b", 0.0, 0.0, 2 * 1.0 * (1 / 2) / 1.5),  # counted with multiplicity
    ],
)
def test_squad_scores(reference: str, prediction: str, em: float, contained: float, f1: float) -> None:
    assert metrics.exact_match(reference, prediction) == em
    assert metrics.contains(reference, prediction) == contained
    assert metrics.token_f1(reference, prediction) == pytest.approx(f1)


def test_normalization() -> None:
    assert metrics.normalize_answer("  The quick,  brown FOX's a-n  theory ") == "quick brown foxs theory"


def test_metric_names() -> None:
    assert metrics.check_metric_names(["bleu", "rouge", "chrF", "judge"]) == ["rouge", "judge"]
    assert metrics.ordered(["chrF", "exactMatch", "chrF", "unknown"]) == ("exactMatch", "chrF")


@pytest.mark.parametrize(
    ("text", "drops"), [("héllo", True), ("日本", True), ("abc 123", False), ("a — b €", False)]
)
def test_which_texts_rouge_cannot_tokenize(text: str, drops: bool) -> None:
    assert metrics.drops_letters_for_rouge(text) is drops


def test_scores_of_no_records_and_of_mismatched_lists() -> None:
    with pytest.raises(ValueError, match=r"^2 references but 1 predictions$"):
        score_system(["a", "b"], ["a"])
    empty = score_system([], [])
    assert empty.records == 0
    assert empty.corpus == dict.fromkeys(metrics.METRICS, 0.0)
    assert empty.statistics["bleu"].shape == (0, 0)
    assert SystemScores({}, {}, {}).records == 0


def test_a_subset_recomputes_each_corpus_value() -> None:
    scores = score_system(
        ["the cat sat down here", "a dog ran", "red"], ["the cat sat down here", "dog", "blue"]
    )
    first = scores.subset(np.array([True, False, False]))
    assert first.records == 1
    assert first.corpus["exactMatch"] == 1.0 and first.corpus["bleu"] == pytest.approx(100.0)
    assert first.statistics["bleu"].tolist() == scores.statistics["bleu"][:1].tolist()
    nothing = scores.subset(np.array([False, False, False]))
    assert nothing.corpus == dict.fromkeys(metrics.METRICS, 0.0)
    judged = scores.with_metric("judge", np.array([5.0, 3.0, 4.0]))
    assert judged.corpus["judge"] == 4.0 and judged.corpus["bleu"] == scores.corpus["bleu"]
    assert scores.with_metric("judge", np.array([])).corpus["judge"] == 0.0
    assert metrics.record_scores("the cat", "cat", ["exactMatch", "contains"]) == {
        "exactMatch": 1.0,
        "contains": 0.0,
    }


# --- the summary --------------------------------------------------------------------------------


def answer(text: str | None, **fields: object) -> Generation:
    if text is None:
        return Generation(error=str(fields.pop("error", "ModelErrorException")), message="refused", **fields)  # type: ignore[arg-type]
    return Generation(text=text, **fields)  # type: ignore[arg-type]


def record(
    index: int,
    reference: str,
    custom: Generation,
    base: Generation | None,
    category: str | None = None,
    **verdicts: Verdict | None,
) -> EvaluatedRecord:
    return EvaluatedRecord(
        TestRecord(index, index + 2, f"q{index}", reference, category),
        custom,
        base,
        verdicts.get("custom_verdict"),
        verdicts.get("base_verdict"),
    )


def test_the_primary_metric() -> None:
    assert primary_metric(["bleu", "tokenF1"], "bleu") == "bleu"
    assert primary_metric(["chrF", "tokenF1"]) == "tokenF1"
    assert primary_metric(["chrF", "contains"]) == "contains"


def test_ties_within_a_billionth_and_categories(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [
        record(0, "alpha beta", answer("alpha beta"), answer("alpha"), "x"),
        record(1, "gamma delta", answer("gamma"), answer("gamma delta"), "x"),
        record(2, "eps", answer("eps"), answer("eps"), "y"),
        record(3, "zeta", answer("zeta"), answer("zeta"), None),
    ]
    summary = summarize(records, metrics=["tokenF1", "exactMatch"], resamples=20).summary
    assert summary["winTieLoss"] == {"metric": "tokenF1", "wins": 1, "ties": 2, "losses": 1}
    assert sorted(summary["categories"]) == ["x", "y"]
    x = summary["categories"]["x"]
    assert x["records"] == 2
    assert x["winTieLoss"] == {"metric": "tokenF1", "wins": 1, "ties": 0, "losses": 1}
    assert x["metrics"]["exactMatch"] == {"scale": "0-1", "base": 0.5, "custom": 0.5, "delta": 0.0}
    assert summary["metrics"]["tokenF1"]["scale"] == "0-1"
    assert list(summary["metrics"]) == ["exactMatch", "tokenF1"]


def test_values_are_rounded_to_six_places() -> None:
    records = [record(i, "x y z", answer("x y z" if i == 0 else "x"), answer("x y z")) for i in range(3)]
    entry = summarize(records, metrics=["tokenF1"], resamples=20).summary["metrics"]["tokenF1"]
    assert entry["custom"] == round((1 + 0.5 + 0.5) / 3, 6) and entry["base"] == 1.0
    assert entry["delta"] == round((1 + 0.5 + 0.5) / 3 - 1, 6)
    assert entry["ci95"] is not None and all(value == round(value, 6) for value in entry["ci95"])


def test_failures_usage_and_notes() -> None:
    records = [
        record(i, "ok", answer(None, error="ThrottlingException", attempts=3), answer("ok", attempts=1))
        for i in range(FAILURE_EXAMPLES + 3)
    ]
    records.append(
        record(99, "ok", answer("ok", input_tokens=7, output_tokens=2, latency_ms=101), answer(None))
    )
    records.append(
        record(
            100,
            "fine",
            answer("fine", attempts=2, input_tokens=3, output_tokens=1, latency_ms=200),
            answer("fine"),
        )
    )
    summary = summarize(records, metrics=["exactMatch"], resamples=20).summary
    total = FAILURE_EXAMPLES + 5
    assert summary["records"] == {
        "total": total,
        "scored": 1,
        "failed": {"custom": FAILURE_EXAMPLES + 3, "base": 1, "any": total - 1},
    }
    assert summary["failures"]["byCode"] == {
        "custom": {"ThrottlingException": FAILURE_EXAMPLES + 3},
        "base": {"ModelErrorException": 1},
    }
    examples = summary["failures"]["examples"]
    assert len(examples) == FAILURE_EXAMPLES
    assert examples[0] == {
        "index": 0,
        "line": 2,
        "model": "custom",
        "error": "ThrottlingException",
        "message": "refused",
        "attempts": 3,
    }
    usage = summary["usage"]
    assert usage["custom"] == {
        "calls": 3 * (FAILURE_EXAMPLES + 3) + 1 + 2,
        "retries": 2 * (FAILURE_EXAMPLES + 3) + 1,
        "inputTokens": 10,
        "outputTokens": 3,
        "meanLatencyMs": round((101 + 200) / 2),
    }
    assert usage["base"]["meanLatencyMs"] == 0
    assert summary["notes"] == [
        f"{total - 1} of {total} records are not compared: a model failed to answer them (see failures)"
    ]
    unanswered = summarize(
        [record(0, "x", answer(None), None)], compare_with_base=False, resamples=20
    ).summary
    assert unanswered["usage"] == {
        "custom": {"calls": 1, "retries": 0, "inputTokens": 0, "outputTokens": 0, "meanLatencyMs": None}
    }
    assert unanswered["records"]["failed"] == {"custom": 1, "base": None, "any": 1}
    assert unanswered["metrics"]["tokenF1"]["custom"] is None


def test_the_rouge_note_counts_the_references_it_cannot_read() -> None:
    records = [
        record(0, "über", answer("über"), answer("uber")),
        record(1, "plain", answer("plain"), answer("plain")),
    ]
    assert summarize(records, resamples=20).summary["notes"] == [
        "rougeL: 1 of 2 references contain non-ASCII letters, which rouge-score's default tokenizer drops "
        "(identical non-English texts can score 0): prefer chrF for such data"
    ]
    assert summarize(records, metrics=["chrF"], resamples=20).summary["notes"] == []


def test_the_judge_section_counts_failed_verdicts_and_their_errors() -> None:
    judge = JudgeConfig("amazon.nova-pro-v1:0", "correctness")
    records = [
        record(0, "a", answer("a"), answer("a"), "c", custom_verdict=Verdict(5.0), base_verdict=Verdict(3.0)),
        record(
            1,
            "b",
            answer("b"),
            answer("c"),
            custom_verdict=Verdict(4.0),
            base_verdict=Verdict(error="NoScore"),
        ),
        record(
            2,
            "c",
            answer("c"),
            answer("c"),
            custom_verdict=Verdict(error="NoScore"),
            base_verdict=Verdict(2.0),
        ),
        record(
            3, "d", answer("d"), answer("d"), custom_verdict=Verdict(error="Throttled"), base_verdict=None
        ),
    ]
    report = summarize(records, judge=judge, gate_metric="judge", resamples=20)
    section = report.summary["judge"]
    assert section == {
        "modelId": "amazon.nova-pro-v1:0",
        "criteria": "correctness",
        "scale": "1-5",
        "judged": 1,
        "failed": {"custom": 2, "base": 1},
        "errors": {"NoScore": 2, "Throttled": 1},
    }
    judged = report.summary["metrics"]["judge"]
    assert (judged["custom"], judged["base"], judged["delta"], judged["scale"]) == (5.0, 3.0, 2.0, "1-5")
    assert report.summary["winTieLoss"] == {"metric": "judge", "wins": 1, "ties": 0, "losses": 0}
    # Categories compare text metrics only: the judge's win/tie/loss is not given per category.
    assert "winTieLoss" not in report.summary["categories"]["c"]
    rows = report.predictions
    assert rows[0]["judge"] == {"custom": 5.0, "base": 3.0}
    assert rows[1]["judge"] == {"custom": 4.0, "base": None}
    alone = summarize(records, judge=judge, compare_with_base=False, resamples=20).summary
    assert alone["judge"]["failed"] == {"custom": 2, "base": None}
    assert alone["judge"]["judged"] == 2
    assert alone["metrics"]["judge"]["custom"] == 4.5 and alone["metrics"]["judge"]["base"] is None


def test_prediction_rows() -> None:
    records = [
        record(1, "b", answer("b"), answer(None, error="Timeout"), "k"),
        record(0, "a", answer("a"), answer("x")),
    ]
    rows = summarize(records, metrics=["exactMatch", "contains"], resamples=20).predictions
    assert [row["index"] for row in rows] == [0, 1]  # in record order
    assert rows[0] == {
        "index": 0,
        "prompt": "q0",
        "referenceResponse": "a",
        "category": None,
        "customResponse": "a",
        "baseResponse": "x",
        "scores": {
            "custom": {"exactMatch": 1.0, "contains": 1.0},
            "base": {"exactMatch": 0.0, "contains": 0.0},
        },
        "errors": {},
    }
    assert rows[1]["scores"] == {"custom": {"exactMatch": 1.0, "contains": 1.0}, "base": None}
    assert rows[1]["errors"] == {"base": {"error": "Timeout", "message": "refused"}}
    assert rows[1]["baseResponse"] is None and rows[1]["category"] == "k"
    alone = summarize(records, metrics=["exactMatch"], compare_with_base=False, resamples=20).predictions
    assert alone[1]["scores"] == {"custom": {"exactMatch": 1.0}, "base": None}


def test_bootstrap_settings_are_reported() -> None:
    summary = summarize([record(0, "a", answer("a"), answer("a"))], resamples=30, seed=7).summary
    assert summary["bootstrap"] == {
        "method": METHOD,
        "resamples": 30,
        "seed": 7,
        "confidence": 0.95,
    }
    assert summary["schemaVersion"] == 1
    assert not math.isnan(summary["metrics"]["bleu"]["custom"])


def test_the_summary_names_its_primary_metric_and_compares_on_it() -> None:
    records = [
        record(0, "alpha beta", answer("alpha beta"), answer("alpha")),
        record(1, "gamma", answer("delta"), answer("delta")),
    ]
    by_default = summarize(records, metrics=["chrF", "tokenF1"], resamples=20).summary
    assert by_default["primaryMetric"] == "tokenF1"
    assert by_default["winTieLoss"] == {"metric": "tokenF1", "wins": 1, "ties": 1, "losses": 0}
    gated = summarize(records, metrics=["chrF", "tokenF1"], gate_metric="chrF", resamples=20).summary
    assert gated["primaryMetric"] == "chrF"
    assert gated["winTieLoss"]["metric"] == "chrF"
    assert (
        summarize(records, metrics=["chrF", "contains"], resamples=20).summary["primaryMetric"] == "contains"
    )


# Answers that differ record by record, so that the seed and the resample count move the interval.
REFERENCES = ["the cat sat on the mat", "a dog ran far away", "red green blue", "one two three four", "sun"]
CUSTOM_ANSWERS = ["the cat sat on a mat", "a dog ran", "red green", "one two three four", "moon"]
BASE_ANSWERS = ["a cat", "the dog ran far away", "blue", "one", "sun"]


def test_the_intervals_are_the_bootstrap_of_the_given_seed_and_resamples() -> None:
    records = [
        record(i, reference, answer(custom), answer(base))
        for i, (reference, custom, base) in enumerate(
            zip(REFERENCES, CUSTOM_ANSWERS, BASE_ANSWERS, strict=True)
        )
    ]
    names = ["tokenF1", "bleu"]
    custom, base = (
        score_system(REFERENCES, CUSTOM_ANSWERS, names),
        score_system(REFERENCES, BASE_ANSWERS, names),
    )
    expected = paired_delta_intervals(base, custom, names, resamples=40, seed=3)
    # The settings matter for these records: another seed or count gives another interval.
    assert (
        expected["tokenF1"].to_list()
        != paired_delta_intervals(base, custom, names, resamples=40, seed=4)["tokenF1"].to_list()
    )
    assert (
        expected["bleu"].to_list()
        != paired_delta_intervals(base, custom, names, resamples=41, seed=3)["bleu"].to_list()
    )
    summary = summarize(records, metrics=names, resamples=40, seed=3).summary
    for name in names:
        interval = expected[name]
        assert summary["metrics"][name]["ci95"] == [round(interval.low, 6), round(interval.high, 6)]
        assert summary["metrics"][name]["delta"] == round(interval.delta, 6)


def test_the_judge_interval_is_the_bootstrap_of_the_records_both_verdicts_rate() -> None:
    judge = JudgeConfig("amazon.nova-pro-v1:0", "correctness")
    ratings = [(5.0, 2.0), (4.0, 4.0), (3.0, 1.0), (2.0, 5.0), (5.0, 3.0)]
    records = [
        record(i, "a", answer("a"), answer("a"), custom_verdict=Verdict(c), base_verdict=Verdict(b))
        for i, (c, b) in enumerate(ratings)
    ]
    # Not rated for the base model: left out of the judge's comparison.
    records.append(
        record(
            5,
            "a",
            answer("a"),
            answer("a"),
            custom_verdict=Verdict(1.0),
            base_verdict=Verdict(error="NoScore"),
        )
    )
    no_text = SystemScores({}, {}, {})
    custom = no_text.with_metric("judge", np.array([c for c, _ in ratings]))
    base = no_text.with_metric("judge", np.array([b for _, b in ratings]))
    expected = paired_delta_intervals(base, custom, ["judge"], resamples=30, seed=11)["judge"]
    assert expected.low != expected.high
    summary = summarize(records, metrics=["exactMatch"], judge=judge, resamples=30, seed=11).summary
    entry = summary["metrics"]["judge"]
    assert entry == {
        "scale": "1-5",
        "base": 3.0,
        "custom": 3.8,
        "delta": 0.8,
        "ci95": [round(expected.low, 6), round(expected.high, 6)],
    }


def test_a_difference_of_exactly_the_tie_tolerance_is_a_tie() -> None:
    # Real scores never differ by exactly a billionth; the boundary is pinned on scores written out.
    def scores(values: list[float]) -> SystemScores:
        return SystemScores({"judge": np.array(values)}, {}, {"judge": float(np.mean(values))})

    custom = scores([TIE_TOLERANCE, 0.0, 2 * TIE_TOLERANCE, 0.0])
    base = scores([0.0, TIE_TOLERANCE, 0.0, 2 * TIE_TOLERANCE])
    assert _win_tie_loss(custom, base, "judge", np.array([True] * 4)) == {
        "metric": "judge",
        "wins": 1,
        "ties": 2,
        "losses": 1,
    }


def test_a_failure_without_an_error_code_is_counted_as_no_answer() -> None:
    # A stored generation with neither a response nor an error code (an empty result line).
    records = [record(0, "a", Generation(), answer("a")), record(1, "b", answer("b"), Generation(attempts=2))]
    failures = summarize(records, metrics=["exactMatch"], resamples=20).summary["failures"]
    assert failures["byCode"] == {"custom": {"NoAnswer": 1}, "base": {"NoAnswer": 1}}
    assert [(e["index"], e["model"], e["error"], e["attempts"]) for e in failures["examples"]] == [
        (0, "custom", "NoAnswer", 1),
        (1, "base", "NoAnswer", 2),
    ]


def test_a_judge_with_no_record_answered_by_both_models() -> None:
    judge = JudgeConfig("amazon.nova-pro-v1:0", "correctness")
    records = [record(0, "a", answer(None), answer("a")), record(1, "b", answer("b"), answer(None))]
    summary = summarize(records, metrics=["exactMatch", "bleu"], judge=judge, resamples=20).summary
    assert summary["metrics"]["judge"] == {
        "scale": "1-5",
        "base": None,
        "custom": None,
        "delta": None,
        "ci95": None,
    }
    assert summary["metrics"]["bleu"]["custom"] is None
    assert summary["judge"]["judged"] == 0
    assert summary["winTieLoss"] == {"metric": "exactMatch", "wins": 0, "ties": 0, "losses": 0}


def test_an_empty_answer_is_scored_as_empty_text() -> None:
    records = [record(0, "x", answer(""), answer("x")), record(1, "x", answer(""), answer(None))]
    report = summarize(records, metrics=["contains"], resamples=20)
    assert report.summary["metrics"]["contains"]["custom"] == 0.0
    assert [row["scores"] for row in report.predictions] == [
        {"custom": {"contains": 0.0}, "base": {"contains": 1.0}},
        {"custom": {"contains": 0.0}, "base": None},  # answered alone: scored alone
    ]


def test_a_row_shows_the_verdict_of_either_model() -> None:
    judge = JudgeConfig("amazon.nova-pro-v1:0", "correctness")
    records = [
        # The custom model failed, so only the base model's answer was rated.
        record(0, "a", answer(None), answer("a"), base_verdict=Verdict(3.0)),
        record(1, "b", answer("b"), answer("b"), custom_verdict=Verdict(4.0)),
    ]
    rows = summarize(records, metrics=["exactMatch"], judge=judge, resamples=20).predictions
    assert [row["judge"] for row in rows] == [{"custom": None, "base": 3.0}, {"custom": 4.0, "base": None}]
