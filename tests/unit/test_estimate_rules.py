"""Price tables at their edges: 0 is a price, JSON true and the text "0.5" are not; serving figures
follow the same rule; every figure of an estimate is checked exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bmc.catalog.estimate import (
    PRICES_ENV,
    ServingCost,
    customization_id_of,
    estimate_cost,
    load_prices,
    serving_cost,
)
from bmc.catalog.models import resolve_model

NOVA_MICRO = resolve_model("amazon.nova-micro-v1")
MICRO = NOVA_MICRO.customization_id
TITAN_IMAGE = resolve_model("amazon.titan-image-generator-v1")


def table(tmp_path: Path, **overrides: Any) -> Path:
    data: dict[str, Any] = {
        "about": "my prices",
        "as_of": "2030-01",
        "currency": "EUR",
        "source": "https://example.com/prices",
        "storage_per_custom_model_month": 2,
        "training_per_1k_tokens": {MICRO: 0.5},
    }
    data.update(overrides)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def serving_table(tmp_path: Path, provisioned: Any = None, on_demand: Any = None) -> Path:
    serving: dict[str, Any] = {}
    if provisioned is not None:
        serving["provisioned_per_model_unit_hour"] = {MICRO: provisioned}
    if on_demand is not None:
        serving["on_demand_per_1k_tokens"] = {MICRO: on_demand}
    return table(tmp_path, serving=serving)


# --- training prices ----------------------------------------------------------------------------


def test_a_zero_training_price_is_a_price_of_zero(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path, training_per_1k_tokens={MICRO: 0}))
    assert prices.training_per_1k_tokens[MICRO] == 0.0
    estimate = estimate_cost(NOVA_MICRO, 5000, 2, prices=prices)
    assert (estimate["price_per_1k_tokens"], estimate["training_cost"]) == (0.0, 0.0)
    assert not any("No training price" in note for note in estimate["notes"])


@pytest.mark.parametrize("price", [True, False, "0.5", -0.01, [0.5], {"usd": 0.5}])
def test_a_training_price_must_be_a_json_number(tmp_path: Path, price: Any) -> None:
    with pytest.raises(
        ValueError, match=rf"^price table .*prices\.json: price of '{MICRO}' must be a non-negative"
    ):
        load_prices(table(tmp_path, training_per_1k_tokens={MICRO: price}))


def test_null_means_no_training_price(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path, training_per_1k_tokens={MICRO: None}))
    assert prices.training_per_1k_tokens == {MICRO: None}
    estimate = estimate_cost(NOVA_MICRO, 5000, 2, prices=prices)
    assert (estimate["billed_tokens"], estimate["training_cost"]) == (10000, None)
    assert f"No training price for {MICRO} in the price table." in estimate["notes"]


@pytest.mark.parametrize("storage", [True, "1.95", None, [1]])
def test_the_storage_fee_must_be_a_json_number(tmp_path: Path, storage: Any) -> None:
    with pytest.raises(ValueError, match="'storage_per_custom_model_month' must be a number"):
        load_prices(table(tmp_path, storage_per_custom_model_month=storage))


def test_a_zero_storage_fee_is_kept(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path, storage_per_custom_model_month=0))
    assert prices.storage_per_custom_model_month == 0.0
    assert isinstance(prices.storage_per_custom_model_month, float)


@pytest.mark.parametrize("key", ["about", "as_of", "currency", "source"])
@pytest.mark.parametrize("value", [None, 1, True])
def test_every_label_must_be_text(tmp_path: Path, key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"'{key}' must be a string"):
        load_prices(table(tmp_path, **{key: value}))


def test_a_table_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^price table .*list\.json: expected a JSON object$"):
        load_prices(path)


def test_the_table_path_comes_from_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = table(tmp_path)
    monkeypatch.setenv(PRICES_ENV, str(tmp_path / "missing.json"))
    assert load_prices(mine).currency == "EUR"  # the argument wins over the variable
    with pytest.raises(FileNotFoundError):
        load_prices()
    monkeypatch.setenv(PRICES_ENV, "")
    assert load_prices().currency == "USD"  # an empty variable means the packaged table


# --- serving prices -----------------------------------------------------------------------------


def test_zero_serving_prices_are_prices(tmp_path: Path) -> None:
    prices = load_prices(
        serving_table(tmp_path, {"none": 0, "OneMonth": 0, "SixMonths": 0}, {"input": 0, "output": 0})
    )
    hourly = serving_cost(MICRO, mode="provisioned", model_units=3, ttl_hours=5, prices=prices)
    assert (hourly.price_per_model_unit_hour, hourly.hourly_cost, hourly.total_cost) == (0.0, 0.0, 0.0)
    assert not any("No provisioned" in note for note in hourly.notes)
    term = serving_cost(MICRO, mode="provisioned", commitment="OneMonth", prices=prices)
    assert (term.hourly_cost, term.total_cost) == (0.0, 0.0)
    tokens = serving_cost(MICRO, mode="on-demand", prices=prices)
    assert (tokens.input_per_1k_tokens, tokens.output_per_1k_tokens) == (0.0, 0.0)
    assert not any("No on-demand" in note for note in tokens.notes)


@pytest.mark.parametrize("price", [True, "0.5", -1, [1]])
@pytest.mark.parametrize("term", ["none", "OneMonth", "SixMonths"])
def test_a_provisioned_price_must_be_a_json_number(tmp_path: Path, term: str, price: Any) -> None:
    with pytest.raises(
        ValueError, match=rf"provisioned price of '{MICRO}' \({term}\) must be a non-negative"
    ):
        load_prices(serving_table(tmp_path, {term: price}))


@pytest.mark.parametrize("price", [True, "0.5", -1])
@pytest.mark.parametrize("side", ["input", "output"])
def test_a_token_price_must_be_a_json_number(tmp_path: Path, side: str, price: Any) -> None:
    with pytest.raises(ValueError, match=rf"on-demand price of '{MICRO}' \({side}\) must be a non-negative"):
        load_prices(serving_table(tmp_path, on_demand={side: price}))


@pytest.mark.parametrize(
    ("serving", "message"),
    [
        (
            {"provisioned_per_model_unit_hour": []},
            "'serving.provisioned_per_model_unit_hour' must be an object",
        ),
        ({"on_demand_per_1k_tokens": {MICRO: [0.1]}}, "'serving.on_demand_per_1k_tokens' must be an object"),
        ({"provisioned_per_model_unit_hour": {MICRO: {"source": 5}}}, "'source' must be a string or null"),
        ("none", "'serving' must be an object"),
    ],
)
def test_malformed_serving_blocks(tmp_path: Path, serving: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_prices(table(tmp_path, serving=serving))


def test_a_table_without_serving_prices_no_serving(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path))
    assert prices.provisioned_per_model_unit_hour == {} and prices.on_demand_per_1k_tokens == {}
    cost = serving_cost(MICRO, mode="provisioned", ttl_hours=2, prices=prices)
    assert (cost.hourly_cost, cost.total_cost, cost.source) == (None, None, None)
    assert cost.describe() == (
        f"provisioned throughput, 1 model unit(s), no commitment: hourly cost unknown (no price for {MICRO})"
    )
    assert (
        cost.notes[-1] == f"No provisioned throughput price (no commitment) for {MICRO} in the price table."
    )
    tokens = serving_cost(MICRO, mode="on-demand", prices=prices)
    assert (tokens.hourly_cost, tokens.input_per_1k_tokens, tokens.source) == (0.0, None, None)
    assert (
        tokens.describe() == "on-demand deployment: no hourly charge; per-token rates not in the price table"
    )
    assert tokens.notes[-1] == f"No on-demand token price for {MICRO} in the price table."


def test_a_token_price_with_one_side_missing_is_no_price(tmp_path: Path) -> None:
    prices = load_prices(serving_table(tmp_path, on_demand={"input": 0.1, "output": None, "source": "sheet"}))
    tokens = serving_cost(MICRO, mode="on-demand", prices=prices)
    assert (tokens.input_per_1k_tokens, tokens.output_per_1k_tokens, tokens.source) == (0.1, None, "sheet")
    assert "per-token rates not in the price table" in tokens.describe()
    assert tokens.notes[-1].startswith("No on-demand token price")


def test_serving_figures_exactly(tmp_path: Path) -> None:
    prices = load_prices(
        serving_table(tmp_path, {"none": 1.23456, "OneMonth": 1, "SixMonths": None, "source": "quote"})
    )
    cost = serving_cost(MICRO, mode="provisioned", model_units=3, ttl_hours=7, prices=prices)
    assert cost.to_dict() == {
        "mode": "provisioned",
        "model": MICRO,
        "model_units": 3,
        "commitment": "none",
        "ttl_hours": 7,
        "price_per_model_unit_hour": 1.23456,
        "hourly_cost": 3.7037,
        "total_cost": 25.93,
        "input_per_1k_tokens": None,
        "output_per_1k_tokens": None,
        "currency": "EUR",
        "prices_as_of": "2030-01",
        "source": "quote",
        "notes": ["Example prices as of 2030-01; verify live prices at https://example.com/prices."],
    }
    assert ServingCost.from_dict(cost.to_dict()) == cost
    assert cost.describe() == (
        "provisioned throughput, 3 model unit(s), no commitment: 3.70 EUR per hour, 25.93 EUR for its 7 hour(s)"
    )
    month = serving_cost(
        MICRO, mode="provisioned", model_units=2, commitment="OneMonth", ttl_hours=3, prices=prices
    )
    # A commitment bills its whole term, whatever the ttl.
    assert (month.hourly_cost, month.total_cost) == (2.0, 1460.0)
    assert month.notes[-1] == "A 1-month term bills every hour of its term (730 h)."
    assert month.describe() == (
        "provisioned throughput, 2 model unit(s), 1-month term: 2.00 EUR per hour, 1,460.00 EUR over the term"
    )
    six = serving_cost(MICRO, mode="provisioned", commitment="SixMonths", prices=prices)
    assert (six.hourly_cost, six.total_cost) == (None, None)
    assert six.notes[-1] == f"No provisioned throughput price (6-month term) for {MICRO} in the price table."
    unknown_term = serving_cost(MICRO, mode="provisioned", commitment="Yearly", prices=prices)
    assert unknown_term.hourly_cost is None
    assert "(Yearly)" in unknown_term.notes[-1]


def test_models_are_named_by_id_arn_or_not_at_all(tmp_path: Path) -> None:
    assert customization_id_of("amazon.nova-micro-v1") == MICRO
    assert customization_id_of(f"arn:aws:bedrock:us-east-1::foundation-model/{MICRO}") == MICRO
    assert customization_id_of("arn:aws:bedrock:us-east-1::foundation-model/unknown.model") is None
    assert customization_id_of("") is None and customization_id_of(None) is None
    prices = load_prices(serving_table(tmp_path, {"none": 2}))
    stranger = serving_cost("vendor.unknown-model", mode="provisioned", prices=prices)
    assert stranger.model == "vendor.unknown-model" and stranger.hourly_cost is None
    assert "for vendor.unknown-model in the price table" in stranger.notes[-1]
    nobody = serving_cost(None, mode="on-demand", prices=prices)
    assert nobody.notes[-1] == "No on-demand token price for this model in the price table."


# --- estimates ----------------------------------------------------------------------------------


def test_an_estimate_exactly(tmp_path: Path) -> None:
    prices = load_prices(serving_table(tmp_path, {"none": 4}, {"input": 0.1, "output": 0.3}))
    serving = {"mode": "provisioned", "modelUnits": 2, "ttlHours": 3}
    estimate = estimate_cost(NOVA_MICRO, 1234, 3, serving=serving, prices=prices)
    assert {k: v for k, v in estimate.items() if k not in ("notes", "serving")} == {
        "model": MICRO,
        "training_tokens": 1234,
        "epochs": 3,
        "billed_tokens": 3702,
        "price_per_1k_tokens": 0.5,
        "training_cost": 1.851,
        "storage_per_month": 2.0,
        "currency": "EUR",
        "prices_as_of": "2030-01",
    }
    assert (
        estimate["notes"][0]
        == "Example prices as of 2030-01; verify live prices at https://example.com/prices."
    )
    assert len(estimate["notes"]) == 2
    requested = estimate["serving"]["requested"]
    assert (requested["model_units"], requested["commitment"], requested["total_cost"]) == (2, "none", 24.0)
    assert estimate["serving"]["provisioned_per_model_unit_hour"] == {
        "none": 4.0,
        "OneMonth": None,
        "SixMonths": None,
    }
    assert estimate["serving"]["on_demand_per_1k_tokens"] == {"input": 0.1, "output": 0.3}


@pytest.mark.parametrize(
    ("serving", "units", "commitment"),
    [
        ({"mode": "provisioned"}, 1, "none"),
        ({"mode": "provisioned", "modelUnits": None, "commitment": None}, 1, "none"),
        ({"mode": "provisioned", "modelUnits": 4, "commitment": "SixMonths"}, 4, "SixMonths"),
    ],
)
def test_the_requested_serving_takes_its_defaults(
    tmp_path: Path, serving: dict[str, Any], units: int, commitment: str
) -> None:
    prices = load_prices(serving_table(tmp_path, {"none": 1, "SixMonths": 1}))
    requested = estimate_cost(NOVA_MICRO, 10, 1, serving=serving, prices=prices)["serving"]["requested"]
    assert (requested["model_units"], requested["commitment"], requested["mode"]) == (
        units,
        commitment,
        "provisioned",
    )


@pytest.mark.parametrize("serving", [None, {}, {"mode": "none", "modelUnits": 2}])
def test_no_serving_requested_gives_no_serving_cost(tmp_path: Path, serving: dict[str, Any] | None) -> None:
    prices = load_prices(serving_table(tmp_path, {"none": 1}))
    assert estimate_cost(NOVA_MICRO, 10, 1, serving=serving, prices=prices)["serving"]["requested"] is None


def test_token_rates_are_given_only_for_models_deployable_on_demand(tmp_path: Path) -> None:
    assert NOVA_MICRO.on_demand_deployment
    not_deployable = next(
        resolve_model(model_id)
        for model_id in (
            "amazon.titan-text-lite-v1",
            "cohere.command-light-text-v14",
            "amazon.titan-text-express-v1",
        )
        if not resolve_model(model_id).on_demand_deployment
    )
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "about": "a",
                "as_of": "b",
                "currency": "EUR",
                "source": "c",
                "storage_per_custom_model_month": 1,
                "training_per_1k_tokens": {},
                "serving": {
                    "on_demand_per_1k_tokens": {not_deployable.customization_id: {"input": 1, "output": 1}}
                },
            }
        ),
        encoding="utf-8",
    )
    prices = load_prices(path)
    assert estimate_cost(not_deployable, 10, 1, prices=prices)["serving"]["on_demand_per_1k_tokens"] is None


def test_models_trained_by_steps_estimate_their_passes(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path, training_per_1k_tokens={TITAN_IMAGE.customization_id: 1}))
    estimate = estimate_cost(TITAN_IMAGE, 1000, None, prices=prices, steps=500, batch_size=8, records=3000)
    assert estimate["epochs"] == 1.33
    assert estimate["billed_tokens"] == 1330
    assert estimate["training_cost"] == 1.33
    assert (
        "stepCount 500 x batchSize 8 = 4,000 records seen, 1.33 passes over 3,000 records."
        in estimate["notes"]
    )
    for missing in ({"steps": None}, {"batch_size": None}, {"records": 0}):
        args: dict[str, Any] = {"steps": 500, "batch_size": 8, "records": 3000, **missing}
        unknown = estimate_cost(TITAN_IMAGE, 1000, None, prices=prices, **args)
        assert (unknown["epochs"], unknown["billed_tokens"]) == (None, None)
        assert "The epoch count is chosen by Bedrock, so the billed tokens are unknown." in unknown["notes"]


def test_a_given_epoch_count_wins_over_steps(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path))
    estimate = estimate_cost(NOVA_MICRO, 1000, 2, prices=prices, steps=10, batch_size=10, records=10)
    assert estimate["epochs"] == 2 and estimate["billed_tokens"] == 2000
    assert not any("stepCount" in note for note in estimate["notes"])


# --- exact messages and notes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"storage_per_custom_model_month": "2"}, "'storage_per_custom_model_month' must be a number"),
        (
            {"training_per_1k_tokens": [0.5]},
            "'training_per_1k_tokens' must be an object of model id to price or null",
        ),
        ({"serving": []}, "'serving' must be an object"),
        (
            {"serving": {"provisioned_per_model_unit_hour": {MICRO: {"none": 1, "source": 7}}}},
            f"provisioned price of '{MICRO}': 'source' must be a string or null",
        ),
        (
            {"serving": {"on_demand_per_1k_tokens": {MICRO: {"input": 1, "output": 1, "source": 7}}}},
            f"on-demand price of '{MICRO}': 'source' must be a string or null",
        ),
    ],
)
def test_a_refusal_names_the_file_and_the_problem_exactly(
    tmp_path: Path, overrides: Any, problem: str
) -> None:
    path = table(tmp_path, **overrides)
    with pytest.raises(ValueError) as refused:
        load_prices(path)
    assert str(refused.value) == f"price table {path}: {problem}"


def test_a_broken_packaged_table_is_named_as_the_packaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.json").write_text('{"about": 1}', encoding="utf-8")
    monkeypatch.delenv(PRICES_ENV, raising=False)
    monkeypatch.setattr("bmc.catalog.estimate.resources.files", lambda package: tmp_path)
    with pytest.raises(ValueError) as refused:
        load_prices()
    assert str(refused.value) == "price table bmc/data/prices.json: 'about' must be a string"


def test_training_costs_keep_four_decimals(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path, training_per_1k_tokens={MICRO: 0.001}))
    assert estimate_cost(NOVA_MICRO, 1234, 1, prices=prices)["training_cost"] == 0.0012


def test_the_distillation_note(tmp_path: Path) -> None:
    notes = estimate_cost(
        NOVA_MICRO, 10, 1, customization_type="DISTILLATION", prices=load_prices(table(tmp_path))
    )
    assert (
        notes["notes"][-1] == "Distillation also bills the teacher model's inference, which is not included."
    )


def test_steps_over_a_single_record(tmp_path: Path) -> None:
    prices = load_prices(table(tmp_path))
    assert (
        estimate_cost(TITAN_IMAGE, 10, None, prices=prices, steps=10, batch_size=2, records=1)["epochs"] == 20
    )
    # Without a record count the passes are unknown.
    assert estimate_cost(TITAN_IMAGE, 10, None, prices=prices, steps=10, batch_size=2)["epochs"] is None


def test_notes_of_serving_without_an_end_or_a_price(tmp_path: Path) -> None:
    prices = load_prices(serving_table(tmp_path, {"none": 1}))
    open_ended = serving_cost(MICRO, mode="provisioned", prices=prices)
    assert open_ended.notes[-1] == "Without ttlHours the throughput bills every hour until it is deleted."
    nobody = serving_cost(None, mode="provisioned", prices=prices)
    assert (
        nobody.notes[-1]
        == "No provisioned throughput price (no commitment) for this model in the price table."
    )
    stranger = serving_cost("vendor.unknown-model", mode="on-demand", prices=prices)
    assert stranger.notes[-1] == "No on-demand token price for vendor.unknown-model in the price table."


def test_a_term_total_keeps_cents(tmp_path: Path) -> None:
    prices = load_prices(serving_table(tmp_path, {"OneMonth": 1.23456}))
    month = serving_cost(MICRO, mode="provisioned", commitment="OneMonth", prices=prices)
    assert (month.hourly_cost, month.total_cost) == (1.2346, 901.26)


def test_a_serving_block_without_a_mode_serves_nothing(tmp_path: Path) -> None:
    prices = load_prices(serving_table(tmp_path, {"none": 1}))
    assert (
        estimate_cost(NOVA_MICRO, 10, 1, serving={"modelUnits": 2}, prices=prices)["serving"]["requested"]
        is None
    )
