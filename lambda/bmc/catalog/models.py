"""The model catalog: every fact about customizable Bedrock models, in one place.

The facts live in ``data/models.json`` (adding a model is adding an entry there); this module
loads them once into frozen dataclasses and offers a small lookup API used by the CLI, the
Lambdas and the CDK app. The loader is strict: a typo in the data fails at import, in tests,
rather than silently disabling a check.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

CUSTOMIZATION_TYPES = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION")

PROMPT_COMPLETION = "prompt-completion"
CONTINUED_PRE_TRAINING_FORMAT = "continued-pre-training"
CONVERSATION = "bedrock-conversation-2024"
CLAUDE_3_HAIKU_MESSAGES = "claude-3-haiku-messages"
IMAGE_CAPTION = "image-caption"
DATA_FORMATS = (
    PROMPT_COMPLETION,
    CONTINUED_PRE_TRAINING_FORMAT,
    CONVERSATION,
    CLAUDE_3_HAIKU_MESSAGES,
    IMAGE_CAPTION,
)

HYPERPARAMETER_TYPES = ("integer", "float")

# How a model is invoked (its ``inference`` entry): the Converse API, InvokeModel with the
# family's native request body (for families Converse does not fully support), or not at all
# by text evaluation (image generation and embedding models produce no text to score).
CONVERSE = "converse"
INVOKE_MODEL = "invoke-model"
NO_TEXT_INFERENCE = "none"
INFERENCE_APIS = (CONVERSE, INVOKE_MODEL, NO_TEXT_INFERENCE)
INVOKE_BODIES = ("cohere-command",)
# The cheapest temporary serving for an evaluation (see Model.evaluation_serving).
EVALUATION_MODEL_UNITS = 1

_ARN_PREFIX = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:foundation-model/")
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:bedrock:([a-z0-9-]*):\d*:foundation-model/")
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?(B|KB|MB|GB)")
_SIZE_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}


class UnknownModelError(ValueError):
    """The id names no model in the catalog; the message lists close matches."""


class UnsupportedCustomizationError(ValueError):
    """The model exists but does not offer this customization type."""


class UnsupportedRegionError(ValueError):
    """The model cannot be used this way in this region."""


class CatalogDataError(RuntimeError):
    """The packaged catalog data is malformed (a bug in data/models.json)."""


@dataclass(frozen=True, slots=True)
class HyperparameterSpec:
    name: str
    type: str  # "integer" or "float"
    min: float
    max: float
    default: int | float | None  # None: required, the user must choose
    notes: str = ""
    special_values: tuple[str, ...] = ()  # accepted words such as "auto"
    only_without_validation_data: bool = False

    @property
    def required(self) -> bool:
        return self.default is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "min": self.min,
            "max": self.max,
            "default": self.default,
            "required": self.required,
            "special_values": list(self.special_values),
            "only_without_validation_data": self.only_without_validation_data,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class RecordRange:
    min: int | None = None
    max: int | None = None

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:,}-{self.max:,}"
        if self.min is not None:
            return f">= {self.min:,}"
        if self.max is not None:
            return f"<= {self.max:,}"
        return "no documented limit"


@dataclass(frozen=True, slots=True)
class Limits:
    training_records: RecordRange = RecordRange()
    validation_records: RecordRange = RecordRange()
    total_records: RecordRange = RecordRange()  # training and validation records together
    training_file_bytes: int | None = None
    validation_file_bytes: int | None = None
    record_tokens: int | None = None
    record_tokens_batched: int | None = None  # Titan: the per-record limit at larger batch sizes
    record_tokens_batched_from: int = 2  # the batch size from which record_tokens_batched applies
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    recommended_min_training_records: int | None = None  # advice: below it is a warning

    def record_token_limit(self, batch_size: int | None) -> int | None:
        if (
            self.record_tokens_batched is not None
            and batch_size is not None
            and batch_size >= self.record_tokens_batched_from
        ):
            return self.record_tokens_batched
        return self.record_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "training_records": {"min": self.training_records.min, "max": self.training_records.max},
            "validation_records": {"min": self.validation_records.min, "max": self.validation_records.max},
            "total_records": {"min": self.total_records.min, "max": self.total_records.max},
            "training_file_bytes": self.training_file_bytes,
            "validation_file_bytes": self.validation_file_bytes,
            "record_tokens": self.record_tokens,
            "record_tokens_batched": self.record_tokens_batched,
            "record_tokens_batched_from": self.record_tokens_batched_from,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "recommended_min_training_records": self.recommended_min_training_records,
        }


@dataclass(frozen=True, slots=True)
class FormatRules:
    """What a record must look like, beyond the data format's own structure."""

    data_format: str
    # Keywords the guide forbids in system and user prompts (exact case, anywhere in the text).
    reserved_strings: tuple[str, ...] = ()
    # Keywords worth a warning wherever they appear, in any case (text the guide does not name).
    advisory_reserved_strings: tuple[str, ...] = ()
    schema_version_required: bool = False  # distillation: "must have the value ..."
    max_images_per_record: int | None = 0  # 0: no images; None: allowed, no documented cap
    max_videos_per_record: int | None = 0
    image_formats: tuple[str, ...] = ()
    video_formats: tuple[str, ...] = ()
    media_in_dataset_bucket: bool = False
    final_user_turn_allowed: bool = False  # distillation prompts may end on the user's turn
    max_user_turns: int | None = None
    reasoning_content: bool = False
    max_caption_chars: int | None = None
    min_caption_chars: int | None = None
    empty_caption_allowed: bool = False
    image_tokens: RecordRange | None = None  # tokens one image costs: (lenient, conservative)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_format": self.data_format,
            "reserved_strings": list(self.reserved_strings),
            "advisory_reserved_strings": list(self.advisory_reserved_strings),
            "schema_version_required": self.schema_version_required,
            "max_images_per_record": self.max_images_per_record,
            "max_videos_per_record": self.max_videos_per_record,
            "image_formats": list(self.image_formats),
            "video_formats": list(self.video_formats),
            "media_in_dataset_bucket": self.media_in_dataset_bucket,
            "final_user_turn_allowed": self.final_user_turn_allowed,
            "max_user_turns": self.max_user_turns,
            "reasoning_content": self.reasoning_content,
            "max_caption_chars": self.max_caption_chars,
            "min_caption_chars": self.min_caption_chars,
            "empty_caption_allowed": self.empty_caption_allowed,
            "image_tokens": None
            if self.image_tokens is None
            else {"min": self.image_tokens.min, "max": self.image_tokens.max},
        }


@dataclass(frozen=True, slots=True)
class Customization:
    customization_type: str
    format: FormatRules
    hyperparameters: tuple[HyperparameterSpec, ...]
    validation_data: bool
    limits: Limits


@dataclass(frozen=True, slots=True)
class Teacher:
    """A distillation teacher. Some are invoked only through a system inference profile."""

    model_id: str
    name: str
    regions: tuple[str, ...]
    on_demand: bool = True
    inference_profile: str | None = None  # system (cross-region) inference profile id
    profile_regions: tuple[str, ...] = ()  # the regions the profile routes requests to

    def available_in(self, region: str) -> bool:
        return region in self.regions

    @property
    def invocation_id(self) -> str:
        """The id a distillation job must name: the profile id when on-demand is not offered."""
        if self.on_demand or self.inference_profile is None:
            return self.model_id
        return self.inference_profile


@dataclass(frozen=True, slots=True)
class Inference:
    """How to call the model for evaluation and ``bmc invoke``.

    ``base_model_ids``: per region, the id that invokes the *base* model on demand: the plain
    foundation model id, or the system inference profile (``us.…``) for models that AWS serves
    on demand only through cross-region inference. ``system_prompt``: whether the family
    accepts Converse's ``system`` field (Titan and Cohere do not: it is folded into the prompt).
    """

    api: str = NO_TEXT_INFERENCE
    system_prompt: bool = False
    invoke_body: str | None = None  # InvokeModel's request format when api is invoke-model
    base_model_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def evaluable(self) -> bool:
        return self.api != NO_TEXT_INFERENCE

    def base_model_id(self, region: str) -> str:
        """The id that invokes the base model on demand in ``region``."""
        found = self.base_model_ids.get(region)
        if found is None:
            where = ", ".join(sorted(self.base_model_ids)) or "no region"
            raise UnsupportedRegionError(
                f"the base model cannot be invoked on demand in {region} (only {where})"
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "system_prompt": self.system_prompt,
            "invoke_body": self.invoke_body,
            "base_model_ids": dict(self.base_model_ids),
        }


@dataclass(frozen=True, slots=True)
class EvaluationServing:
    """The cheapest way to serve a custom model temporarily, for an evaluation."""

    mode: str  # "on-demand" (a custom model deployment) or "provisioned"
    model_units: int | None = None  # provisioned: always 1, without commitment

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode}
        if self.model_units is not None:
            data.update({"modelUnits": self.model_units, "commitment": "none"})
        return data


@dataclass(frozen=True, slots=True)
class Model:
    customization_id: str
    plain_id: str
    aliases: tuple[str, ...]  # every id that resolves to this model, customization id first
    name: str
    family: str
    legacy: bool
    regions: tuple[str, ...]
    provisioned_throughput: bool
    on_demand_deployment: bool
    distillation_teachers: tuple[str, ...]
    customizations: tuple[Customization, ...]
    notes: tuple[str, ...] = ()
    inference: Inference = Inference()
    # Customizing a custom model of this model again (data/models.json "chaining"): for each
    # customization type of the new job, the types that may have made the parent model.
    further_customization: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    further_customization_source: str = ""

    def customizes_from(self, customization_type: str, parent_type: str) -> bool:
        """Whether a ``customization_type`` job may start from a custom model made by ``parent_type``."""
        return parent_type in self.further_customization.get(customization_type, ())

    @property
    def evaluation_serving(self) -> EvaluationServing:
        """An on-demand deployment where the model supports one (billed per token, nothing idle),
        else one model unit of no-commitment provisioned throughput (billed per hour)."""
        if self.on_demand_deployment:
            return EvaluationServing("on-demand")
        return EvaluationServing("provisioned", EVALUATION_MODEL_UNITS)

    @property
    def customization_types(self) -> tuple[str, ...]:
        return tuple(c.customization_type for c in self.customizations)

    def supports(self, customization_type: str) -> bool:
        return customization_type in self.customization_types

    def available_in(self, region: str) -> bool:
        return region in self.regions

    def customization(self, customization_type: str) -> Customization:
        for customization in self.customizations:
            if customization.customization_type == customization_type:
                return customization
        offered = ", ".join(self.customization_types)
        raise UnsupportedCustomizationError(
            f"{self.customization_id} does not support {customization_type}; it supports {offered}"
        )

    def data_format(self, customization_type: str) -> str:
        return self.customization(customization_type).format.data_format

    def format_rules(self, customization_type: str) -> FormatRules:
        return self.customization(customization_type).format

    def allows_validation_data(self, customization_type: str) -> bool:
        return self.customization(customization_type).validation_data

    def hyperparameters(self, customization_type: str) -> tuple[HyperparameterSpec, ...]:
        return self.customization(customization_type).hyperparameters

    def limits(self, customization_type: str) -> Limits:
        return self.customization(customization_type).limits

    def to_dict(self) -> dict[str, Any]:
        return {
            "customization_id": self.customization_id,
            "plain_id": self.plain_id,
            "aliases": list(self.aliases),
            "name": self.name,
            "family": self.family,
            "legacy": self.legacy,
            "regions": list(self.regions),
            "customization_types": list(self.customization_types),
            "serving": {
                "provisioned_throughput": self.provisioned_throughput,
                "on_demand_deployment": self.on_demand_deployment,
            },
            "inference": {
                **self.inference.to_dict(),
                "evaluation_serving": self.evaluation_serving.to_dict() if self.inference.evaluable else None,
            },
            "distillation_teachers": list(self.distillation_teachers),
            "further_customization": {
                child: list(parents) for child, parents in self.further_customization.items()
            },
            "customizations": {
                c.customization_type: {
                    "data_format": c.format.data_format,
                    "validation_data": c.validation_data,
                    "format_rules": c.format.to_dict(),
                    "limits": c.limits.to_dict(),
                    "hyperparameters": [h.to_dict() for h in c.hyperparameters],
                }
                for c in self.customizations
            },
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Catalog:
    models: tuple[Model, ...]
    teachers: tuple[Teacher, ...]
    by_alias: Mapping[str, Model]
    teachers_by_id: Mapping[str, Teacher]


def all_models() -> list[Model]:
    return list(_catalog().models)


def all_teachers() -> list[Teacher]:
    return list(_catalog().teachers)


def resolve_model(model_id: str) -> Model:
    """Find a model by customization id, plain id, foundation model id or foundation model ARN."""
    catalog = _catalog()
    _refuse_unknown_region(model_id, catalog)
    model = catalog.by_alias.get(_normalize_id(model_id))
    if model is None:
        raise UnknownModelError(_unknown_message("model", model_id, close_matches(model_id)))
    return model


def resolve_teacher(model_id: str) -> Teacher:
    catalog = _catalog()
    _refuse_unknown_region(model_id, catalog)
    teacher = catalog.teachers_by_id.get(_normalize_id(model_id))
    if teacher is None:
        suggestions = _suggest(_normalize_id(model_id), {t: t for t in catalog.teachers_by_id}, 3)
        raise UnknownModelError(_unknown_message("distillation teacher", model_id, suggestions))
    return teacher


def close_matches(model_id: str, limit: int = 3) -> list[str]:
    """Customization ids of the models whose ids look like ``model_id`` ("did you mean")."""
    catalog = _catalog()
    canonical = {alias: model.customization_id for alias, model in catalog.by_alias.items()}
    return _suggest(_normalize_id(model_id), canonical, limit)


def arn_region(model_id: str) -> str | None:
    """The region a foundation model ARN names (``""`` when empty); None for a plain id."""
    match = _ARN_REGION.match(model_id.strip().lower())
    return match.group(1) if match else None


def _refuse_unknown_region(model_id: str, catalog: Catalog) -> None:
    """An ARN naming a region no catalog entry is offered in is refused, not read as its model id."""
    region = arn_region(model_id)
    if region is None:
        return
    known = {r for model in catalog.models for r in model.regions} | {
        r for teacher in catalog.teachers for r in teacher.regions
    }
    if region not in known:
        raise UnknownModelError(
            f"{model_id!r} names the region {region!r}, where the catalog offers no model; "
            f"give the model id or an ARN of one of: {', '.join(sorted(known))}"
        )


def _normalize_id(model_id: str) -> str:
    return _ARN_PREFIX.sub("", model_id.strip().lower())


def _suggest(key: str, canonical: Mapping[str, str], limit: int) -> list[str]:
    """Close matches among the keys of ``canonical``, reported as their canonical ids."""
    aliases = list(canonical)
    # Prefix and substring matches are the most useful hints ("meta.llama3-2", "haiku").
    prefixed = [a for a in aliases if key and a.startswith(key)]
    contained = [a for a in aliases if len(key) >= 3 and key in a]
    similar = difflib.get_close_matches(key, aliases, n=limit * 4, cutoff=0.6)
    return list(dict.fromkeys(canonical[a] for a in prefixed + contained + similar))[:limit]


def _unknown_message(kind: str, model_id: str, suggestions: list[str]) -> str:
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    return f"unknown {kind} {model_id!r}{hint} (`bmc models` lists the catalog)"


# --- loading -----------------------------------------------------------------------------------


@cache
def _catalog() -> Catalog:
    text = resources.files("bmc").joinpath("data/models.json").read_text(encoding="utf-8")
    return load_catalog(json.loads(text))


def load_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build the catalog from its JSON document (public so tests can load variants)."""
    doc = _Obj(data, "models.json")
    profiles = {
        name: _parse_format(_Obj(raw, f"format_profiles.{name}"))
        for name, raw in doc.dict_at("format_profiles").items()
    }
    schemas = {
        name: tuple(
            _parse_hyperparameter(_Obj(raw, f"hyperparameter_schemas.{name}[{i}]"))
            for i, raw in enumerate(specs)
        )
        for name, specs in doc.dict_at("hyperparameter_schemas").items()
    }
    teachers = tuple(
        _parse_teacher(_Obj(raw, f"teachers[{i}]")) for i, raw in enumerate(doc.list_at("teachers"))
    )
    teachers_by_id = {t.model_id: t for t in teachers}
    models = tuple(
        _parse_model(_Obj(raw, f"models[{i}]"), profiles, schemas, teachers_by_id)
        for i, raw in enumerate(doc.list_at("models"))
    )
    # A teacher is also found by its inference profile id (what the job request names).
    teachers_by_id |= {t.inference_profile: t for t in teachers if t.inference_profile}
    doc.optional("about", str)
    models = _apply_chaining(doc.optional("chaining", dict, {}), models)
    doc.done()
    by_alias: dict[str, Model] = {}
    for model in models:
        for alias in model.aliases:
            if alias in by_alias:
                raise CatalogDataError(
                    f"id {alias!r} names both {by_alias[alias].customization_id} and {model.customization_id}"
                )
            by_alias[alias] = model
    return Catalog(models=models, teachers=teachers, by_alias=by_alias, teachers_by_id=teachers_by_id)


def _apply_chaining(raw: Mapping[str, Any], models: tuple[Model, ...]) -> tuple[Model, ...]:
    """The models with the ``chaining`` section's facts: a profile per model, each naming, per
    customization type of the new job, the customization types that may have made the parent."""
    section = _Obj(dict(raw), "chaining")
    section.optional("about", str)
    profiles: dict[str, tuple[dict[str, tuple[str, ...]], str]] = {}
    for name, profile_raw in section.optional("profiles", dict, {}).items():
        profile = _Obj(profile_raw, f"chaining.profiles.{name}")
        source = profile.required("source", str)
        types = {}
        for child in CUSTOMIZATION_TYPES:
            parents = profile.strings(child)
            unknown = [p for p in parents if p not in CUSTOMIZATION_TYPES]
            if unknown:
                raise CatalogDataError(f"{profile.path}.{child}: unknown customization types {unknown}")
            if parents:
                types[child] = parents
        profile.done()
        profiles[name] = (types, source)
    assigned: dict[str, str] = section.optional("models", dict, {})
    section.done()
    by_id = {model.customization_id: model for model in models}
    for model_id, profile_name in assigned.items():
        if model_id not in by_id:
            raise CatalogDataError(f"chaining.models: unknown model {model_id!r}")
        if profile_name not in profiles:
            raise CatalogDataError(f"chaining.models.{model_id}: no profile {profile_name!r}")
        types, source = profiles[profile_name]
        for child in types:
            if not by_id[model_id].supports(child):
                raise CatalogDataError(f"chaining.models.{model_id}: the model does not offer {child}")
        by_id[model_id] = dataclasses.replace(
            by_id[model_id], further_customization=types, further_customization_source=source
        )
    return tuple(by_id[model.customization_id] for model in models)


class _Obj:
    """A JSON object being parsed: typed access by key, and a check that no key was left unread."""

    def __init__(self, raw: object, path: str) -> None:
        if not isinstance(raw, dict):
            raise CatalogDataError(f"{path}: expected an object")
        self.raw: dict[str, Any] = raw
        self.path = path
        self.seen: set[str] = set()

    def optional(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.seen.add(key)
        if key not in self.raw or self.raw[key] is None:
            return default
        value = self.raw[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise CatalogDataError(f"{self.path}.{key}: unexpected boolean")
        if not isinstance(value, kind):
            raise CatalogDataError(f"{self.path}.{key}: expected {kind}, got {type(value).__name__}")
        return value

    def required(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.raw:
            raise CatalogDataError(f"{self.path}: missing {key!r}")
        value = self.optional(key, kind)
        if value is None:
            raise CatalogDataError(f"{self.path}.{key}: must not be null")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.optional(key, list, [])
        if not all(isinstance(v, str) for v in values):
            raise CatalogDataError(f"{self.path}.{key}: expected a list of strings")
        return tuple(values)

    def dict_at(self, key: str) -> dict[str, Any]:
        value: dict[str, Any] = self.required(key, dict)
        return value

    def list_at(self, key: str) -> list[Any]:
        value: list[Any] = self.required(key, list)
        return value

    def done(self) -> None:
        unknown = set(self.raw) - self.seen
        if unknown:
            raise CatalogDataError(f"{self.path}: unknown keys {sorted(unknown)}")


def _parse_format(obj: _Obj) -> FormatRules:
    data_format = obj.required("data_format", str)
    if data_format not in DATA_FORMATS:
        raise CatalogDataError(f"{obj.path}.data_format: {data_format!r} is not one of {DATA_FORMATS}")
    rules = FormatRules(
        data_format=data_format,
        reserved_strings=obj.strings("reserved_strings"),
        advisory_reserved_strings=obj.strings("advisory_reserved_strings"),
        schema_version_required=obj.optional("schema_version_required", bool, False),
        # Absent means "not allowed" (0); an explicit null means "allowed, no documented cap".
        max_images_per_record=obj.optional("max_images_per_record", int)
        if "max_images_per_record" in obj.raw
        else 0,
        max_videos_per_record=obj.optional("max_videos_per_record", int)
        if "max_videos_per_record" in obj.raw
        else 0,
        image_formats=obj.strings("image_formats"),
        video_formats=obj.strings("video_formats"),
        media_in_dataset_bucket=obj.optional("media_in_dataset_bucket", bool, False),
        final_user_turn_allowed=obj.optional("final_user_turn_allowed", bool, False),
        max_user_turns=obj.optional("max_user_turns", int),
        reasoning_content=obj.optional("reasoning_content", bool, False),
        max_caption_chars=obj.optional("max_caption_chars", int),
        min_caption_chars=obj.optional("min_caption_chars", int),
        empty_caption_allowed=obj.optional("empty_caption_allowed", bool, False),
        image_tokens=_parse_range(obj, "image_tokens") if "image_tokens" in obj.raw else None,
    )
    obj.done()
    return rules


def _parse_hyperparameter(obj: _Obj) -> HyperparameterSpec:
    kind = obj.required("type", str)
    if kind not in HYPERPARAMETER_TYPES:
        raise CatalogDataError(f"{obj.path}.type: {kind!r} is not one of {HYPERPARAMETER_TYPES}")
    # Integer parameters take integer bounds; float ones are normalized to float.
    number: type | tuple[type, ...] = int if kind == "integer" else (int, float)
    convert = int if kind == "integer" else float
    default = obj.optional("default", number)
    spec = HyperparameterSpec(
        name=obj.required("name", str),
        type=kind,
        min=convert(obj.required("min", number)),
        max=convert(obj.required("max", number)),
        default=None if default is None else convert(default),
        notes=obj.optional("notes", str, ""),
        special_values=obj.strings("special_values"),
        only_without_validation_data=obj.optional("only_without_validation_data", bool, False),
    )
    obj.done()
    if spec.min > spec.max:
        raise CatalogDataError(f"{obj.path}: min is above max")
    if spec.default is not None and not spec.min <= spec.default <= spec.max:
        raise CatalogDataError(f"{obj.path}: default {spec.default} is outside {spec.min}..{spec.max}")
    return spec


def _parse_size(obj: _Obj, key: str) -> int | None:
    text = obj.optional(key, str)
    if text is None:
        return None
    match = _SIZE.fullmatch(text)
    if not match:
        raise CatalogDataError(f"{obj.path}.{key}: {text!r} is not a size like '10 GB'")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def _parse_range(obj: _Obj, key: str) -> RecordRange:
    raw = obj.optional(key, dict)
    if raw is None:
        return RecordRange()
    inner = _Obj(raw, f"{obj.path}.{key}")
    result = RecordRange(min=inner.optional("min", int), max=inner.optional("max", int))
    inner.done()
    return result


def _parse_limits(obj: _Obj) -> Limits:
    limits = Limits(
        training_records=_parse_range(obj, "training_records"),
        validation_records=_parse_range(obj, "validation_records"),
        total_records=_parse_range(obj, "total_records"),
        training_file_bytes=_parse_size(obj, "training_file_size"),
        validation_file_bytes=_parse_size(obj, "validation_file_size"),
        record_tokens=obj.optional("record_tokens", int),
        record_tokens_batched=obj.optional("record_tokens_batched", int),
        record_tokens_batched_from=obj.optional("record_tokens_batched_from", int, 2),
        prompt_tokens=obj.optional("prompt_tokens", int),
        completion_tokens=obj.optional("completion_tokens", int),
        recommended_min_training_records=obj.optional("recommended_min_training_records", int),
    )
    obj.done()
    return limits


def _parse_inference(obj: _Obj, regions: tuple[str, ...]) -> Inference:
    api = obj.required("api", str)
    if api not in INFERENCE_APIS:
        raise CatalogDataError(f"{obj.path}.api: {api!r} is not one of {INFERENCE_APIS}")
    ids_raw = obj.optional("base_model_ids", dict, {})
    ids = _Obj(ids_raw, f"{obj.path}.base_model_ids")
    base_model_ids = {region: ids.required(region, str) for region in ids_raw}
    ids.done()
    inference = Inference(
        api=api,
        system_prompt=obj.optional("system_prompt", bool, False),
        invoke_body=obj.optional("invoke_body", str),
        base_model_ids=base_model_ids,
    )
    obj.done()
    if inference.evaluable:
        missing = [region for region in regions if region not in base_model_ids]
        if missing:
            raise CatalogDataError(f"{obj.path}.base_model_ids: no id for {', '.join(missing)}")
    elif base_model_ids:
        raise CatalogDataError(f"{obj.path}: base_model_ids given for a model without text inference")
    if (api == INVOKE_MODEL) != (inference.invoke_body is not None):
        raise CatalogDataError(f"{obj.path}.invoke_body: required exactly when api is {INVOKE_MODEL}")
    if inference.invoke_body is not None and inference.invoke_body not in INVOKE_BODIES:
        raise CatalogDataError(
            f"{obj.path}.invoke_body: {inference.invoke_body!r} is not one of {INVOKE_BODIES}"
        )
    return inference


def _parse_teacher(obj: _Obj) -> Teacher:
    profile_raw = obj.optional("inference_profile", dict)
    profile_id: str | None = None
    routes: tuple[str, ...] = ()
    if profile_raw is not None:
        profile = _Obj(profile_raw, f"{obj.path}.inference_profile")
        profile_id = profile.required("id", str)
        routes = profile.strings("routes_to")
        profile.done()
        if not routes:
            raise CatalogDataError(f"{obj.path}.inference_profile.routes_to: no regions")
    teacher = Teacher(
        model_id=obj.required("model_id", str),
        name=obj.required("name", str),
        regions=obj.strings("regions"),
        on_demand=obj.optional("on_demand", bool, True),
        inference_profile=profile_id,
        profile_regions=routes,
    )
    obj.done()
    if not teacher.on_demand and teacher.inference_profile is None:
        raise CatalogDataError(f"{obj.path}: a teacher without on-demand needs an inference_profile")
    return teacher


def _parse_model(
    obj: _Obj,
    profiles: Mapping[str, FormatRules],
    schemas: Mapping[str, tuple[HyperparameterSpec, ...]],
    teachers: Mapping[str, Teacher],
) -> Model:
    customization_id: str = obj.required("customization_id", str)
    customizations: list[Customization] = []
    for customization_type, raw in obj.dict_at("customizations").items():
        path = f"{obj.path}.customizations.{customization_type}"
        if customization_type not in CUSTOMIZATION_TYPES:
            raise CatalogDataError(f"{path}: unknown customization type")
        entry = _Obj(raw, path)
        profile_name = entry.required("format", str)
        schema_name = entry.required("hyperparameters", str)
        if profile_name not in profiles:
            raise CatalogDataError(f"{path}.format: no format profile {profile_name!r}")
        if schema_name not in schemas:
            raise CatalogDataError(f"{path}.hyperparameters: no hyperparameter schema {schema_name!r}")
        customizations.append(
            Customization(
                customization_type=customization_type,
                format=profiles[profile_name],
                hyperparameters=schemas[schema_name],
                validation_data=entry.required("validation_data", bool),
                limits=_parse_limits(_Obj(entry.required("limits", dict), f"{path}.limits")),
            )
        )
        entry.done()
    teacher_ids = obj.strings("distillation_teachers")
    for teacher_id in teacher_ids:
        if teacher_id not in teachers:
            raise CatalogDataError(f"{obj.path}.distillation_teachers: unknown teacher {teacher_id!r}")
    # Every prefix cut at a ':' is an accepted id: the plain id (amazon.nova-micro-v1) and the
    # foundation model id (amazon.nova-micro-v1:0) both name the model.
    parts = customization_id.split(":")
    aliases = (customization_id, *(":".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)))
    regions = obj.strings("regions")
    model = Model(
        customization_id=customization_id,
        plain_id=parts[0],
        aliases=aliases,
        name=obj.required("name", str),
        family=obj.required("family", str),
        legacy=obj.required("legacy", bool),
        regions=regions,
        provisioned_throughput=obj.required("provisioned_throughput", bool),
        on_demand_deployment=obj.required("on_demand_deployment", bool),
        distillation_teachers=teacher_ids,
        customizations=tuple(customizations),
        notes=obj.strings("notes"),
        inference=_parse_inference(_Obj(obj.required("inference", dict), f"{obj.path}.inference"), regions),
    )
    obj.done()
    if not model.regions:
        raise CatalogDataError(f"{obj.path}: no regions")
    if teacher_ids and not model.supports("DISTILLATION"):
        raise CatalogDataError(f"{obj.path}: teachers listed but DISTILLATION is not offered")
    return model
