"""Loading ``data/models.json`` into the catalog's facts, strictly: a typo in the data (an
unknown key, a wrong type, a dangling reference) fails at import, in tests, rather than silently
disabling a check. ``packaged_catalog`` loads the packaged file once."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from bmc.catalog.models.facts import (
    CUSTOMIZATION_TYPES,
    DATA_FORMATS,
    HYPERPARAMETER_TYPES,
    INFERENCE_APIS,
    INVOKE_BODIES,
    INVOKE_MODEL,
    Catalog,
    CatalogDataError,
    Customization,
    FormatRules,
    HyperparameterSpec,
    Inference,
    Limits,
    Model,
    RecordRange,
    Teacher,
)

_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?(B|KB|MB|GB)")
_SIZE_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}


@cache
def packaged_catalog() -> Catalog:
    """The catalog of the packaged ``data/models.json``, loaded on first use."""
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
