"""The model catalog: every fact about customizable Bedrock models, in one place.

The facts live in ``data/models.json`` (adding a model is adding an entry there); this package
loads them once into frozen dataclasses and offers a small lookup API used by the CLI, the
Lambdas and the CDK app. The loader is strict: a typo in the data fails at import, in tests,
rather than silently disabling a check.

Modules: ``facts`` (the data model, constants and errors), ``loading`` (parsing models.json)
and ``lookup`` (resolving the ids users give). Callers import from here.
"""

from bmc.catalog.models.facts import (
    CLAUDE_3_HAIKU_MESSAGES,
    CONTINUED_PRE_TRAINING_FORMAT,
    CONVERSATION,
    CONVERSE,
    CUSTOMIZATION_TYPES,
    DATA_FORMATS,
    EVALUATION_MODEL_UNITS,
    HYPERPARAMETER_TYPES,
    IMAGE_CAPTION,
    INFERENCE_APIS,
    INVOKE_BODIES,
    INVOKE_MODEL,
    NO_TEXT_INFERENCE,
    PROMPT_COMPLETION,
    Catalog,
    CatalogDataError,
    Customization,
    EvaluationServing,
    FormatRules,
    HyperparameterSpec,
    Inference,
    Limits,
    Model,
    RecordRange,
    Teacher,
    UnknownModelError,
    UnsupportedCustomizationError,
    UnsupportedRegionError,
)
from bmc.catalog.models.loading import load_catalog
from bmc.catalog.models.lookup import (
    all_models,
    all_teachers,
    arn_region,
    close_matches,
    resolve_model,
    resolve_teacher,
)

__all__ = [
    "CLAUDE_3_HAIKU_MESSAGES",
    "CONTINUED_PRE_TRAINING_FORMAT",
    "CONVERSATION",
    "CONVERSE",
    "CUSTOMIZATION_TYPES",
    "DATA_FORMATS",
    "EVALUATION_MODEL_UNITS",
    "HYPERPARAMETER_TYPES",
    "IMAGE_CAPTION",
    "INFERENCE_APIS",
    "INVOKE_BODIES",
    "INVOKE_MODEL",
    "NO_TEXT_INFERENCE",
    "PROMPT_COMPLETION",
    "Catalog",
    "CatalogDataError",
    "Customization",
    "EvaluationServing",
    "FormatRules",
    "HyperparameterSpec",
    "Inference",
    "Limits",
    "Model",
    "RecordRange",
    "Teacher",
    "UnknownModelError",
    "UnsupportedCustomizationError",
    "UnsupportedRegionError",
    "all_models",
    "all_teachers",
    "arn_region",
    "close_matches",
    "load_catalog",
    "resolve_model",
    "resolve_teacher",
]
