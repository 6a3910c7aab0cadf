"""Cost estimates from the editable price table of example figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bmc.catalog.estimate import PRICES_ENV, default_prices, estimate_cost, load_prices, serving_cost
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


# --- serving -------------------------------------------------------------------------------------

COMMAND_LIGHT = "cohere.command-light-text-v14"


def _serving_table(tmp_path: Path) -> Path:
    return _write_table(
        tmp_path / "prices.json",
        serving={
            "provisioned_per_model_unit_hour": {
                NOVA_MICRO.customization_id: {"none": 10, "OneMonth": 8, "SixMonths": 5, "source": "contract"}
            },
            "on_demand_per_1k_tokens": {NOVA_MICRO.customization_id: {"input": 0.1, "output": 0.2}},
        },
    )


def test_serving_is_hourly_units_times_price_and_totals_over_the_ttl_or_the_term(tmp_path: Path) -> None:
    table = load_prices(_serving_table(tmp_path))
    ttl = serving_cost("amazon.nova-micro-v1", mode="provisioned", model_units=2, ttl_hours=8, prices=table)
    assert (ttl.hourly_cost, ttl.total_cost, ttl.source) == (20.0, 160.0, "contract")
    assert (
        ttl.describe()
        == "provisioned throughput, 2 model unit(s), no commitment: 20.00 EUR per hour, 160.00 EUR for its 8 hour(s)"
    )
    term = serving_cost(NOVA_MICRO.customization_id, mode="provisioned", commitment="SixMonths", prices=table)
    assert (term.hourly_cost, term.total_cost) == (5.0, 5.0 * 6 * 730)
    assert "over the term" in term.describe()
    open_ended = serving_cost(NOVA_MICRO.customization_id, mode="provisioned", prices=table)
    assert open_ended.total_cost is None and open_ended.describe().endswith("until deleted")
    assert any("every hour until it is deleted" in note for note in open_ended.notes)
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_MICRO.customization_id}"
    assert (
        serving_cost(arn, mode="provisioned", prices=table).hourly_cost == 10.0
    )  # a PT's foundationModelArn


def test_an_on_demand_deployment_has_no_hourly_charge_only_token_rates(tmp_path: Path) -> None:
    cost = serving_cost(
        NOVA_MICRO.customization_id, mode="on-demand", prices=load_prices(_serving_table(tmp_path))
    )
    assert (cost.hourly_cost, cost.input_per_1k_tokens, cost.output_per_1k_tokens) == (0.0, 0.1, 0.2)
    assert (
        cost.describe()
        == "on-demand deployment: no hourly charge; 0.1 EUR per 1K input tokens, 0.2 EUR per 1K output tokens"
    )


def test_a_missing_price_gives_no_cost_and_says_so() -> None:
    packaged = default_prices()
    nova = serving_cost("amazon.nova-micro-v1", mode="provisioned", ttl_hours=4)  # no sourced figure
    assert (nova.hourly_cost, nova.total_cost) == (None, None)
    assert "hourly cost unknown" in nova.describe()
    assert any("No provisioned throughput price" in note for note in nova.notes)
    unknown = serving_cost(None, mode="provisioned")
    assert unknown.hourly_cost is None and unknown.model is None
    light = serving_cost(COMMAND_LIGHT, mode="provisioned")
    assert light.hourly_cost == 8.56 and light.source is not None and "third-party" in light.source
    assert (
        packaged.provisioned_per_model_unit_hour[resolve_model(COMMAND_LIGHT).customization_id].per_term[
            "OneMonth"
        ]
        is None
    )
    assert (
        "null means no sourced figure"
        in json.loads((Path(__file__).parents[2] / "lambda/bmc/data/prices.json").read_text())["serving"][
            "about"
        ]
    )


def test_every_catalog_model_has_a_serving_entry_and_a_source_for_each_figure() -> None:
    table = default_prices()
    assert set(table.provisioned_per_model_unit_hour) == set(table.training_per_1k_tokens)
    for price in table.provisioned_per_model_unit_hour.values():
        if any(value is not None for value in price.per_term.values()):
            assert price.source
    for tokens in table.on_demand_per_1k_tokens.values():
        if tokens.input is not None:
            assert tokens.source and "assumption" in tokens.source


def test_the_estimate_carries_the_requested_serving_and_the_model_rates(tmp_path: Path) -> None:
    table = load_prices(_serving_table(tmp_path))
    serving = {"mode": "provisioned", "modelUnits": 1, "commitment": "none", "ttlHours": 3}
    estimate = estimate_cost(NOVA_MICRO, 1000, 2, serving=serving, prices=table)
    assert estimate["serving"]["requested"]["total_cost"] == 30.0
    assert estimate["serving"]["provisioned_per_model_unit_hour"] == {
        "none": 10.0,
        "OneMonth": 8.0,
        "SixMonths": 5.0,
    }
    assert estimate["serving"]["on_demand_per_1k_tokens"] == {"input": 0.1, "output": 0.2}
    assert estimate_cost(NOVA_MICRO, 1000, 2, prices=table)["serving"]["requested"] is None


@pytest.mark.parametrize(
    ("serving", "message"),
    [
        ({"provisioned_per_model_unit_hour": {"x": {"none": -1}}}, "non-negative"),
        ({"provisioned_per_model_unit_hour": {"x": 5}}, "an object of prices"),
        ({"on_demand_per_1k_tokens": {"x": {"input": "cheap"}}}, "non-negative"),
        ({"on_demand_per_1k_tokens": {"x": {"input": 1, "source": 3}}}, "'source' must be a string"),
        ([], "'serving' must be an object"),
    ],
)
def test_malformed_serving_prices_are_rejected(tmp_path: Path, serving: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_prices(_write_table(tmp_path / "prices.json", serving=serving))
