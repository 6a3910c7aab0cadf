"""Hyperparameter checks with several problems at once: every one is reported, in order, and the
parameters after a bad one are still checked and still sent."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from bmc.catalog.hyperparameters import (
    HYPERPARAMETER_NOT_ALLOWED,
    HYPERPARAMETER_OUT_OF_RANGE,
    INVALID_HYPERPARAMETER_TYPE,
    INVALID_HYPERPARAMETERS,
    MISSING_HYPERPARAMETER,
    UNKNOWN_HYPERPARAMETER,
    HyperparameterCheck,
    check_hyperparameters,
)
from bmc.catalog.models import load_catalog, resolve_model

NOVA = "amazon.nova-micro-v1:0:128k"
COHERE = "cohere.command-text-v14:7:4k"
EMBEDDINGS = "amazon.titan-embed-image-v1:0"


def check(values: object, model_id: str = NOVA, *, has_validation_data: bool = False) -> HyperparameterCheck:
    return check_hyperparameters(
        resolve_model(model_id),
        "FINE_TUNING",
        values,  # type: ignore[arg-type]  # JSON can hold anything
        has_validation_data=has_validation_data,
        source="run.json",
    )


def problems(result: HyperparameterCheck) -> list[tuple[str, str | None]]:
    return [(error.code, error.field) for error in result.errors]


# Each bad value, then a good one: whatever went wrong, the parameters after it are still read.
BAD_THEN_GOOD = [
    pytest.param({"epochs": 3}, UNKNOWN_HYPERPARAMETER, id="unknown"),
    pytest.param({"epochCount": "three"}, INVALID_HYPERPARAMETER_TYPE, id="not a number"),
    pytest.param({"epochCount": 9}, HYPERPARAMETER_OUT_OF_RANGE, id="out of range"),
    pytest.param({7: 3}, INVALID_HYPERPARAMETERS, id="name not a string"),
]


@pytest.mark.parametrize(("bad", "code"), BAD_THEN_GOOD)
def test_the_parameters_after_a_bad_one_are_still_checked(bad: dict[object, object], code: str) -> None:
    result = check({**bad, "learningRate": "2e-5", "learningRateWarmupSteps": 500})
    assert [c for c, _ in problems(result)] == [code, HYPERPARAMETER_OUT_OF_RANGE]
    assert result.errors[1].field == "hyperparameters.learningRateWarmupSteps"
    assert result.effective["learningRate"] == 2e-5  # the good one after the bad one is kept


def test_a_null_does_not_stop_the_check_either() -> None:
    result = check({"epochCount": None, "learningRate": 1, "learningRateWarmupSteps": 5})
    assert problems(result) == [(HYPERPARAMETER_OUT_OF_RANGE, "hyperparameters.learningRate")]
    assert result.values == {"epochCount": "2", "learningRate": "1e-05", "learningRateWarmupSteps": "5"}


def test_a_parameter_not_allowed_does_not_stop_the_check() -> None:
    result = check({"evalPercentage": 10, "epochCount": 0, "batchSize": 8}, COHERE, has_validation_data=True)
    assert problems(result) == [
        (HYPERPARAMETER_NOT_ALLOWED, "hyperparameters.evalPercentage"),
        (HYPERPARAMETER_OUT_OF_RANGE, "hyperparameters.epochCount"),
    ]
    assert result.effective["batchSize"] == 8
    assert "evalPercentage" not in result.effective


def test_every_problem_is_reported_once_in_the_order_written() -> None:
    result = check(
        {
            "learningRate": "fast",
            "epochs": 2,
            "epochCount": 0,
            "learningRateWarmupSteps": [10],
            "warmup": 1,
        }
    )
    assert problems(result) == [
        (INVALID_HYPERPARAMETER_TYPE, "hyperparameters.learningRate"),
        (UNKNOWN_HYPERPARAMETER, "hyperparameters.epochs"),
        (HYPERPARAMETER_OUT_OF_RANGE, "hyperparameters.epochCount"),
        (INVALID_HYPERPARAMETER_TYPE, "hyperparameters.learningRateWarmupSteps"),
        (UNKNOWN_HYPERPARAMETER, "hyperparameters.warmup"),
    ]
    assert all(error.file == "run.json" and error.line is None for error in result.errors)
    # Each invalid value falls back to its default, for the estimate.
    assert result.effective == {"epochCount": 2, "learningRate": 1e-05, "learningRateWarmupSteps": 10}
    assert not result.ok


def test_missing_required_parameters_are_all_reported_after_the_given_ones() -> None:
    result = check({"epochCount": "never", "batchSize": 0, "learningRate": 0.5}, EMBEDDINGS)
    codes = problems(result)
    assert codes[0] == (INVALID_HYPERPARAMETER_TYPE, "hyperparameters.epochCount")
    # A required parameter given with a bad value is reported once, not also as missing.
    assert (MISSING_HYPERPARAMETER, "hyperparameters.epochCount") not in codes
    assert len(codes) == len(set(codes))
    missing_alone = check({}, EMBEDDINGS)
    assert problems(missing_alone)[0] == (MISSING_HYPERPARAMETER, "hyperparameters.epochCount")


def test_exact_messages() -> None:
    result = check({"learningRate": "1e-3", "epochCount": "2.5", "epoch_count": 1})
    assert [error.message for error in result.errors] == [
        "learningRate must be between 1e-06 and 0.0001 (inclusive); got 0.001",
        "epochCount must be an integer between 1 and 5 (inclusive); got '2.5'",
        "unknown hyperparameter 'epoch_count' for Amazon Nova Micro (amazon.nova-micro-v1:0:128k) FINE_TUNING;"
        " did you mean 'epochCount'? Accepted: epochCount, learningRate, learningRateWarmupSteps",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 3 ", 3),
        ("-0", None),  # below the minimum of 1
        ("3e0", 3),
        ("30e-1", 3),
        (3.0, 3),
        ("0003", 3),
    ],
)
def test_integer_spellings(raw: object, expected: int | None) -> None:
    result = check({"epochCount": raw})
    if expected is None:
        assert problems(result) == [(HYPERPARAMETER_OUT_OF_RANGE, "hyperparameters.epochCount")]
    else:
        assert result.ok and result.values["epochCount"] == str(expected)
        assert isinstance(result.effective["epochCount"], int)


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        (".00005", "5e-05"),
        ("5.e-5", "5e-05"),
        ("+1E-5", "1e-05"),
        (1e-6, "1e-06"),
    ],
)
def test_number_spellings(raw: object, rendered: str) -> None:
    result = check({"learningRate": raw})
    assert result.ok and result.values["learningRate"] == rendered
    assert isinstance(result.effective["learningRate"], float)


@pytest.mark.parametrize("raw", ["1e-5e", "e-5", ".", "-", "1 e-5", "0x10", "1" * 65, "+"])
def test_malformed_number_texts(raw: str) -> None:
    assert problems(check({"learningRate": raw})) == [
        (INVALID_HYPERPARAMETER_TYPE, "hyperparameters.learningRate")
    ]


def test_a_value_of_the_longest_accepted_length_is_read() -> None:
    assert check({"learningRateWarmupSteps": "0" * 63 + "7"}).values["learningRateWarmupSteps"] == "7"
    assert not check({"learningRateWarmupSteps": "0" * 64 + "7"}).ok


def test_integers_of_a_float_parameter_become_floats() -> None:
    haiku = check(
        {"learningRateMultiplier": 2, "earlyStoppingThreshold": 0}, "anthropic.claude-3-haiku-20240307-v1"
    )
    assert haiku.effective["learningRateMultiplier"] == 2.0
    assert isinstance(haiku.effective["learningRateMultiplier"], float)
    assert haiku.values["learningRateMultiplier"] == "2"
    assert haiku.values["earlyStoppingThreshold"] == "0"


def test_special_values_are_matched_whatever_their_case_and_spacing() -> None:
    for raw in ("AUTO", " auto ", "Auto"):
        result = check({"epochCount": raw}, EMBEDDINGS)
        assert result.values["epochCount"] == "Auto" and result.epoch_count is None
    assert check({"epochCount": "automatic"}, EMBEDDINGS).errors[0].code == INVALID_HYPERPARAMETER_TYPE


def test_the_batch_size_and_other_integers_are_read_back() -> None:
    result = check({"batchSize": "16", "epochCount": 2}, "amazon.titan-text-lite-v1")
    assert (result.batch_size, result.epoch_count) == (16, 2)
    assert result.integer("learningRate") is None  # a float is not an integer
    assert result.integer("nothing") is None


def test_a_parameter_dropped_for_validation_data_does_not_end_the_defaults() -> None:
    """The catalog is data: wherever such a parameter sits in a schema, the ones after it count."""
    document = json.loads(resources.files("bmc").joinpath("data/models.json").read_text(encoding="utf-8"))
    schema = document["hyperparameter_schemas"]["cohere-command"]
    schema.insert(0, schema.pop(next(i for i, spec in enumerate(schema) if spec["name"] == "evalPercentage")))
    model = load_catalog(document).by_alias["cohere.command-text-v14"]
    with_validation = check_hyperparameters(model, "FINE_TUNING", None, has_validation_data=True)
    assert with_validation.ok
    assert set(with_validation.values) == {
        "epochCount",
        "batchSize",
        "learningRate",
        "earlyStoppingThreshold",
        "earlyStoppingPatience",
    }


def test_the_messages_of_the_whole_map() -> None:
    not_a_map = check("epochCount=2")
    assert [error.message for error in not_a_map.errors] == ["hyperparameters must be a JSON object, got str"]
    named_by_number = check({1: 2})
    assert [error.message for error in named_by_number.errors] == [
        "hyperparameter names must be strings, got 1"
    ]
    unsupported = check_hyperparameters(
        resolve_model("amazon.nova-pro-v1"),
        "CONTINUED_PRE_TRAINING",
        {"epochCount": 1},
        has_validation_data=False,
    )
    assert (unsupported.values, unsupported.effective, unsupported.ok) == ({}, {}, False)


def test_a_required_parameter_with_special_values_is_described_whole() -> None:
    [error] = check({}, EMBEDDINGS).errors
    assert error.message == "epochCount is required: an integer between 1 and 100 (inclusive) or 'Auto'"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (0.123456789, "0.123456789"),  # "g" would round it: the exact value is shown
        (0.5, "0.5"),
        ("2e-3", "0.002"),
        (7, "7"),
    ],
)
def test_out_of_range_values_are_shown_as_written(raw: object, shown: str) -> None:
    [error] = check({"learningRate": raw}).errors
    assert error.message == f"learningRate must be between 1e-06 and 0.0001 (inclusive); got {shown}"


def test_integer_texts_are_read_exactly_not_through_a_float() -> None:
    [error] = check({"epochCount": "12345678901234567"}).errors
    assert error.message == "epochCount must be between 1 and 5 (inclusive); got 12345678901234567"


def test_integer_texts_of_a_float_parameter_become_floats() -> None:
    haiku = check({"learningRateMultiplier": "2"}, "anthropic.claude-3-haiku-20240307-v1")
    assert haiku.effective["learningRateMultiplier"] == 2.0
    assert isinstance(haiku.effective["learningRateMultiplier"], float)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("EPOCHCOUNT", "; did you mean 'epochCount'?"),  # any case of a known name
        ("rate", "; did you mean 'learningRate'?"),  # half the letters in common is close enough
        ("temperature", "."),
    ],
)
def test_the_hint_for_an_unknown_name(name: str, hint: str) -> None:
    [error] = check({name: 1}).errors
    assert error.message == (
        f"unknown hyperparameter {name!r} for Amazon Nova Micro (amazon.nova-micro-v1:0:128k) FINE_TUNING{hint}"
        " Accepted: epochCount, learningRate, learningRateWarmupSteps"
    )


def test_every_special_value_of_a_parameter_is_named() -> None:
    document = json.loads(resources.files("bmc").joinpath("data/models.json").read_text(encoding="utf-8"))
    [schema_name] = [
        name
        for name, schema in document["hyperparameter_schemas"].items()
        if any(spec.get("special_values") == ["Auto"] for spec in schema)
    ]
    for spec in document["hyperparameter_schemas"][schema_name]:
        if spec.get("special_values") == ["Auto"]:
            spec["special_values"] = ["Auto", "Max"]
    model = load_catalog(document).by_alias["amazon.titan-embed-image-v1"]
    [error] = check_hyperparameters(model, "FINE_TUNING", {}, has_validation_data=False).errors
    assert (
        error.message == "epochCount is required: an integer between 1 and 100 (inclusive) or 'Auto' or 'Max'"
    )
    maximal = check_hyperparameters(model, "FINE_TUNING", {"epochCount": "max"}, has_validation_data=False)
    assert maximal.values["epochCount"] == "Max"
