"""Hyperparameters are checked against the model's schema, completed and rendered as strings."""

from __future__ import annotations

import pytest
from bmc.catalog.hyperparameters import (
    HYPERPARAMETER_NOT_ALLOWED,
    HYPERPARAMETER_OUT_OF_RANGE,
    INVALID_HYPERPARAMETER_TYPE,
    INVALID_HYPERPARAMETERS,
    MISSING_HYPERPARAMETER,
    UNKNOWN_HYPERPARAMETER,
    UNSUPPORTED_CUSTOMIZATION_TYPE,
    HyperparameterCheck,
    check_hyperparameters,
)
from bmc.catalog.models import resolve_model

NOVA = "amazon.nova-micro-v1:0:128k"


def check(
    values: object, model_id: str = NOVA, customization_type: str = "FINE_TUNING", **kwargs: bool
) -> HyperparameterCheck:
    return check_hyperparameters(
        resolve_model(model_id),
        customization_type,
        values,  # type: ignore[arg-type]  # the function must also cope with non-mappings from JSON
        has_validation_data=kwargs.get("has_validation_data", False),
        source="spec.json",
    )


def only_error(result: HyperparameterCheck) -> tuple[str, str | None, str]:
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert error.file == "spec.json"
    assert error.line is None
    return error.code, error.field, error.message


def test_defaults_are_filled_and_rendered_as_strings() -> None:
    result = check(None)
    assert result.ok
    assert result.values == {"epochCount": "2", "learningRate": "1e-05", "learningRateWarmupSteps": "10"}
    assert result.epoch_count == 2


def test_user_values_override_defaults() -> None:
    result = check({"epochCount": 4, "learningRate": 5e-5})
    assert result.values == {"epochCount": "4", "learningRate": "5e-05", "learningRateWarmupSteps": "10"}
    assert result.epoch_count == 4


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [("1e-5", "1e-05"), ("0.00002", "2e-05"), (" 3E-5 ", "3e-05"), (1e-4, "0.0001"), ("1e-6", "1e-06")],
)
def test_numbers_may_be_written_as_strings(raw: object, rendered: str) -> None:
    assert check({"learningRate": raw}).values["learningRate"] == rendered


@pytest.mark.parametrize("raw", ["fast", "", "1e-5x", "1_0", "nan", "inf", [1], {"v": 1}, True])
def test_values_that_are_not_numbers(raw: object) -> None:
    code, field, message = only_error(check({"learningRate": raw}))
    assert code == INVALID_HYPERPARAMETER_TYPE
    assert field == "hyperparameters.learningRate"
    assert "learningRate must be a number between 1e-06 and 0.0001 (inclusive)" in message


@pytest.mark.parametrize(("raw", "value"), [(3, 3), ("3", 3), (3.0, 3), ("3.0", 3), ("+3", 3)])
def test_integers(raw: object, value: int) -> None:
    result = check({"epochCount": raw})
    assert result.ok
    assert result.epoch_count == value
    assert result.values["epochCount"] == str(value)


@pytest.mark.parametrize("raw", ["3.5", 2.5, False])
def test_integer_parameters_reject_fractions_and_booleans(raw: object) -> None:
    code, _, message = only_error(check({"epochCount": raw}))
    assert code == INVALID_HYPERPARAMETER_TYPE
    assert "an integer between 1 and 5" in message


@pytest.mark.parametrize(
    ("name", "value"), [("epochCount", 1), ("epochCount", 5), ("learningRate", 1e-6), ("learningRate", 1e-4)]
)
def test_bounds_are_inclusive(name: str, value: float) -> None:
    assert check({name: value}).ok


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("epochCount", 0, "epochCount must be between 1 and 5 (inclusive); got 0"),
        ("epochCount", 6, "epochCount must be between 1 and 5 (inclusive); got 6"),
        ("learningRate", "1e-7", "learningRate must be between 1e-06 and 0.0001 (inclusive); got 1e-07"),
        ("learningRateWarmupSteps", -1, "between 0 and 100"),
    ],
)
def test_out_of_range_names_the_parameter_and_the_range(name: str, value: object, expected: str) -> None:
    code, field, message = only_error(check({name: value}))
    assert code == HYPERPARAMETER_OUT_OF_RANGE
    assert field == f"hyperparameters.{name}"
    assert expected in message


def test_fixed_value() -> None:
    code, _, message = only_error(check({"batchSize": 2}, "meta.llama3-3-70b-instruct-v1"))
    assert code == HYPERPARAMETER_OUT_OF_RANGE
    assert message == "batchSize must be exactly 1; got 2"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("epochs", "epochCount"), ("epochcount", "epochCount"), ("learning_rate", "learningRate")],
)
def test_unknown_names_get_a_suggestion(name: str, suggestion: str) -> None:
    code, field, message = only_error(check({name: 1}))
    assert code == UNKNOWN_HYPERPARAMETER
    assert field == f"hyperparameters.{name}"
    assert f"did you mean {suggestion!r}?" in message
    assert "Accepted: epochCount, learningRate, learningRateWarmupSteps" in message


def test_unknown_name_without_suggestion_still_lists_accepted() -> None:
    _, _, message = only_error(check({"temperature": 1}))
    assert "did you mean" not in message
    assert "Accepted: epochCount" in message


def test_distillation_takes_no_hyperparameters() -> None:
    assert check(None, customization_type="DISTILLATION").values == {}
    code, _, message = only_error(check({"epochCount": 2}, customization_type="DISTILLATION"))
    assert code == UNKNOWN_HYPERPARAMETER
    assert "takes no hyperparameters" in message


def test_eval_percentage_only_without_validation_data() -> None:
    cohere = "cohere.command-text-v14:7:4k"
    assert check(None, cohere).values["evalPercentage"] == "20"
    with_validation = check(None, cohere, has_validation_data=True)
    assert with_validation.ok
    assert "evalPercentage" not in with_validation.values
    code, _, message = only_error(check({"evalPercentage": 10}, cohere, has_validation_data=True))
    assert code == HYPERPARAMETER_NOT_ALLOWED
    assert "only when no validation data" in message


def test_required_parameter_and_special_value() -> None:
    embeddings = "amazon.titan-embed-image-v1:0"
    code, field, message = only_error(check(None, embeddings))
    assert (code, field) == (MISSING_HYPERPARAMETER, "hyperparameters.epochCount")
    assert "required" in message
    assert "'Auto'" in message
    auto = check({"epochCount": "auto"}, embeddings)
    assert auto.ok
    assert auto.values["epochCount"] == "Auto"
    assert auto.epoch_count is None  # Bedrock decides: the estimate cannot know
    assert check({"epochCount": 3}, embeddings).epoch_count == 3
    assert only_error(check({"epochCount": None}, embeddings))[0] == MISSING_HYPERPARAMETER
    assert only_error(check({"epochCount": "soon"}, embeddings))[0] == INVALID_HYPERPARAMETER_TYPE


def test_null_means_default() -> None:
    assert check({"epochCount": None}).values["epochCount"] == "2"


def test_not_an_object() -> None:
    result = check([["epochCount", 2]])
    code, field, _ = only_error(result)
    assert (code, field) == (INVALID_HYPERPARAMETERS, "hyperparameters")
    assert result.values["epochCount"] == "2"


def test_invalid_values_fall_back_to_defaults_for_estimates() -> None:
    result = check({"epochCount": 99, "batchSize": 32}, "amazon.titan-text-lite-v1")
    assert not result.ok
    assert result.epoch_count == 5
    assert result.batch_size == 32


def test_float_rendering() -> None:
    haiku = check(
        {"learningRateMultiplier": 1, "earlyStoppingThreshold": "0.05"},
        "anthropic.claude-3-haiku-20240307-v1",
    )
    assert haiku.values["learningRateMultiplier"] == "1"
    assert haiku.values["earlyStoppingThreshold"] == "0.05"
    assert haiku.values["batchSize"] == "32"


def test_unsupported_customization_type() -> None:
    code, _, message = only_error(check(None, "amazon.nova-pro-v1", "CONTINUED_PRE_TRAINING"))
    assert code == UNSUPPORTED_CUSTOMIZATION_TYPE
    assert "supports FINE_TUNING" in message


def test_a_refused_value_is_shown_bounded_whatever_its_size_or_depth() -> None:
    deep: object = "x"
    for _ in range(900):
        deep = [deep]
    for raw in (deep, "7" * 10_000, {"a": "b" * 10_000}):
        code, _, message = only_error(check({"learningRate": raw}))
        assert code == INVALID_HYPERPARAMETER_TYPE and len(message) < 300
