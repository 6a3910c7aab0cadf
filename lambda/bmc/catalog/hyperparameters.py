"""Hyperparameter checks against the catalog schema, and the string map Bedrock expects.

Bedrock takes hyperparameters as a map of strings and rejects bad ones only when the job
starts. Users write them as JSON numbers or strings ("1e-5"); both are accepted here, checked
against the model's schema (bounds inclusive), completed with defaults and rendered back to
strings.
"""

from __future__ import annotations

import difflib
import math
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass

from bmc.catalog.models import HyperparameterSpec, Model, UnsupportedCustomizationError
from bmc.findings import Finding

UNKNOWN_HYPERPARAMETER = "UNKNOWN_HYPERPARAMETER"
INVALID_HYPERPARAMETER_TYPE = "INVALID_HYPERPARAMETER_TYPE"
HYPERPARAMETER_OUT_OF_RANGE = "HYPERPARAMETER_OUT_OF_RANGE"
MISSING_HYPERPARAMETER = "MISSING_HYPERPARAMETER"
HYPERPARAMETER_NOT_ALLOWED = "HYPERPARAMETER_NOT_ALLOWED"
INVALID_HYPERPARAMETERS = "INVALID_HYPERPARAMETERS"
UNSUPPORTED_CUSTOMIZATION_TYPE = "UNSUPPORTED_CUSTOMIZATION_TYPE"
CODES = (
    UNKNOWN_HYPERPARAMETER,
    INVALID_HYPERPARAMETER_TYPE,
    HYPERPARAMETER_OUT_OF_RANGE,
    MISSING_HYPERPARAMETER,
    HYPERPARAMETER_NOT_ALLOWED,
    INVALID_HYPERPARAMETERS,
    UNSUPPORTED_CUSTOMIZATION_TYPE,
)

EPOCH_COUNT = "epochCount"
BATCH_SIZE = "batchSize"

MAX_VALUE_LENGTH = 64  # the longest value Bedrock's hyperparameter map takes is far shorter
MAX_SHOWN = 64
_SHOW = reprlib.Repr()  # keyword arguments need Python 3.12
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother = 3, MAX_SHOWN, MAX_SHOWN
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

Value = int | float | str


@dataclass(frozen=True, slots=True)
class HyperparameterCheck:
    values: dict[str, str]  # what to send to Bedrock (meaningful only when there are no errors)
    errors: list[Finding]
    effective: dict[str, Value]  # typed values; invalid ones replaced by their defaults

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def epoch_count(self) -> int | None:
        """Epochs the job will run, for cost estimates; None when Bedrock decides ("auto")."""
        return self.integer(EPOCH_COUNT)

    @property
    def batch_size(self) -> int | None:
        return self.integer(BATCH_SIZE)

    def integer(self, name: str) -> int | None:
        value = self.effective.get(name)
        return value if isinstance(value, int) else None


class _InvalidValueError(Exception):
    """A value that cannot be read as the parameter's type."""


def check_hyperparameters(
    model: Model,
    customization_type: str,
    values: Mapping[str, object] | None,
    *,
    has_validation_data: bool,
    source: str | None = None,
) -> HyperparameterCheck:
    """Check user hyperparameters, fill defaults and render Bedrock's string map."""
    errors: list[Finding] = []

    def error(code: str, name: str | None, message: str) -> None:
        errors.append(
            Finding(source, None, f"hyperparameters.{name}" if name else "hyperparameters", code, message)
        )

    try:
        customization = model.customization(customization_type)
    except UnsupportedCustomizationError as exc:
        error(UNSUPPORTED_CUSTOMIZATION_TYPE, None, str(exc))
        return HyperparameterCheck(values={}, errors=errors, effective={})
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        error(
            INVALID_HYPERPARAMETERS,
            None,
            f"hyperparameters must be a JSON object, got {type(values).__name__}",
        )
        values = {}

    schema = {spec.name: spec for spec in customization.hyperparameters}
    label = f"{model.name} ({model.customization_id}) {customization_type}"
    given: dict[str, Value] = {}
    for name, raw in values.items():
        if not isinstance(name, str):
            error(INVALID_HYPERPARAMETERS, None, f"hyperparameter names must be strings, got {name!r}")
            continue
        spec = schema.get(name)
        if spec is None:
            error(UNKNOWN_HYPERPARAMETER, name, _unknown_message(name, schema, label))
            continue
        if raw is None:  # an explicit null means "use the default"
            continue
        if spec.only_without_validation_data and has_validation_data:
            error(
                HYPERPARAMETER_NOT_ALLOWED,
                name,
                f"{name} applies only when no validation data is given; remove it or the validation data",
            )
            continue
        try:
            value = _parse(spec, raw)
        except _InvalidValueError:
            # reprlib bounds the text of long strings and deep structures alike.
            error(
                INVALID_HYPERPARAMETER_TYPE, name, f"{name} must be {_describe(spec)}; got {_SHOW.repr(raw)}"
            )
            continue
        if not isinstance(value, str) and not spec.min <= value <= spec.max:
            error(HYPERPARAMETER_OUT_OF_RANGE, name, f"{name} must be {_range(spec)}; got {_number(value)}")
            continue
        given[name] = value

    effective: dict[str, Value] = {}
    for spec in schema.values():
        if spec.name in given:
            effective[spec.name] = given[spec.name]
        elif spec.only_without_validation_data and has_validation_data:
            continue
        elif spec.default is not None:
            effective[spec.name] = spec.default
        elif values.get(spec.name) is None:  # absent or null; an invalid value was reported above
            error(MISSING_HYPERPARAMETER, spec.name, f"{spec.name} is required: {_describe(spec)}")
    rendered = {name: _render(value) for name, value in effective.items()}
    return HyperparameterCheck(values=rendered, errors=errors, effective=effective)


def _parse(spec: HyperparameterSpec, raw: object) -> Value:
    if isinstance(raw, str):
        text = raw.strip()
        # No hyperparameter is that long, and int() refuses text beyond 4,300 digits.
        if len(text) > MAX_VALUE_LENGTH:
            raise _InvalidValueError
        for special in spec.special_values:
            if text.lower() == special.lower():
                return special
        if spec.type == "integer" and _INTEGER.fullmatch(text):
            return int(text)
        if not _NUMBER.fullmatch(text):
            raise _InvalidValueError
        number: float = float(text)
    elif isinstance(raw, bool):  # JSON true/false are not numbers, whatever Python thinks
        raise _InvalidValueError
    elif isinstance(raw, int):
        return raw if spec.type == "integer" else float(raw)
    elif isinstance(raw, float):
        number = raw
    else:
        raise _InvalidValueError
    if not math.isfinite(number):
        raise _InvalidValueError
    if spec.type == "integer":
        if not number.is_integer():
            raise _InvalidValueError
        return int(number)
    return number


def _render(value: Value) -> str:
    if isinstance(value, float):
        # "1" rather than "1.0"; repr keeps full precision ("1e-05") where it matters.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _number(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return format(value, "g") if float(format(value, "g")) == value else repr(value)
    return str(int(value))


def _range(spec: HyperparameterSpec) -> str:
    if spec.min == spec.max:
        return f"exactly {_number(spec.min)}"
    return f"between {_number(spec.min)} and {_number(spec.max)} (inclusive)"


def _describe(spec: HyperparameterSpec) -> str:
    kind = "an integer" if spec.type == "integer" else "a number"
    text = f"{kind} {_range(spec)}"
    if spec.special_values:
        text += " or " + " or ".join(repr(v) for v in spec.special_values)
    return text


def _unknown_message(name: str, schema: Mapping[str, HyperparameterSpec], label: str) -> str:
    if not schema:
        return f"unknown hyperparameter {name!r}: {label} takes no hyperparameters"
    by_lower = {known.lower(): known for known in schema}
    guess = by_lower.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, list(schema), n=1, cutoff=0.5)), None
    )
    hint = f"; did you mean {guess!r}?" if guess else "."
    return f"unknown hyperparameter {name!r} for {label}{hint} Accepted: {', '.join(schema)}"
