"""Cost estimates from an editable price table of example figures.

Bedrock bills three things: training (tokens x epochs x a per-model price), storage (a monthly
fee per custom model) and serving: a provisioned throughput bills per model unit and hour
(cheaper per hour with a one- or six-month commitment, which bills every hour of its term), an
on-demand deployment bills per input and output token and nothing while idle. Prices change and
differ by region, so the packaged table (data/prices.json) is labelled as examples with the
date they were recorded and each serving figure names its source; ``BMC_PRICES_FILE`` points
at a copy the user maintains. A missing price gives no cost, never a guess: ``serving_cost``
is the one place serving figures are computed (estimates, notifications, the sweeper and the
idle guard all quote it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bmc.catalog.models import Model, UnknownModelError, resolve_model

PRICES_ENV = "BMC_PRICES_FILE"
TOKEN_NOTE = "Token counts are conservative estimates (an upper bound), not the tokenizer's exact count."
COMMITMENT_TERMS = ("none", "OneMonth", "SixMonths")
# A commitment bills every hour of its term; AWS prices a month as 730 hours.
HOURS_PER_MONTH = 730
TERM_HOURS = {"OneMonth": HOURS_PER_MONTH, "SixMonths": 6 * HOURS_PER_MONTH}
PROVISIONED = "provisioned"
ON_DEMAND = "on-demand"


@dataclass(frozen=True, slots=True)
class ProvisionedPrice:
    """Price of one model unit per hour, by commitment term (None: no figure recorded)."""

    per_term: Mapping[str, float | None]
    source: str | None


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """Per 1,000 tokens of an on-demand deployment (None: no figure recorded)."""

    input: float | None
    output: float | None
    source: str | None


@dataclass(frozen=True, slots=True)
class PriceTable:
    about: str
    as_of: str
    currency: str
    source: str
    storage_per_custom_model_month: float
    training_per_1k_tokens: Mapping[str, float | None]
    provisioned_per_model_unit_hour: Mapping[str, ProvisionedPrice] = field(default_factory=dict)
    on_demand_per_1k_tokens: Mapping[str, TokenPrice] = field(default_factory=dict)

    def training_price(self, model: Model) -> float | None:
        return self.training_per_1k_tokens.get(model.customization_id)


def load_prices(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """Load a price table: ``path``, else $BMC_PRICES_FILE, else the packaged example table."""
    chosen = path if path is not None else os.environ.get(PRICES_ENV)
    if chosen:
        text = Path(chosen).read_text(encoding="utf-8")
        origin = str(chosen)
    else:
        text = resources.files("bmc").joinpath("data/prices.json").read_text(encoding="utf-8")
        origin = "bmc/data/prices.json"
    return _parse(json.loads(text), origin)


@cache
def default_prices() -> PriceTable:
    return load_prices()


def _parse(data: Any, origin: str) -> PriceTable:
    def fail(problem: str) -> ValueError:
        return ValueError(f"price table {origin}: {problem}")

    if not isinstance(data, dict):
        raise fail("expected a JSON object")
    for key in ("about", "as_of", "currency", "source"):
        if not isinstance(data.get(key), str):
            raise fail(f"{key!r} must be a string")
    storage = data.get("storage_per_custom_model_month")
    if isinstance(storage, bool) or not isinstance(storage, int | float):
        raise fail("'storage_per_custom_model_month' must be a number")
    training = data.get("training_per_1k_tokens")
    if not isinstance(training, dict):
        raise fail("'training_per_1k_tokens' must be an object of model id to price or null")
    prices: dict[str, float | None] = {}
    for model_id, price in training.items():
        if price is not None and (isinstance(price, bool) or not isinstance(price, int | float) or price < 0):
            raise fail(f"price of {model_id!r} must be a non-negative number or null")
        prices[model_id] = None if price is None else float(price)
    provisioned, on_demand = _serving_prices(data.get("serving", {}), fail)
    return PriceTable(
        about=data["about"],
        as_of=data["as_of"],
        currency=data["currency"],
        source=data["source"],
        storage_per_custom_model_month=float(storage),
        training_per_1k_tokens=prices,
        provisioned_per_model_unit_hour=provisioned,
        on_demand_per_1k_tokens=on_demand,
    )


def _price(value: Any, what: str, fail: Callable[[str], ValueError]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise fail(f"{what} must be a non-negative number or null")
    return float(value)


def _source(entry: Mapping[str, Any], what: str, fail: Callable[[str], ValueError]) -> str | None:
    source = entry.get("source")
    if source is not None and not isinstance(source, str):
        raise fail(f"{what}: 'source' must be a string or null")
    return source


def _serving_prices(
    data: Any, fail: Callable[[str], ValueError]
) -> tuple[dict[str, ProvisionedPrice], dict[str, TokenPrice]]:
    """The optional ``serving`` block: a table without it prices no serving."""
    if not isinstance(data, dict):
        raise fail("'serving' must be an object")
    provisioned: dict[str, ProvisionedPrice] = {}
    for model_id, entry in _entries(data, "provisioned_per_model_unit_hour", fail):
        what = f"provisioned price of {model_id!r}"
        per_term = {term: _price(entry.get(term), f"{what} ({term})", fail) for term in COMMITMENT_TERMS}
        provisioned[model_id] = ProvisionedPrice(per_term, _source(entry, what, fail))
    on_demand: dict[str, TokenPrice] = {}
    for model_id, entry in _entries(data, "on_demand_per_1k_tokens", fail):
        what = f"on-demand price of {model_id!r}"
        on_demand[model_id] = TokenPrice(
            _price(entry.get("input"), f"{what} (input)", fail),
            _price(entry.get("output"), f"{what} (output)", fail),
            _source(entry, what, fail),
        )
    return provisioned, on_demand


def _entries(
    data: Mapping[str, Any], key: str, fail: Callable[[str], ValueError]
) -> list[tuple[str, Mapping[str, Any]]]:
    section = data.get(key, {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise fail(f"'serving.{key}' must be an object of model id to an object of prices")
    return list(section.items())


def estimate_cost(
    model: Model,
    training_tokens: int,
    epochs: int | float | None,
    *,
    customization_type: str | None = None,
    serving: Mapping[str, Any] | None = None,
    prices: PriceTable | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    records: int = 0,
) -> dict[str, Any]:
    """Training tokens x epochs x price, the monthly storage figure and the serving figures.

    Models trained by steps (Titan Image Generator: ``stepCount`` x ``batchSize`` records seen)
    have no epoch count: given the steps, the batch size and the record count, the passes over
    the data stand in for it. ``serving`` is a run spec's serving block (``mode``, ``modelUnits``,
    ``commitment``, ``ttlHours``); without one, or with mode none, only the per-unit serving
    prices are given.
    """
    table = prices if prices is not None else default_prices()
    price = table.training_price(model)
    notes = [f"Example prices as of {table.as_of}; verify live prices at {table.source}.", TOKEN_NOTE]
    if epochs is None and steps is not None and batch_size is not None and records > 0:
        epochs = round(steps * batch_size / records, 2)
        notes.append(
            f"stepCount {steps:,} x batchSize {batch_size:,} = {steps * batch_size:,} records seen, "
            f"{epochs:g} passes over {records:,} records."
        )
    billed = round(training_tokens * epochs) if epochs is not None else None
    cost = round(billed / 1000 * price, 4) if billed is not None and price is not None else None
    if price is None:
        notes.append(f"No training price for {model.customization_id} in the price table.")
    if epochs is None:
        notes.append("The epoch count is chosen by Bedrock, so the billed tokens are unknown.")
    if customization_type == "DISTILLATION":
        notes.append("Distillation also bills the teacher model's inference, which is not included.")
    return {
        "model": model.customization_id,
        "training_tokens": training_tokens,
        "epochs": epochs,
        "billed_tokens": billed,
        "price_per_1k_tokens": price,
        "training_cost": cost,
        "storage_per_month": table.storage_per_custom_model_month,
        "serving": serving_estimate(model, serving, table),
        "currency": table.currency,
        "prices_as_of": table.as_of,
        "notes": notes,
    }


def serving_estimate(model: Model, serving: Mapping[str, Any] | None, table: PriceTable) -> dict[str, Any]:
    """The requested serving's cost (if any) and the model's serving prices, per unit."""
    requested = None
    mode = (serving or {}).get("mode", "none")
    if serving and mode != "none":
        requested = serving_cost(
            model.customization_id,
            mode=str(mode),
            model_units=int(serving.get("modelUnits") or 1),
            commitment=str(serving.get("commitment") or "none"),
            ttl_hours=serving.get("ttlHours"),
            prices=table,
        ).to_dict()
    provisioned = table.provisioned_per_model_unit_hour.get(model.customization_id)
    tokens = table.on_demand_per_1k_tokens.get(model.customization_id)
    return {
        "requested": requested,
        "provisioned_per_model_unit_hour": dict(provisioned.per_term) if provisioned else None,
        "on_demand_per_1k_tokens": (
            {"input": tokens.input, "output": tokens.output}
            if tokens and model.on_demand_deployment
            else None
        ),
    }


# --- serving ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServingCost:
    """What a throughput or deployment bills, from the price table; None where no price is known.

    ``hourly_cost`` is the whole resource's hourly charge (units x price; 0 for an on-demand
    deployment, which bills per token only). ``total_cost`` is what it bills before it ends: the
    hourly charge x ``ttlHours``, or every hour of a commitment's term; None when it runs until
    someone deletes it.
    """

    mode: str
    model: str | None
    model_units: int
    commitment: str
    ttl_hours: int | None
    price_per_model_unit_hour: float | None
    hourly_cost: float | None
    total_cost: float | None
    input_per_1k_tokens: float | None
    output_per_1k_tokens: float | None
    currency: str
    prices_as_of: str
    source: str | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServingCost:
        """Back from ``to_dict`` (an estimate read from a report or a JSON answer)."""
        return cls(**{**data, "notes": tuple(data["notes"])})

    def describe(self) -> str:
        """One line for people: the hourly charge and, when the serving ends, the total."""
        money = self.currency
        if self.mode == ON_DEMAND:
            if self.input_per_1k_tokens is None or self.output_per_1k_tokens is None:
                rates = "per-token rates not in the price table"
            else:
                rates = (
                    f"{self.input_per_1k_tokens} {money} per 1K input tokens, "
                    f"{self.output_per_1k_tokens} {money} per 1K output tokens"
                )
            return f"on-demand deployment: no hourly charge; {rates}"
        units = f"{self.model_units} model unit(s), {_commitment_label(self.commitment)}"
        if self.hourly_cost is None:
            return f"provisioned throughput, {units}: hourly cost unknown (no price for {self.model})"
        line = f"provisioned throughput, {units}: {self.hourly_cost:,.2f} {money} per hour"
        if self.total_cost is not None and self.commitment != "none":
            return f"{line}, {self.total_cost:,.2f} {money} over the term"
        if self.total_cost is not None:
            return f"{line}, {self.total_cost:,.2f} {money} for its {self.ttl_hours} hour(s)"
        return f"{line} until deleted"


def _commitment_label(commitment: str) -> str:
    return {"none": "no commitment", "OneMonth": "1-month term", "SixMonths": "6-month term"}.get(
        commitment, commitment
    )


def customization_id_of(model: str | None) -> str | None:
    """The catalog customization id of a base model id or foundation-model ARN, if it is known."""
    if not model:
        return None
    try:
        return resolve_model(model.rsplit("/", 1)[-1]).customization_id
    except UnknownModelError:
        return None


def serving_cost(
    model: str | None,
    *,
    mode: str,
    model_units: int = 1,
    commitment: str = "none",
    ttl_hours: int | None = None,
    prices: PriceTable | None = None,
) -> ServingCost:
    """The cost figures of serving ``model`` (a base model id or ARN; None when unknown)."""
    table = prices if prices is not None else default_prices()
    model_id = customization_id_of(model)
    notes = [f"Example prices as of {table.as_of}; verify live prices at {table.source}."]
    common: dict[str, Any] = {
        "mode": mode,
        "model": model_id or model,
        "model_units": model_units,
        "commitment": commitment,
        "ttl_hours": ttl_hours,
        "currency": table.currency,
        "prices_as_of": table.as_of,
    }
    if mode == ON_DEMAND:
        tokens = table.on_demand_per_1k_tokens.get(model_id or "")
        if tokens is None or tokens.input is None or tokens.output is None:
            notes.append(
                f"No on-demand token price for {model_id or model or 'this model'} in the price table."
            )
        return ServingCost(
            **common,
            price_per_model_unit_hour=None,
            hourly_cost=0.0,
            total_cost=None,
            input_per_1k_tokens=tokens.input if tokens else None,
            output_per_1k_tokens=tokens.output if tokens else None,
            source=tokens.source if tokens else None,
            notes=tuple(notes),
        )
    entry = table.provisioned_per_model_unit_hour.get(model_id or "")
    price = entry.per_term.get(commitment) if entry else None
    hourly = round(price * model_units, 4) if price is not None else None
    total: float | None = None
    if hourly is not None and commitment in TERM_HOURS:
        total = round(hourly * TERM_HOURS[commitment], 2)
        notes.append(
            f"A {_commitment_label(commitment)} bills every hour of its term ({TERM_HOURS[commitment]} h)."
        )
    elif hourly is not None and ttl_hours is not None:
        total = round(hourly * ttl_hours, 2)
    if price is None:
        notes.append(
            f"No provisioned throughput price ({_commitment_label(commitment)}) for "
            f"{model_id or model or 'this model'} in the price table."
        )
    elif ttl_hours is None and commitment == "none":
        notes.append("Without ttlHours the throughput bills every hour until it is deleted.")
    return ServingCost(
        **common,
        price_per_model_unit_hour=price,
        hourly_cost=hourly,
        total_cost=total,
        input_per_1k_tokens=None,
        output_per_1k_tokens=None,
        source=entry.source if entry else None,
        notes=tuple(notes),
    )
