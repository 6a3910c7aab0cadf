"""The catalog's data model: the frozen facts about a customizable model (its customizations,
data format rules, limits, hyperparameters, teachers, inference and serving), the constants
that name formats and APIs, and the errors a lookup raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
