"""The run spec (manifest): what to customize and how to serve it.

docs/run-spec.md is the reference and docs/run-spec.schema.json the JSON Schema. A spec
arrives as a manifest object in S3, as the console's execution input or inside the API's
envelope. The package splits along its seams:

- ``model``: the normalized spec (``RunSpec``) and the constants the checks share;
- ``checks``: checking a spec given as data, every problem a located ``Finding``;
- ``parsing``: reading a spec from JSON text, with the line of every field;
- ``manifest``: telling the three execution inputs apart and reading S3 manifests;
- ``names``: run ids and the names of everything a run creates.

This module re-exports the public surface, so callers import from ``bmc.runspec``.
"""

from bmc.runspec.checks import (
    allowed_customization_ids,
    describe_findings,
    load_spec,
    serving_defaults,
    validate_spec,
)
from bmc.runspec.manifest import ManifestRef, RunInput, classify_input, load_run_spec, read_manifest_from_s3
from bmc.runspec.model import (
    DATA_OUTSIDE_DATASETS_BUCKET,
    EXECUTION_INPUT,
    INVALID_RUN_ID,
    MAX_MODEL_UNITS,
    WORKFLOW_TAG_KEYS,
    Distillation,
    RunSpec,
    Serving,
    SpecCheck,
)
from bmc.runspec.names import RunNames, derive_names, manifest_run_id, run_id_problem, slug
from bmc.runspec.parsing import load_spec_text, locate_fields, parse_spec_text

__all__ = [
    "DATA_OUTSIDE_DATASETS_BUCKET",
    "EXECUTION_INPUT",
    "INVALID_RUN_ID",
    "MAX_MODEL_UNITS",
    "WORKFLOW_TAG_KEYS",
    "Distillation",
    "ManifestRef",
    "RunInput",
    "RunNames",
    "RunSpec",
    "Serving",
    "SpecCheck",
    "allowed_customization_ids",
    "classify_input",
    "derive_names",
    "describe_findings",
    "load_run_spec",
    "load_spec",
    "load_spec_text",
    "locate_fields",
    "manifest_run_id",
    "parse_spec_text",
    "read_manifest_from_s3",
    "run_id_problem",
    "serving_defaults",
    "slug",
    "validate_spec",
]
