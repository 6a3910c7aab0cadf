"""The run spec: validation with located errors, normalization, defaults, derived names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; a test-only dependency
import pytest
from bmc import runspec
from bmc.catalog.models import UnknownModelError, resolve_model
from bmc.errors import ConfigurationError, RunSpecInvalid
from bmc.findings import Finding
from bmc.tenancy import PLATFORM_OWNER, Owner

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "run-spec.schema.json"
MANIFEST = "s3://datasets-bucket/manifests/support.json"

# Bedrock's name patterns (botocore model), which every derived name must satisfy.
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$")
RESOURCE_NAME = re.compile(r"^([0-9a-zA-Z][_-]?){1,63}$")
TOKEN = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$")
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z-_.]{1,64}$")


def base(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "baseModel": "amazon.nova-micro-v1",
        "customizationType": "FINE_TUNING",
        "trainingData": "s3://datasets-bucket/data/train.jsonl",
    }
    spec.update(overrides)
    return {key: value for key, value in spec.items() if value is not None}


def errors(data: Any, **options: Any) -> list[Finding]:
    return runspec.validate_spec(data, **options).errors


def codes_by_field(findings: list[Finding]) -> dict[str | None, str]:
    return {finding.field: finding.code for finding in findings}


# --- normalization -------------------------------------------------------------------------------


def test_a_minimal_spec_is_normalized() -> None:
    spec = runspec.load_spec(base(), default_run_name="run-1")
    assert spec.base_model == "amazon.nova-micro-v1:0:128k"
    assert spec.run_name == "run-1"
    # Defaults filled and rendered as the strings Bedrock takes.
    assert spec.hyperparameters == {
        "epochCount": "2",
        "learningRate": "1e-05",
        "learningRateWarmupSteps": "10",
    }
    assert spec.serving == runspec.Serving("none", 1, "none", None)
    assert spec.notify_on_success is True
    assert spec.to_dict()["validationData"] == []
    assert "distillation" not in spec.to_dict()


def test_the_normalized_form_validates_unchanged() -> None:
    spec = runspec.load_spec(
        base(
            customizationType="DISTILLATION",
            distillation={"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 800},
            serving={"mode": "on-demand", "ttlHours": 4},
            tags={"team": "ml"},
            notify={"onSuccess": False},
            validation={"allow": ["RESERVED_STRING_MENTION"]},
        ),
        default_run_name="r",
    )
    data = json.loads(json.dumps(spec.to_dict()))
    assert runspec.RunSpec.from_dict(data) == spec
    assert data["validation"] == {"allow": ["RESERVED_STRING_MENTION"]}
    assert data["distillation"] == {"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 800}


def test_run_name_defaults_to_the_model_and_type() -> None:
    assert runspec.load_spec(base()).run_name == "amazon-nova-micro-v1-fine-tuning"


def test_serving_takes_the_deployment_defaults_field_by_field() -> None:
    defaults = {"mode": "provisioned", "modelUnits": 2, "commitment": "none", "ttlHours": 24}
    spec = runspec.load_spec(base(serving={"ttlHours": 6}), default_serving=defaults)
    assert spec.serving == runspec.Serving("provisioned", 2, "none", 6)
    spec = runspec.load_spec(base(serving={"mode": "none"}), default_serving=defaults)
    assert spec.serving.ttl_hours is None  # a default TTL means nothing without serving


def test_idle_action_defaults_to_notify_and_a_delete_default_spares_commitments() -> None:
    assert runspec.load_spec(base(serving={"mode": "provisioned"})).serving.idle_action == "notify"
    defaults = {"mode": "provisioned", "idleAction": "delete"}
    spec = runspec.load_spec(base(), default_serving=defaults)
    assert spec.serving.idle_action == "delete"
    assert (
        runspec.load_spec(base(), default_serving={**defaults, "mode": "none"}).serving.idle_action
        == "notify"
    )
    committed = runspec.load_spec(base(serving={"commitment": "OneMonth"}), default_serving=defaults)
    assert committed.serving.idle_action == "notify"  # a committed throughput cannot be deleted early
    assert runspec.RunSpec.from_dict(spec.to_dict()) == spec


def test_invalid_serving_defaults_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_SERVING"):
        runspec.serving_defaults({"mode": "always"})


def test_the_allow_list_and_region_are_checked() -> None:
    found = errors(base(), allowed_base_models=["amazon.nova-lite-v1"], region="us-west-2")
    assert codes_by_field(found) == {"baseModel": "MODEL_NOT_IN_REGION"}
    assert [f.code for f in found] == ["MODEL_NOT_ALLOWED", "MODEL_NOT_IN_REGION"]
    assert not errors(base(), allowed_base_models=["amazon.nova-micro-v1:0:128k"], region="us-east-1")


# --- errors name the field -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"baseModel": None}, "baseModel", "MISSING_FIELD"),
        ({"baseModel": 42}, "baseModel", "WRONG_TYPE"),
        ({"baseModel": "amazon.nova-mikro-v1"}, "baseModel", "UNKNOWN_MODEL"),
        ({"customizationType": "fine-tuning"}, "customizationType", "INVALID_VALUE"),
        (
            {"customizationType": "CONTINUED_PRE_TRAINING"},
            "customizationType",
            "UNSUPPORTED_CUSTOMIZATION_TYPE",
        ),
        ({"trainingData": "s3://datasets-bucket/my data.jsonl"}, "trainingData", "INVALID_S3_URI"),
        ({"trainingData": "s3://datasets-bucket/a=b.jsonl"}, "trainingData", "INVALID_S3_URI"),
        ({"trainingData": "s3://datasets-bucket/data/"}, "trainingData", "INVALID_S3_URI"),
        ({"trainingData": "/local/train.jsonl"}, "trainingData", "INVALID_S3_URI"),
        ({"validationData": "s3://datasets-bucket/v.jsonl"}, "validationData", "WRONG_TYPE"),
        ({"validationData": ["s3://datasets-bucket/v%20.jsonl"]}, "validationData[0]", "INVALID_S3_URI"),
        (
            {"validationData": [f"s3://datasets-bucket/v{i}.jsonl" for i in range(11)]},
            "validationData",
            "TOO_MANY_VALIDATION_FILES",
        ),
        ({"hyperparameters": {"epochCount": 9}}, "hyperparameters.epochCount", "HYPERPARAMETER_OUT_OF_RANGE"),
        ({"hyperparameters": {"epochs": 2}}, "hyperparameters.epochs", "UNKNOWN_HYPERPARAMETER"),
        ({"hyperparameters": [1]}, "hyperparameters", "WRONG_TYPE"),
        ({"distillation": {"teacherModel": "amazon.nova-pro-v1:0"}}, "distillation", "INVALID_VALUE"),
        ({"serving": {"mode": "always"}}, "serving.mode", "INVALID_VALUE"),
        ({"serving": {"mode": "provisioned", "modelUnits": 0}}, "serving.modelUnits", "INVALID_VALUE"),
        ({"serving": {"mode": "provisioned", "modelUnits": True}}, "serving.modelUnits", "WRONG_TYPE"),
        (
            {"serving": {"mode": "provisioned", "commitment": "OneYear"}},
            "serving.commitment",
            "INVALID_VALUE",
        ),
        (
            {"serving": {"mode": "provisioned", "commitment": "OneMonth", "ttlHours": 4}},
            "serving.ttlHours",
            "COMMITMENT_WITH_TTL",
        ),
        ({"serving": {"mode": "on-demand", "commitment": "OneMonth"}}, "serving.commitment", "INVALID_VALUE"),
        ({"serving": {"mode": "none", "ttlHours": 4}}, "serving.ttlHours", "INVALID_VALUE"),
        ({"serving": {"mode": "provisioned", "ttl": 4}}, "serving.ttl", "UNKNOWN_FIELD"),
        ({"serving": {"mode": "provisioned", "idleAction": "stop"}}, "serving.idleAction", "INVALID_VALUE"),
        ({"serving": {"mode": "none", "idleAction": "delete"}}, "serving.idleAction", "INVALID_VALUE"),
        (
            {"serving": {"mode": "provisioned", "commitment": "SixMonths", "idleAction": "delete"}},
            "serving.idleAction",
            "COMMITMENT_WITH_IDLE_DELETE",
        ),
        ({"tags": {"aws:created-by": "me"}}, 'tags["aws:created-by"]', "RESERVED_TAG"),
        ({"tags": {"bmc:runId": "x"}}, 'tags["bmc:runId"]', "RESERVED_TAG"),
        ({"tags": {"team": 7}}, "tags.team", "WRONG_TYPE"),
        ({"tags": {"team": "a" * 257}}, "tags.team", "INVALID_TAG"),
        ({"tags": {"k" * 129: "v"}}, f"tags.{'k' * 129}", "INVALID_TAG"),
        ({"tags": {"team": "r&d"}}, "tags.team", "INVALID_TAG"),
        ({"tags": {f"t{i}": "v" for i in range(49)}}, "tags", "TOO_MANY_TAGS"),
        ({"notify": {"onSuccess": "no"}}, "notify.onSuccess", "WRONG_TYPE"),
        ({"validation": {"allow": ["INVALID_JSON"]}}, "validation.allow[0]", "INVALID_VALUE"),
        ({"validation": {"allow": ["RESERVED_STRNG"]}}, "validation.allow[0]", "INVALID_VALUE"),
        ({"validation": {"allow": "RESERVED_STRING"}}, "validation.allow", "WRONG_TYPE"),
        ({"validation": {"alow": []}}, "validation.alow", "UNKNOWN_FIELD"),
        ({"runName": "!!!"}, "runName", "INVALID_VALUE"),
    ],
)
def test_each_problem_names_its_field(overrides: dict[str, Any], field: str, code: str) -> None:
    found = errors(base(**overrides), source=runspec.EXECUTION_INPUT)
    assert (field, code) in [(f.field, f.code) for f in found], found
    assert all(f.file == runspec.EXECUTION_INPUT for f in found)


def test_unknown_fields_are_rejected_with_a_suggestion() -> None:
    found = errors(base(hyperparameter={"epochCount": 2}, notify={"onSucess": False}))
    messages = {f.field: f.message for f in found if f.code == "UNKNOWN_FIELD"}
    assert "did you mean 'hyperparameters'?" in messages["hyperparameter"]
    assert "did you mean 'onSuccess'?" in messages["notify.onSucess"]


def test_distillation_needs_a_teacher_of_this_student() -> None:
    spec = base(customizationType="DISTILLATION")
    assert codes_by_field(errors(spec)) == {"distillation": "MISSING_FIELD"}
    found = errors({**spec, "distillation": {"teacherModel": "meta.llama3-1-405b-instruct-v1:0"}})
    assert codes_by_field(found) == {"distillation.teacherModel": "TEACHER_NOT_SUPPORTED"}
    found = errors({**spec, "distillation": {"teacherModel": "amazon.nova-pr-v1:0"}})
    assert codes_by_field(found) == {"distillation.teacherModel": "UNKNOWN_TEACHER"}
    assert "did you mean" in found[0].message
    found = errors({**spec, "distillation": {"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 0}})
    assert codes_by_field(found) == {"distillation.maxResponseLength": "INVALID_VALUE"}


def test_on_demand_only_where_the_catalog_allows_it() -> None:
    llama = base(baseModel="meta.llama3-2-1b-instruct-v1", serving={"mode": "on-demand"})
    assert codes_by_field(errors(llama)) == {"serving.mode": "SERVING_NOT_SUPPORTED"}
    # A default the model cannot use is reported with a hint to override it.
    found = errors(base(baseModel="meta.llama3-2-1b-instruct-v1"), default_serving={"mode": "on-demand"})
    assert "deployment's default" in found[0].message
    assert not errors(base(serving={"mode": "on-demand"}))


def test_validation_data_only_where_the_model_takes_it() -> None:
    distillation = base(
        customizationType="DISTILLATION",
        distillation={"teacherModel": "amazon.nova-pro-v1:0"},
        validationData=["s3://datasets-bucket/v.jsonl"],
    )
    assert codes_by_field(errors(distillation)) == {"validationData": "VALIDATION_DATA_NOT_ALLOWED"}


def test_a_spec_must_be_an_object() -> None:
    found = errors(["not", "a", "spec"])
    assert [(f.field, f.code) for f in found] == [(None, "NOT_AN_OBJECT")]


# --- lines when parsed from text -----------------------------------------------------------------


MANIFEST_TEXT = """{
  "baseModel": "amazon.nova-micro-v1",
  "customizationType": "FINE_TUNING",
  "trainingData": "s3://datasets-bucket/data/train.jsonl",
  "serving": {
    "mode": "provisioned",
    "modelUnits": 0
  },
  "hyperparameters": {"epochCount": 9},
  "tags": {"aws:x": "y"},
  "colour": "blue"
}
"""


def test_findings_from_text_carry_the_line_of_their_field() -> None:
    found = runspec.parse_spec_text(MANIFEST_TEXT, source=MANIFEST).errors
    located = {(f.field, f.line) for f in found}
    assert located == {
        ("serving.modelUnits", 7),
        ("hyperparameters.epochCount", 9),
        ('tags["aws:x"]', 10),
        ("colour", 11),
    }
    assert all(f.file == MANIFEST for f in found)


def test_a_missing_nested_field_points_at_its_parent() -> None:
    text = '{\n "baseModel": "amazon.nova-micro-v1",\n "customizationType": "DISTILLATION",\n' + (
        ' "trainingData": "s3://datasets-bucket/p.jsonl",\n "distillation": {\n  "maxResponseLength": 10\n }\n}'
    )
    found = runspec.parse_spec_text(text, source=MANIFEST).errors
    assert [(f.field, f.line, f.code) for f in found] == [("distillation.teacherModel", 5, "MISSING_FIELD")]


def test_json_syntax_errors_give_their_line() -> None:
    text = '{\n  "baseModel": "amazon.nova-micro-v1",\n  "customizationType": FINE_TUNING\n}'
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_spec_text(text, source=MANIFEST)
    [finding] = raised.value.findings
    assert (finding.line, finding.code) == (3, "INVALID_JSON")
    assert f"1 problem in {MANIFEST}: line 3 INVALID_JSON" in str(raised.value)


def test_duplicate_keys_are_reported() -> None:
    text = '{"baseModel": "amazon.nova-micro-v1",\n"customizationType": "FINE_TUNING",\n' + (
        '"trainingData": "s3://datasets-bucket/t.jsonl",\n"baseModel": "amazon.nova-lite-v1"}'
    )
    found = runspec.parse_spec_text(text, source=MANIFEST).errors
    assert [(f.field, f.line, f.code) for f in found] == [("baseModel", 4, "DUPLICATE_KEY")]


def test_bytes_with_a_byte_order_mark_are_read() -> None:
    text = ("\ufeff" + json.dumps(base())).encode("utf-8")
    assert runspec.load_spec_text(text, source=MANIFEST).base_model == "amazon.nova-micro-v1:0:128k"
    found = runspec.parse_spec_text(b"\xff\xfe{}", source=MANIFEST).errors
    assert found[0].code == "INVALID_UTF8"


def test_the_error_message_lists_the_first_problems() -> None:
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_spec_text(MANIFEST_TEXT, source=MANIFEST)
    message = str(raised.value)
    assert message.startswith(f"4 problems in {MANIFEST}: line 7 serving.modelUnits INVALID_VALUE")
    assert len(raised.value.findings) == 4


# --- the JSON Schema ---------------------------------------------------------------------------


def test_the_schema_examples_are_valid_for_the_schema_and_the_validator() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert len(schema["examples"]) >= 5
    for example in schema["examples"]:
        assert not list(validator.iter_errors(example)), example
        assert runspec.validate_spec(example).ok, runspec.validate_spec(example).errors


@pytest.mark.parametrize(
    "broken",
    [
        {"customizationType": "DISTILLATION"},
        {"serving": {"mode": "provisioned", "commitment": "OneMonth", "ttlHours": 2}},
        {"tags": {"aws:owner": "x"}},
        {"trainingData": "s3://datasets-bucket/data/"},
        {"validation": {"allow": ["INVALID_JSON"]}},
        {"colour": "blue"},
    ],
)
def test_the_schema_refuses_what_the_validator_refuses(broken: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    spec = {**base(), **broken}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(spec))
    assert runspec.validate_spec(spec).errors


def test_the_examples_of_the_reference_validate() -> None:
    text = (SCHEMA_PATH.parent / "run-spec.md").read_text(encoding="utf-8")
    blocks = [block for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL) if block.startswith("{")]
    assert len(blocks) >= 7
    for block in blocks:
        check = runspec.parse_spec_text(block, source="run-spec.md")
        if '"colour"' in block:  # the refused example
            assert [f.line for f in check.errors] == [6, 7, 8]
        elif '"run:' in block:  # a previous run's model: only the deployment's registry resolves it
            assert [(f.line, f.code) for f in check.errors] == [(3, "PARENT_NOT_RESOLVED")]
        else:
            assert check.ok, (block, check.errors)


# --- inputs, run ids and names -------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_execution_inputs_are_told_apart() -> None:
    console = runspec.classify_input(base(), "run-1")
    assert (console.source, console.location, console.default_run_name) == (
        {"type": "console"},
        "execution input",
        "run-1",
    )
    manifest = {
        "manifest": {
            "bucket": "datasets-bucket",
            "key": "manifests/Support Bot.json",
            "versionId": "v1",
            "etag": "e",
        }
    }
    s3 = runspec.classify_input(manifest, "m-x")
    assert s3.manifest == runspec.ManifestRef("datasets-bucket", "manifests/Support Bot.json", "v1", "e")
    assert s3.location == "s3://datasets-bucket/manifests/Support Bot.json"
    assert s3.default_run_name == "support-bot"
    assert s3.source["type"] == "s3"
    envelope = {"spec": base(), "source": {"type": "api", "requestId": "r-1"}}
    # Shaped like the API's envelope, but no API record is bound to the execution: console input.
    forged = runspec.classify_input(envelope, "model-1")
    assert forged.source == {"type": "console"} and forged.data == envelope
    assert forged.owner == PLATFORM_OWNER
    recorded = {"source": {"type": "api", "requestId": "r-0"}, "spec": base(), "owner": {"team": "team:a"}}
    api = runspec.classify_input(envelope, "model-1", api_record=recorded)
    assert api.source == {"type": "api", "requestId": "r-0"} and api.data == base()  # the record's
    assert api.owner == Owner("team:a")
    incomplete = runspec.classify_input({"manifest": {"bucket": "b"}}, "m-x")
    assert [finding.code for finding in incomplete.problems] == ["INVALID_MANIFEST_LOCATION"]


def test_manifest_run_ids_are_deterministic_and_valid_execution_names() -> None:
    first = runspec.manifest_run_id("datasets-bucket", "manifests/Nova Micro: support v2.json", "v1")
    assert first == runspec.manifest_run_id("datasets-bucket", "manifests/Nova Micro: support v2.json", "v1")
    assert first != runspec.manifest_run_id("datasets-bucket", "manifests/Nova Micro: support v2.json", "v2")
    assert re.fullmatch(r"m-nova-micro-support-v2-[0-9a-f]{16}", first)
    assert runspec.run_id_problem(first) is None
    assert runspec.manifest_run_id("b", "manifests/___.json", None).startswith("m-manifest-")


@pytest.mark.parametrize("run_id", ["run 1", "run/1", "-run", "x" * 81, "a+b", "run-1\n"])
def test_run_ids_that_cannot_name_resources_are_refused(run_id: str) -> None:
    assert runspec.run_id_problem(run_id)


@pytest.mark.parametrize("prefix", ["bmc", "abcdefghijklmnopqrst"])
@pytest.mark.parametrize("run_name", ["support bot", "Ünïcödé -- name!!", "x" * 64, "___"])
def test_derived_names_satisfy_bedrock_patterns(prefix: str, run_name: str) -> None:
    names = runspec.derive_names(prefix, "8c5c1c3e-4f7a-4b8e-9d0a-3f2b1c0d9e8f", run_name)
    data = names.to_dict()
    assert JOB_NAME.fullmatch(data["jobName"]) and len(data["jobName"]) <= 63
    for key in ("customModelName", "provisionedModelName", "deploymentName"):
        assert RESOURCE_NAME.fullmatch(data[key]) and len(data[key]) <= 63, data[key]
    assert TOKEN.fullmatch(data["clientRequestToken"])
    assert SCHEDULE_NAME.fullmatch(data["scheduleName"])
    assert runspec.RunNames.from_dict(data) == names


def test_names_are_stable_per_run_and_differ_between_runs() -> None:
    names = runspec.derive_names("bmc", "run-1", "support bot")
    assert names == runspec.derive_names("bmc", "run-1", "support bot")
    assert names.job_name.startswith("bmc-support-bot-") and names.job_name.endswith("-job")
    assert names != runspec.derive_names("bmc", "run-2", "support bot")


def test_locate_fields_maps_every_path() -> None:
    lines, duplicates = runspec.locate_fields('{\n"a": {\n "b c": [1,\n  {"d": 2}]\n}\n}')
    assert lines == {"a": 2, 'a["b c"]': 3, 'a["b c"][0]': 3, 'a["b c"][1]': 4, 'a["b c"][1].d': 4}
    assert duplicates == []


def test_data_must_live_in_the_datasets_bucket_the_service_role_reads() -> None:
    text = json.dumps(
        base(
            trainingData="s3://somewhere-else/train.jsonl",
            validationData=["s3://datasets-bucket/data/validation.jsonl", "s3://other/validation.jsonl"],
        ),
        indent=2,
    )
    found = runspec.parse_spec_text(text, source=MANIFEST, datasets_bucket="datasets-bucket").errors
    assert [(f.field, f.code) for f in found] == [
        ("trainingData", runspec.DATA_OUTSIDE_DATASETS_BUCKET),
        ("validationData[1]", runspec.DATA_OUTSIDE_DATASETS_BUCKET),
    ]
    assert (
        found[0].line == text.splitlines().index('  "trainingData": "s3://somewhere-else/train.jsonl",') + 1
    )
    assert "the only bucket the Bedrock service role may read" in found[0].message
    assert runspec.validate_spec(base(), datasets_bucket="datasets-bucket").errors == []


# --- bounds, data scope and model ARNs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        (
            {**base(), "serving": {"modelUnits": 10**10_000 // 10**5_000}},
            "serving.modelUnits",
            "INVALID_VALUE",
        ),
        ({**base(), "tags": {"deep": _nested(40)}}, None, "INVALID_JSON"),
    ],
)
def test_out_of_bounds_values_are_located_findings(
    data: dict[str, Any], field: str | None, code: str
) -> None:
    check = runspec.validate_spec(data)
    assert check.spec is None
    [finding] = check.errors
    assert finding.code == code
    assert field is None or finding.field == field
    assert len(finding.message) < 200


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("s3://datasets-bucket/manifests/support/bot.json", "manifests/"),
        ("s3://datasets-bucket/data/../other/train.jsonl", "'..'"),
        ("s3://datasets-bucket/data/./train.jsonl", "'.'"),
        ("s3://datasets-bucket/other/train.jsonl", "outside the data prefixes"),
    ],
)
def test_data_stays_in_its_owners_prefixes(uri: str, says: str) -> None:
    check = runspec.validate_spec(
        base(trainingData=uri), datasets_bucket="datasets-bucket", data_prefixes=("data/",)
    )
    assert [f.field for f in check.errors] == ["trainingData"]
    assert says in check.errors[0].message


def test_platform_runs_may_use_the_whole_bucket_but_manifests() -> None:
    assert runspec.validate_spec(
        base(trainingData="s3://datasets-bucket/any/train.jsonl"), datasets_bucket="datasets-bucket"
    ).spec
    check = runspec.validate_spec(
        base(trainingData="s3://datasets-bucket/manifests/x.jsonl"), datasets_bucket="datasets-bucket"
    )
    assert [f.code for f in check.errors] == ["DATA_NOT_IN_TEAM_PREFIXES"]


@pytest.mark.parametrize(
    "model_id",
    [
        "arn:aws:bedrock:mars-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "arn:aws:bedrock:::foundation-model/amazon.nova-micro-v1:0:128k",
    ],
)
def test_a_model_arn_of_an_unknown_region_is_refused_not_mapped(model_id: str) -> None:
    with pytest.raises(UnknownModelError, match="region"):
        resolve_model(model_id)
    check = runspec.validate_spec(base(baseModel=model_id), region="us-east-1")
    assert [f.code for f in check.errors] == ["UNKNOWN_MODEL"]


def test_a_model_arn_of_another_region_is_refused_for_this_deployment() -> None:
    arn = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k"
    assert resolve_model(arn).customization_id == "amazon.nova-micro-v1:0:128k"
    check = runspec.validate_spec(base(baseModel=arn), region="us-east-1")
    assert [(f.field, f.code) for f in check.errors] == [("baseModel", "MODEL_NOT_IN_REGION")]
    assert "us-west-2" in check.errors[0].message
