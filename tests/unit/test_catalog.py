"""The catalog holds the facts of BEDROCK.md and resolves every way users name a model."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

import pytest
from bmc.catalog import models as catalog
from bmc.catalog.estimate import default_prices
from bmc.catalog.models import (
    CUSTOMIZATION_TYPES,
    CatalogDataError,
    UnknownModelError,
    UnsupportedCustomizationError,
    all_models,
    all_teachers,
    load_catalog,
    resolve_model,
    resolve_teacher,
)

FT, CPT, DIST = CUSTOMIZATION_TYPES

# (customization id, types, regions, legacy) as listed in BEDROCK.md.
EXPECTED_MODELS = [
    ("amazon.nova-micro-v1:0:128k", {FT, DIST}, ("us-east-1",), False),
    ("amazon.nova-lite-v1:0:300k", {FT, DIST}, ("us-east-1",), False),
    ("amazon.nova-pro-v1:0:300k", {FT, DIST}, ("us-east-1",), False),
    ("amazon.nova-2-lite-v1:0:256k", {FT}, ("us-east-1",), False),
    ("anthropic.claude-3-haiku-20240307-v1:0:200k", {FT}, ("us-west-2",), False),
    ("meta.llama3-1-8b-instruct-v1:0:128k", {FT, DIST}, ("us-west-2",), False),
    ("meta.llama3-1-70b-instruct-v1:0:128k", {FT, DIST}, ("us-west-2",), False),
    ("meta.llama3-2-1b-instruct-v1:0:128k", {FT, DIST}, ("us-west-2",), False),
    ("meta.llama3-2-3b-instruct-v1:0:128k", {FT, DIST}, ("us-west-2",), False),
    ("meta.llama3-2-11b-instruct-v1:0:128k", {FT}, ("us-west-2",), False),
    ("meta.llama3-2-90b-instruct-v1:0:128k", {FT}, ("us-west-2",), False),
    ("meta.llama3-3-70b-instruct-v1:0:128k", {FT, DIST}, ("us-west-2",), False),
    ("amazon.titan-text-express-v1:0:8k", {FT, CPT}, ("us-east-1", "us-west-2"), True),
    ("amazon.titan-text-lite-v1:0:4k", {FT, CPT}, ("us-east-1", "us-west-2"), True),
    ("amazon.titan-text-premier-v1:0:32k", {FT}, ("us-east-1",), True),
    ("cohere.command-text-v14:7:4k", {FT}, ("us-east-1",), True),
    ("cohere.command-light-text-v14:7:4k", {FT}, ("us-east-1",), True),
]


@pytest.mark.parametrize(("model_id", "types", "regions", "legacy"), EXPECTED_MODELS)
def test_models_of_bedrock_md(model_id: str, types: set[str], regions: tuple[str, ...], legacy: bool) -> None:
    model = resolve_model(model_id)
    assert model.customization_id == model_id
    assert set(model.customization_types) == types
    assert model.regions == regions
    assert model.legacy is legacy
    assert model.available_in(regions[0])
    assert not model.available_in("eu-west-1")


def test_image_models_are_legacy_and_take_no_validation_data() -> None:
    image_models = [m for m in all_models() if m.data_format(FT) == catalog.IMAGE_CAPTION]
    assert {m.customization_id for m in image_models} == {
        "amazon.titan-image-generator-v1:0",
        "amazon.titan-embed-image-v1:0",
    }
    assert all(m.legacy and not m.allows_validation_data(FT) for m in image_models)


@pytest.mark.parametrize(
    ("model_id", "customization_type", "data_format"),
    [
        ("amazon.nova-micro-v1", FT, catalog.CONVERSATION),
        ("amazon.nova-micro-v1", DIST, catalog.CONVERSATION),
        ("anthropic.claude-3-haiku-20240307-v1", FT, catalog.CLAUDE_3_HAIKU_MESSAGES),
        ("meta.llama3-1-8b-instruct-v1", FT, catalog.PROMPT_COMPLETION),
        ("meta.llama3-1-8b-instruct-v1", DIST, catalog.CONVERSATION),
        ("meta.llama3-2-11b-instruct-v1", FT, catalog.CONVERSATION),
        ("meta.llama3-3-70b-instruct-v1", FT, catalog.CONVERSATION),
        ("amazon.titan-text-lite-v1", FT, catalog.PROMPT_COMPLETION),
        ("amazon.titan-text-lite-v1", CPT, catalog.CONTINUED_PRE_TRAINING_FORMAT),
        ("cohere.command-light-text-v14", FT, catalog.PROMPT_COMPLETION),
    ],
)
def test_data_format_per_customization_type(model_id: str, customization_type: str, data_format: str) -> None:
    assert resolve_model(model_id).data_format(customization_type) == data_format


@pytest.mark.parametrize(
    "name",
    [
        "amazon.nova-micro-v1:0:128k",
        "amazon.nova-micro-v1:0",
        "amazon.nova-micro-v1",
        "  Amazon.Nova-Micro-V1  ",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0",
    ],
)
def test_resolve_accepts_every_name_of_a_model(name: str) -> None:
    model = resolve_model(name)
    assert model.customization_id == "amazon.nova-micro-v1:0:128k"
    assert model.plain_id == "amazon.nova-micro-v1"


def test_unknown_model_lists_close_matches() -> None:
    with pytest.raises(UnknownModelError) as raised:
        resolve_model("amazon.nova-mikro-v1")
    assert isinstance(raised.value, ValueError)
    assert "amazon.nova-micro-v1:0:128k" in str(raised.value)
    with pytest.raises(UnknownModelError, match=re.escape("anthropic.claude-3-haiku")):
        resolve_model("haiku")


def test_unknown_model_without_match_points_at_the_catalog() -> None:
    with pytest.raises(UnknownModelError, match="bmc models"):
        resolve_model("zzzz")


def test_unsupported_customization_type_is_explicit() -> None:
    model = resolve_model("amazon.nova-pro-v1")
    assert not model.supports(CPT)
    with pytest.raises(UnsupportedCustomizationError, match="supports FINE_TUNING"):
        model.customization(CPT)


def test_distillation_students_and_teachers() -> None:
    students = {m.customization_id for m in all_models() if m.supports(DIST)}
    assert students == {
        "amazon.nova-micro-v1:0:128k",
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-pro-v1:0:300k",
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-1-70b-instruct-v1:0:128k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-2-3b-instruct-v1:0:128k",
        "meta.llama3-3-70b-instruct-v1:0:128k",
    }
    assert {t.model_id for t in all_teachers()} == {
        "amazon.nova-pro-v1:0",
        "amazon.nova-premier-v1:0",
        "meta.llama3-1-405b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
    }
    for model in all_models():
        for teacher_id in model.distillation_teachers:
            teacher = resolve_teacher(teacher_id)
            assert set(teacher.regions) & set(model.regions), (model.customization_id, teacher_id)


# The teacher table of the distillation prerequisites page: teacher -> students.
DOCUMENTED_PAIRINGS = {
    "amazon.nova-pro-v1:0": {"amazon.nova-lite-v1:0:300k", "amazon.nova-micro-v1:0:128k"},
    "amazon.nova-premier-v1:0": {
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-micro-v1:0:128k",
        "amazon.nova-pro-v1:0:300k",
    },
    "meta.llama3-1-405b-instruct-v1:0": {
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-1-70b-instruct-v1:0:128k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-3-70b-instruct-v1:0:128k",
    },
    "meta.llama3-1-70b-instruct-v1:0": {
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-2-3b-instruct-v1:0:128k",
    },
    "meta.llama3-3-70b-instruct-v1:0": {
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-2-3b-instruct-v1:0:128k",
    },
}


def test_distillation_pairings_are_the_documented_ones() -> None:
    pairings: dict[str, set[str]] = {}
    for model in all_models():
        for teacher_id in model.distillation_teachers:
            pairings.setdefault(teacher_id, set()).add(model.customization_id)
    assert pairings == DOCUMENTED_PAIRINGS


def test_inference_profile_only_teachers_are_invoked_through_their_system_profile() -> None:
    profile_only = {t.model_id: t for t in all_teachers() if not t.on_demand}
    assert set(profile_only) == {"amazon.nova-premier-v1:0", "meta.llama3-3-70b-instruct-v1:0"}
    premier = profile_only["amazon.nova-premier-v1:0"]
    assert premier.invocation_id == "us.amazon.nova-premier-v1:0"
    assert premier.profile_regions == ("us-east-1", "us-east-2", "us-west-2")
    assert resolve_teacher("us.amazon.nova-premier-v1:0") is premier
    assert resolve_teacher("amazon.nova-pro-v1:0").invocation_id == "amazon.nova-pro-v1:0"
    for teacher in profile_only.values():
        assert teacher.invocation_id == f"us.{teacher.model_id}"
        assert set(teacher.regions) <= set(teacher.profile_regions)


def test_unknown_teacher() -> None:
    with pytest.raises(UnknownModelError, match=re.escape("meta.llama3-1-405b-instruct-v1:0")):
        resolve_teacher("meta.llama3-1-405b")


def test_serving_options() -> None:
    on_demand = {m.customization_id for m in all_models() if m.on_demand_deployment}
    assert on_demand == {
        "amazon.nova-micro-v1:0:128k",
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-pro-v1:0:300k",
        "amazon.nova-2-lite-v1:0:256k",
        "meta.llama3-3-70b-instruct-v1:0:128k",
    }
    assert all(m.provisioned_throughput for m in all_models())


@pytest.mark.parametrize(
    ("model_id", "name", "minimum", "maximum", "default"),
    [
        ("amazon.nova-lite-v1", "epochCount", 1, 5, 2),
        ("amazon.nova-lite-v1", "learningRate", 1e-6, 1e-4, 1e-5),
        ("amazon.nova-lite-v1", "learningRateWarmupSteps", 0, 100, 10),
        ("anthropic.claude-3-haiku-20240307-v1", "batchSize", 4, 256, 32),
        ("anthropic.claude-3-haiku-20240307-v1", "learningRateMultiplier", 0.1, 2, 1),
        ("anthropic.claude-3-haiku-20240307-v1", "earlyStoppingThreshold", 0, 0.1, 0.001),
        ("meta.llama3-2-3b-instruct-v1", "epochCount", 1, 10, 5),
        ("meta.llama3-2-3b-instruct-v1", "batchSize", 1, 1, 1),
        ("meta.llama3-2-3b-instruct-v1", "learningRate", 5e-6, 0.1, 1e-4),
        ("amazon.titan-text-express-v1", "learningRateWarmupSteps", 0, 250, 5),
        ("amazon.titan-text-premier-v1", "learningRate", 1e-7, 1e-5, 1e-6),
        ("cohere.command-text-v14", "evalPercentage", 5, 50, 20),
        ("cohere.command-light-text-v14", "batchSize", 8, 32, 8),
        ("cohere.command-text-v14", "batchSize", 8, 8, 8),
    ],
)
def test_hyperparameter_schema(
    model_id: str, name: str, minimum: float, maximum: float, default: float
) -> None:
    specs = {spec.name: spec for spec in resolve_model(model_id).hyperparameters(FT)}
    spec = specs[name]
    assert (spec.min, spec.max, spec.default) == (minimum, maximum, default)


def test_limits_of_bedrock_md() -> None:
    haiku = resolve_model("anthropic.claude-3-haiku-20240307-v1").limits(FT)
    assert (haiku.training_records.min, haiku.training_records.max) == (32, 10_000)
    assert haiku.validation_records.max == 1000
    assert haiku.record_tokens == 32_000
    assert (haiku.training_file_bytes, haiku.validation_file_bytes) == (10 * 10**9, 10**9)
    titan = resolve_model("amazon.titan-text-express-v1")
    assert titan.limits(CPT).training_records.max == 100_000
    assert titan.limits(FT).record_token_limit(batch_size=1) == 4096
    assert titan.limits(FT).record_token_limit(batch_size=8) == 2048
    assert titan.limits(CPT).validation_file_bytes == 100 * 10**6
    assert resolve_model("meta.llama3-2-90b-instruct-v1").limits(FT).record_tokens == 10_000
    cohere = resolve_model("cohere.command-text-v14").limits(FT)
    assert (cohere.prompt_tokens, cohere.completion_tokens) == (4096, 2048)
    nova = resolve_model("amazon.nova-micro-v1")
    assert nova.limits(DIST).training_records.min == 100
    assert nova.format_rules(FT).max_images_per_record == 0  # Micro is text only
    assert resolve_model("amazon.nova-lite-v1").format_rules(FT).max_images_per_record == 10


def test_every_model_has_a_price_table_entry() -> None:
    prices = default_prices().training_per_1k_tokens
    assert {m.customization_id for m in all_models()} == set(prices)


def test_to_dict_is_json_ready() -> None:
    for model in all_models():
        data = json.loads(json.dumps(model.to_dict()))
        assert data["customization_id"] == model.customization_id
        assert set(data["customizations"]) == set(model.customization_types)


def _catalog_document() -> dict[str, Any]:
    text = resources.files("bmc").joinpath("data/models.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def test_adding_a_model_is_adding_data() -> None:
    document = _catalog_document()
    entry = copy.deepcopy(document["models"][0])
    entry.update(customization_id="example.new-model-v1:0:32k", name="Example New Model")
    document["models"].append(entry)
    loaded = load_catalog(document)
    model = loaded.by_alias["example.new-model-v1"]
    assert model.name == "Example New Model"
    assert model.hyperparameters(FT) == loaded.by_alias["amazon.nova-micro-v1"].hyperparameters(FT)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["models"][0].update(regionz=["us-east-1"]), "unknown keys"),
        (
            lambda d: d["models"][0]["customizations"]["FINE_TUNING"].update(format="nope"),
            "no format profile",
        ),
        (
            lambda d: d["models"][0]["customizations"]["FINE_TUNING"].update(hyperparameters="nope"),
            "no hyperparameter",
        ),
        (lambda d: d["models"][0].update(distillation_teachers=["nobody"]), "unknown teacher"),
        (lambda d: d["teachers"][1].pop("inference_profile"), "needs an inference_profile"),
        (lambda d: d["teachers"][1]["inference_profile"].update(routes_to=[]), "routes_to: no regions"),
        (lambda d: d["hyperparameter_schemas"]["nova"][0].update(default=99), "outside"),
        (
            lambda d: d["models"][4]["customizations"]["FINE_TUNING"]["limits"].update(
                training_file_size="10 GiB"
            ),
            "size",
        ),
        (lambda d: d["models"].append(copy.deepcopy(d["models"][0])), "names both"),
        (
            lambda d: d["models"][0]["customizations"].update(REINFORCEMENT_FINE_TUNING={}),
            "unknown customization type",
        ),
    ],
)
def test_malformed_catalog_data_fails_loudly(mutate: Any, message: str) -> None:
    document = _catalog_document()
    mutate(document)
    with pytest.raises(CatalogDataError, match=message):
        load_catalog(document)
