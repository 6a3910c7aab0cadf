"""The catalog's inference facts: how to call each base model, and how to serve a custom one briefly."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from bmc.catalog.models import (
    CatalogDataError,
    UnsupportedRegionError,
    all_models,
    load_catalog,
    resolve_model,
)


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files("bmc").joinpath("data/models.json").read_text())
    return loaded


def test_every_text_model_names_its_on_demand_base_id_in_each_region() -> None:
    for model in all_models():
        if model.inference.evaluable:
            assert set(model.inference.base_model_ids) == set(model.regions), model.customization_id
    nova = resolve_model("amazon.nova-micro-v1")
    assert nova.inference.base_model_id("us-east-1") == "amazon.nova-micro-v1:0"
    assert (
        resolve_model("amazon.nova-2-lite-v1").inference.base_model_id("us-east-1")
        == "us.amazon.nova-2-lite-v1:0"
    )
    assert resolve_model("meta.llama3-2-1b-instruct-v1").inference.base_model_ids == {
        "us-west-2": "us.meta.llama3-2-1b-instruct-v1:0"
    }
    with pytest.raises(UnsupportedRegionError, match="us-west-2"):
        nova.inference.base_model_id("us-west-2")


def test_the_api_per_family() -> None:
    apis = {m.family: (m.inference.api, m.inference.system_prompt) for m in all_models()}
    assert apis["nova"] == ("converse", True)
    assert apis["titan-text"] == ("converse", False)  # Converse refuses system prompts for Titan
    assert apis["cohere-command"] == ("invoke-model", False)  # Converse: no chat support
    assert apis["titan-image"] == ("none", False) and apis["titan-multimodal-embeddings"] == ("none", False)
    assert resolve_model("cohere.command-text-v14").inference.invoke_body == "cohere-command"


def test_the_cheapest_temporary_serving_for_an_evaluation() -> None:
    assert resolve_model("amazon.nova-micro-v1").evaluation_serving.to_dict() == {"mode": "on-demand"}
    assert resolve_model("anthropic.claude-3-haiku-20240307-v1").evaluation_serving.to_dict() == {
        "mode": "provisioned",
        "modelUnits": 1,
        "commitment": "none",
    }
    shown = resolve_model("amazon.nova-micro-v1").to_dict()["inference"]
    assert shown["api"] == "converse" and shown["evaluation_serving"] == {"mode": "on-demand"}
    assert resolve_model("amazon.titan-embed-image-v1").to_dict()["inference"]["evaluation_serving"] is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("inference"), "missing 'inference'"),
        (lambda m: m["inference"].update(api="grpc"), "is not one of"),
        (lambda m: m["inference"].update(base_model_ids={}), "no id for us-east-1"),
        (lambda m: m["inference"].update(invoke_body="cohere-command"), "invoke_body"),
        (lambda m: m["inference"].update(streaming=True), "unknown keys"),
    ],
)
def test_malformed_inference_facts_fail_loudly(mutate: Any, message: str) -> None:
    data = copy.deepcopy(document())
    mutate(data["models"][0])
    with pytest.raises(CatalogDataError, match=message):
        load_catalog(data)


def test_bmc_models_shows_how_a_model_is_evaluated(capsys: pytest.CaptureFixture[str]) -> None:
    from bmc.cli.main import main

    assert main(["models", "amazon.nova-2-lite-v1"]) == 0
    assert (
        "evaluation: converse API; base model on demand: us.amazon.nova-2-lite-v1:0 (us-east-1); "
        "temporary serving: on-demand deployment"
    ) in capsys.readouterr().out
    assert main(["models", "amazon.titan-embed-image-v1"]) == 0
    assert "evaluation: not applicable" in capsys.readouterr().out


def test_the_temporary_servings_cost_comes_from_the_price_table() -> None:
    from bmc.evaluation.estimate import temporary_serving_cost

    micro = temporary_serving_cost(
        resolve_model("amazon.nova-micro-v1"), input_tokens=100_000, max_output_tokens=50_000
    )
    # 100K x 0.035 per 1M + 50K x 0.14 per 1M: the most the custom model's answers bill.
    assert micro["mode"] == "on-demand" and micro["tokens_cost"] == pytest.approx(0.0105)
    assert micro["cost"]["hourly_cost"] == 0.0 and "deleted after the evaluation" in micro["note"]
    haiku = temporary_serving_cost(
        resolve_model("anthropic.claude-3-haiku-20240307-v1"), input_tokens=1, max_output_tokens=1
    )
    # No sourced throughput rate in the table: no figure, never a guess.
    assert haiku["mode"] == "provisioned" and haiku["cost"]["hourly_cost"] is None
    assert haiku["tokens_cost"] is None and "hourly cost unknown" in haiku["note"]
