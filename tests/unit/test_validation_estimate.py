"""Cost estimates from the editable price table of example figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bmc.catalog.estimate import PRICES_ENV, default_prices, estimate_cost, load_prices
from bmc.catalog.models import resolve_model

NOVA_MICRO = resolve_model("amazon.nova-micro-v1")


def test_packaged_table_is_labelled_as_examples() -> None:
    table = default_prices()
    assert "EXAMPLE FIGURES" in table.about
    assert "verify" in table.about
    assert table.as_of
    assert table.currency == "USD"
    assert table.storage_per_custom_model_month == 1.95


def test_training_cost_is_tokens_times_epochs_times_price() -> None:
    estimate = estimate_cost(NOVA_MICRO, 2_000_000, 2)
    assert estimate["billed_tokens"] == 4_000_000
    assert estimate["price_per_1k_tokens"] == 0.001
    assert estimate["training_cost"] == 4.0
    assert estimate["storage_per_month"] == 1.95
    assert any("verify live prices" in note for note in estimate["notes"])
    assert any("estimates" in note for note in estimate["notes"])


def test_unknown_epochs_or_price_give_no_cost() -> None:
    auto = estimate_cost(NOVA_MICRO, 1000, None)
    assert (auto["billed_tokens"], auto["training_cost"]) == (None, None)
    no_price = estimate_cost(resolve_model("amazon.nova-2-lite-v1"), 1000, 2)
    assert no_price["billed_tokens"] == 2000
    assert no_price["training_cost"] is None
    assert any("No training price" in note for note in no_price["notes"])


def test_distillation_notes_the_teacher_cost() -> None:
    notes = estimate_cost(NOVA_MICRO, 1000, None, customization_type="DISTILLATION")["notes"]
    assert any("teacher" in note for note in notes)


def _write_table(path: Path, **overrides: object) -> Path:
    table = {
        "about": "my prices",
        "as_of": "2030-01",
        "currency": "EUR",
        "source": "contract",
        "storage_per_custom_model_month": 2,
        "training_per_1k_tokens": {NOVA_MICRO.customization_id: 0.5},
    }
    table.update(overrides)
    path.write_text(json.dumps(table))
    return path


def test_users_can_point_at_their_own_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_table(tmp_path / "prices.json")
    monkeypatch.setenv(PRICES_ENV, str(path))
    table = load_prices()
    assert table.currency == "EUR"
    estimate = estimate_cost(NOVA_MICRO, 1000, 3, prices=table)
    assert estimate["training_cost"] == 1.5
    assert estimate["prices_as_of"] == "2030-01"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"as_of": 2030}, "'as_of' must be a string"),
        ({"storage_per_custom_model_month": "2"}, "must be a number"),
        ({"training_per_1k_tokens": {"x": -1}}, "non-negative"),
        ({"training_per_1k_tokens": []}, "must be an object"),
    ],
)
def test_malformed_tables_are_rejected(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_prices(_write_table(tmp_path / "prices.json", **overrides))
