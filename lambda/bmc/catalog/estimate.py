"""Training cost estimates from an editable price table of example figures.

Bedrock bills training as tokens x epochs x a per-model price, plus a monthly storage fee per
custom model. Prices change and differ by region, so the packaged table (data/prices.json) is
labelled as examples with the date they were recorded; ``BMC_PRICES_FILE`` points at a copy
the user maintains.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bmc.catalog.models import Model

PRICES_ENV = "BMC_PRICES_FILE"
TOKEN_NOTE = "Token counts are conservative estimates (an upper bound), not the tokenizer's exact count."


@dataclass(frozen=True, slots=True)
class PriceTable:
    about: str
    as_of: str
    currency: str
    source: str
    storage_per_custom_model_month: float
    training_per_1k_tokens: Mapping[str, float | None]

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
    return PriceTable(
        about=data["about"],
        as_of=data["as_of"],
        currency=data["currency"],
        source=data["source"],
        storage_per_custom_model_month=float(storage),
        training_per_1k_tokens=prices,
    )


def estimate_cost(
    model: Model,
    training_tokens: int,
    epochs: int | float | None,
    *,
    customization_type: str | None = None,
    prices: PriceTable | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    records: int = 0,
) -> dict[str, Any]:
    """Training tokens x epochs x price, plus the monthly storage figure (a JSON-ready dict).

    Models trained by steps (Titan Image Generator: ``stepCount`` x ``batchSize`` records seen)
    have no epoch count: given the steps, the batch size and the record count, the passes over
    the data stand in for it.
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
        "currency": table.currency,
        "prices_as_of": table.as_of,
        "notes": notes,
    }
