"""The workflow stack: state machine shape, retries and catches, rules, functions, least privilege."""

from __future__ import annotations

import itertools
import json
import subprocess
from typing import Any

import pytest
from bmc.catalog.models import all_models

from localcloud.template import Template, state_machine_definition
from stacks.application import REPO_ROOT
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "bmc-workflow",
}
EVALUATION_PATH = [
    "PrepareEvaluation",
    "EvaluateRecords",
    "SummarizeEvaluation",
    "ConcludeEvaluation",
    "WriteReport",
]
MAIN_PATH = [
    "PrepareRun",
    "ValidateDatasets",
    "Preflight",
    "SnapshotDatasets",
    "SubmitJob",
    "AwaitJob",
    "CollectMetrics",
    "ServingMode",
]


def placeholder(logical_id: str, attribute: str) -> str:
    """A well-formed ARN for any reference: enough for linting the definition."""
    return f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}"


class ImportedNames(dict[str, str]):
    """Any value the workflow imports from the foundation stack: a bucket name will do."""

    def __missing__(self, name: str) -> str:
        return "imported-bucket"


@pytest.fixture(scope="module")
def workflow(app_default: Synthesized) -> Template:
    return Template(stack_name="bmc-workflow", body=app_default.templates["bmc-workflow"])


@pytest.fixture(scope="module")
def definition(workflow: Template) -> dict[str, Any]:
    return state_machine_definition(workflow, placeholder, PSEUDO, ImportedNames())


def test_main_path_in_order(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == "PrepareRun"
    for current, following in itertools.pairwise(MAIN_PATH):
        assert states[current]["Next"] == following
    choice = states["ServingMode"]
    # A run that serves nothing is still served, for its evaluation only, when it has one.
    assert choice["Choices"][0] == {
        "And": [
            {"Variable": "$.spec.serving.mode", "StringEquals": "none"},
            {"Not": {"Variable": "$.spec.evaluation", "IsPresent": True}},
        ],
        "Next": "WriteReport",
    }
    assert choice["Default"] == "StartServing"
    assert states["StartServing"]["Next"] == "WaitForServing"
    assert states["WaitForServing"]["Seconds"] == 60
    assert states["ServingReady"]["Default"] == "WaitForServing"
    assert states["ServingReady"]["Choices"][0]["Next"] == "EvaluationConfigured"
    assert states["EvaluationConfigured"]["Choices"][0] == {
        "Variable": "$.spec.evaluation",
        "IsPresent": True,
        "Next": "PrepareEvaluation",
    }
    assert states["EvaluationConfigured"]["Default"] == "WriteReport"
    for current, following in itertools.pairwise(EVALUATION_PATH):
        assert states[current]["Next"] == following
    assert states["WriteReport"]["Next"] == "Notify"
    assert states["Notify"]["Next"] == "RunSucceeded"


def test_the_evaluation_fans_out_on_a_distributed_map(definition: dict[str, Any]) -> None:
    state = definition["States"]["EvaluateRecords"]
    assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert state["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "imported-bucket", "Key.$": "$.evaluation.itemsKey"},
    }
    assert state["ItemBatcher"] == {
        "MaxItemsPerBatchPath": "$.evaluation.recordsPerBatch",
        "MaxInputBytesPerBatch": 192 * 1024,
        "BatchInput": {
            f"{key}.$": f"$.evaluation.batch.{key}"
            for key in ("runId", "custom", "base", "inference", "systemPrompt", "judge")
        },
    }
    assert state["MaxConcurrency"] == 10  # cdk.json: evaluation.maxConcurrency
    assert state["ToleratedFailurePercentagePath"] == "$.evaluation.toleratedFailurePercentage"
    assert state["ResultWriter"]["Parameters"] == {
        "Bucket": "imported-bucket",
        "Prefix.$": "States.Format('evaluations/{}/results', $.runId)",
    }
    assert state["ResultPath"] == "$.evaluationRun"
    assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Cleanup"}]
    (child,) = state["ItemProcessor"]["States"].values()
    assert child["Resource"].endswith("evaluatebatchFunction1C3DA897") and "Parameters" not in child
    assert any("Lambda.TooManyRequestsException" in retry["ErrorEquals"] for retry in child["Retry"])


def test_every_working_state_catches_into_cleanup(definition: dict[str, Any]) -> None:
    states = definition["States"]
    tasks = [name for name, state in states.items() if state["Type"] == "Task"]
    assert set(tasks) == {
        *MAIN_PATH[:-1],
        "StartServing",
        "CheckServing",
        "PrepareEvaluation",
        "SummarizeEvaluation",
        "ConcludeEvaluation",
        "Notify",
        "Cleanup",
        "NotifyFailure",
        "WriteReport",
        "WriteFailureReport",
    }
    for name in set(tasks) - {"Cleanup", "NotifyFailure", "WriteReport", "WriteFailureReport"}:
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Cleanup"}
        ], name
    assert states["Cleanup"]["Next"] == "WriteFailureReport"
    assert states["WriteFailureReport"]["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Next"] == "RunFailed"
    assert states["RunFailed"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}


def test_the_report_never_decides_a_run_outcome(definition: dict[str, Any]) -> None:
    """Whatever happens to the report (even a function that crashes), the run goes on as it was."""
    states = definition["States"]
    for name, following in (("WriteReport", "Notify"), ("WriteFailureReport", "NotifyFailure")):
        assert states[name]["ResultPath"] == "$.report"
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.report", "Next": following}
        ]
        assert states[name]["Resource"] == states["WriteReport"]["Resource"]


def test_every_task_passes_state_and_execution(definition: dict[str, Any]) -> None:
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        parameters = state["Parameters"]
        if name == "AwaitJob":
            parameters = parameters["Payload"]
            assert parameters["taskToken.$"] == "$$.Task.Token"
        if name == "PrepareRun":
            # The input as text: PrepareRun parses it with bounds (numbers, nesting) itself.
            assert parameters["input.$"] == "States.JsonToString($)" and "state.$" not in parameters
        elif name == "Cleanup":
            # Only the error: cleanup acts on the registry's record, never on the state's claims.
            assert parameters["state"] == {"error.$": "$.error"}
        elif name in ("WriteFailureReport", "NotifyFailure"):
            assert parameters["state"] == {"error.$": "$.error", "cleanup.$": "$.cleanup"}
        else:
            assert parameters["state.$"] == "$"
        assert parameters["execution"] == {
            "arn.$": "$$.Execution.Id",
            "name.$": "$$.Execution.Name",
            "startTime.$": "$$.Execution.StartTime",
        }


def test_submit_retries_throttling_iam_propagation_and_queues_on_quota(definition: dict[str, Any]) -> None:
    retries = {tuple(r["ErrorEquals"]): r for r in definition["States"]["SubmitJob"]["Retry"]}
    assert retries[("BedrockThrottled", "BedrockUnavailable")]["BackoffRate"] == 2
    assert retries[("BedrockRoleNotReady",)]["IntervalSeconds"] == 10
    quota = retries[("BedrockQuotaExceeded",)]
    assert quota["IntervalSeconds"] == 1800 and quota["BackoffRate"] == 1
    assert quota["MaxAttempts"] == 48  # queueHours 24, every 30 minutes


def test_snapshots_are_taken_after_preflight_and_retried_on_s3_outages(definition: dict[str, Any]) -> None:
    state = definition["States"]["SnapshotDatasets"]
    assert state["ResultPath"] == "$.snapshots"
    retries = {tuple(r["ErrorEquals"]): r for r in state["Retry"]}
    assert retries[("SnapshotUnavailable",)]["MaxAttempts"] == 4


def test_only_the_named_snapshot_role_writes_snapshots(workflow: Template) -> None:
    functions = workflow.of_type("AWS::Lambda::Function")
    (snapshot,) = [
        f for f in functions.values() if f["Properties"]["Handler"].endswith("snapshot_datasets.handler")
    ]
    role = workflow.resources[snapshot["Properties"]["Role"]["Fn::GetAtt"][0]]
    assert json.dumps(role["Properties"]["RoleName"]) == json.dumps(
        {"Fn::Join": ["", ["bmc-", {"Ref": "AWS::Region"}, "-snapshot-writer"]]}
    )
    writers = []
    for policy in workflow.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "s3:PutObject" in actions and "snapshots/*" in json.dumps(statement["Resource"]):
                writers += [r["Ref"] for r in policy["Properties"]["Roles"]]
    assert writers == [snapshot["Properties"]["Role"]["Fn::GetAtt"][0]]


def test_the_reconciler_checks_base_model_lifecycles_daily(workflow: Template) -> None:
    (rule,) = [
        r
        for r in workflow.of_type("AWS::Events::Rule").values()
        if "LEGACY" in r["Properties"]["Description"]
    ]
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 day)"
    (target,) = rule["Properties"]["Targets"]
    assert json.loads(target["Input"]) == {"check": "base-model-lifecycle"}


def test_await_job_waits_for_a_task_token_with_a_timeout(definition: dict[str, Any]) -> None:
    state = definition["States"]["AwaitJob"]
    assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert state["TimeoutSeconds"] == 168 * 3600
    assert state["ResultPath"] == "$.jobResult"


# statelint 1.30.0, the latest release, predates the Distributed Map: it refuses these fields,
# which test_the_evaluation_fans_out_on_a_distributed_map checks instead.
DISTRIBUTED_MAP_FIELDS = (
    "ItemReader",
    "ItemBatcher",
    "ToleratedFailurePercentagePath",
    "Label",
    "ResultWriter",
)


def without_distributed_map_fields(definition: dict[str, Any]) -> dict[str, Any]:
    linted: dict[str, Any] = json.loads(json.dumps(definition))
    for state in linted["States"].values():
        if state["Type"] == "Map" and state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED":
            for name in DISTRIBUTED_MAP_FIELDS:
                del state[name]
    return linted


def test_definition_passes_statelint(
    definition: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("asl") / "definition.asl.json"
    path.write_text(json.dumps(without_distributed_map_fields(definition)))
    result = subprocess.run(
        [str(REPO_ROOT / "node_modules" / ".bin" / "statelint"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_state_machine_is_named_logged_traced_and_bounded(workflow: Template) -> None:
    _, machine = workflow.one_of_type("AWS::StepFunctions::StateMachine")
    properties = machine["Properties"]
    assert properties["StateMachineName"] == "bmc-customization"
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True
    log_group_id = properties["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"][
        "LogGroupArn"
    ]["Fn::GetAtt"][0]
    assert "KmsKeyId" in workflow.resources[log_group_id]["Properties"]


def _rule(workflow: Template, prefix: str) -> dict[str, Any]:
    matches = [r for lid, r in workflow.of_type("AWS::Events::Rule").items() if lid.startswith(prefix)]
    assert len(matches) == 1
    properties: dict[str, Any] = matches[0]["Properties"]
    return properties


def test_job_state_rule_matches_terminal_job_status_of_this_deployment(workflow: Template) -> None:
    pattern = _rule(workflow, "TriggersJobStateChanged")["EventPattern"]
    assert pattern["source"] == ["aws.bedrock"]
    assert pattern["detail-type"] == ["Model Customization Job State Change"]
    assert pattern["detail"] == {
        "jobStatus": ["Completed", "Failed", "Stopped"],
        "jobName": [{"prefix": "bmc-"}],
    }


def test_manifest_rule_matches_json_under_manifests_in_the_datasets_bucket(workflow: Template) -> None:
    pattern = _rule(workflow, "TriggersManifestCreated")["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == {"key": [{"wildcard": "manifests/*.json"}]}
    assert "Fn::ImportValue" in json.dumps(pattern["detail"]["bucket"]["name"])


def test_unfinished_executions_are_cleaned_up(workflow: Template) -> None:
    pattern = _rule(workflow, "TriggersExecutionUnfinished")["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail"]["status"] == ["ABORTED", "TIMED_OUT"]
    assert "stateMachine:bmc-customization" in json.dumps(pattern["detail"]["stateMachineArn"])


def test_rule_targets_retry_and_keep_undelivered_events(workflow: Template) -> None:
    rules = workflow.of_type("AWS::Events::Rule")
    # Manifests, job state, unfinished executions, reconciler, sweeper, base model lifecycle.
    assert len(rules) == 6
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
        assert "DeadLetterConfig" in target
    reconcile = _rule(workflow, "TriggersReconcileSchedule")
    assert reconcile["ScheduleExpression"] == "rate(15 minutes)"


def test_functions_run_arm64_current_python_with_powertools_tracing_and_encryption(
    workflow: Template,
) -> None:
    functions = workflow.of_type("AWS::Lambda::Function")
    assert len(functions) == 20
    for logical_id, function in functions.items():
        properties = function["Properties"]
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["Runtime"] == "python3.14"
        assert properties["Handler"].startswith("bmc.handlers.")
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert "KmsKeyArn" in properties
        assert "Ref" in properties["Layers"][0]
    parameter = next(iter(workflow.body["Parameters"].values()))
    assert parameter["Default"] == "/aws/service/powertools/python/arm64/python3.14/3.37.0"


def test_every_function_has_its_own_role(workflow: Template) -> None:
    roles = [
        f["Properties"]["Role"]["Fn::GetAtt"][0] for f in workflow.of_type("AWS::Lambda::Function").values()
    ]
    assert len(set(roles)) == len(roles)


REGISTRY = {"dynamodb:GetItem", "dynamodb:UpdateItem"}
QUERY = {"dynamodb:Query"}
# Registry, S3, SNS and SQS encrypt with data keys: nothing calls kms:Encrypt itself.
DATA_KEY = {"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}
LOGS_AND_TRACES = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
DELETE_SERVING = {"bedrock:DeleteProvisionedModelThroughput", "bedrock:DeleteCustomModelDeployment"}
STOP_AND_DELETE = {"bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"} | DELETE_SERVING
TASK_RESPONSE = {"states:SendTaskSuccess", "states:SendTaskFailure"}
# Asynchronously invoked functions send failed invocations to their on-failure destination.
FAILED_INVOCATIONS = {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}
READ_DATASETS = {"s3:GetObject", "s3:ListBucket"}
EXPECTED_ACTIONS = {
    "prepare_run": REGISTRY | QUERY | DATA_KEY | READ_DATASETS | {"s3:GetObjectVersion"},
    "validate_datasets": REGISTRY | DATA_KEY | READ_DATASETS | {"s3:PutObject"},
    "preflight": REGISTRY | DATA_KEY | {"bedrock:GetFoundationModel", "bedrock:GetInferenceProfile"},
    "snapshot_datasets": REGISTRY
    | DATA_KEY
    | READ_DATASETS
    | {"s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload"},
    "submit_job": REGISTRY
    | DATA_KEY
    | {
        "bedrock:CreateModelCustomizationJob",
        "bedrock:TagResource",
        "bedrock:GetModelCustomizationJob",
        "bedrock:ListTagsForResource",
        "kms:CreateGrant",
        "iam:PassRole",
    },
    "await_job": REGISTRY | DATA_KEY | TASK_RESPONSE | {"bedrock:GetModelCustomizationJob"},
    "job_events": REGISTRY
    | QUERY
    | DATA_KEY
    | TASK_RESPONSE
    | FAILED_INVOCATIONS
    | {"bedrock:GetModelCustomizationJob"},
    "reconcile": REGISTRY
    | QUERY
    | DATA_KEY
    | TASK_RESPONSE
    | FAILED_INVOCATIONS
    | {"bedrock:GetModelCustomizationJob", "bedrock:GetFoundationModel", "sns:Publish"},
    "collect_metrics": REGISTRY
    | DATA_KEY
    | {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "cloudwatch:PutMetricData",
        "bedrock:GetModelCustomizationJob",
    },
    "serve": REGISTRY
    | DATA_KEY
    | {
        "bedrock:CreateProvisionedModelThroughput",
        "bedrock:GetProvisionedModelThroughput",
        "bedrock:CreateCustomModelDeployment",
        "bedrock:GetCustomModelDeployment",
        "bedrock:TagResource",
        "kms:CreateGrant",
        "scheduler:CreateSchedule",
        "iam:PassRole",
    },
    "expire_serving": REGISTRY | DATA_KEY | DELETE_SERVING | FAILED_INVOCATIONS,
    "cleanup": REGISTRY | DATA_KEY | STOP_AND_DELETE | {"scheduler:DeleteSchedule"},
    "execution_ended": REGISTRY
    | DATA_KEY
    | STOP_AND_DELETE
    | FAILED_INVOCATIONS
    | {"scheduler:DeleteSchedule", "sns:Publish", "s3:GetObject", "s3:ListBucket", "s3:PutObject"},
    "notify": REGISTRY | DATA_KEY | {"sns:Publish"},
    "write_report": REGISTRY | DATA_KEY | {"s3:GetObject", "s3:ListBucket", "s3:PutObject"},
    "start_run": FAILED_INVOCATIONS | {"states:StartExecution"},
    "evaluation_stage": REGISTRY | DATA_KEY | DELETE_SERVING | {"scheduler:DeleteSchedule"},
    "evaluate_batch": DATA_KEY | {"bedrock:InvokeModel", "s3:PutObject"},
    "summarize_evaluation": REGISTRY
    | DATA_KEY
    | {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "cloudwatch:PutMetricData"},
    "sweep": REGISTRY
    | QUERY
    | DATA_KEY
    | DELETE_SERVING
    | FAILED_INVOCATIONS
    | {
        "bedrock:ListProvisionedModelThroughputs",
        "bedrock:ListCustomModelDeployments",
        "bedrock:ListModelCustomizationJobs",
        "bedrock:ListCustomModels",
        "bedrock:ListTagsForResource",
        "bedrock:StopModelCustomizationJob",
        "states:DescribeExecution",
        "cloudwatch:ListMetrics",
        "cloudwatch:GetMetricData",
        "sns:Publish",
    },
}
ASYNCHRONOUS = {"job_events", "reconcile", "expire_serving", "execution_ended", "start_run", "sweep"}


def _role_actions(workflow: Template) -> dict[str, set[str]]:
    by_role: dict[str, set[str]] = {}
    for policy in workflow.of_type("AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                by_role.setdefault(role["Ref"], set()).update(
                    actions if isinstance(actions, list) else [actions]
                )
    return by_role


def test_each_function_role_allows_exactly_the_calls_it_makes(workflow: Template) -> None:
    by_role = _role_actions(workflow)
    functions = workflow.of_type("AWS::Lambda::Function")
    seen = set()
    for function in functions.values():
        name = function["Properties"]["Handler"].split(".")[2]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        assert by_role[role] - LOGS_AND_TRACES == EXPECTED_ACTIONS[name], name
        seen.add(name)
    assert seen == set(EXPECTED_ACTIONS)


def test_the_report_reads_and_writes_only_the_reports_prefix(workflow: Template) -> None:
    [(_, function)] = [
        item
        for item in workflow.of_type("AWS::Lambda::Function").items()
        if item[1]["Properties"]["Handler"] == "bmc.handlers.write_report.handler"
    ]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in workflow.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:" in json.dumps(statement["Action"])
    ]
    assert statements
    for statement in statements:
        resource = json.dumps(statement["Resource"])
        assert "ArtifactsBucket" in resource, resource
        if statement["Action"] == "s3:ListBucket":  # so a missing document is a 404, not a 403
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["reports/*"]}}
        else:
            assert resource.endswith('"/reports/*"]]}'), resource


def test_pass_role_targets_only_the_service_role_and_the_scheduler_role(workflow: Template) -> None:
    found = []
    for policy in workflow.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == "iam:PassRole":
                found.append(
                    (
                        json.dumps(statement["Resource"]),
                        statement["Condition"]["StringEquals"]["iam:PassedToService"],
                    )
                )
    services = sorted(service for _, service in found)
    assert services == ["bedrock.amazonaws.com", "scheduler.amazonaws.com"]
    assert any("BedrockServiceRole" in resource for resource, _ in found)


def _statements(workflow: Template) -> list[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) of every identity policy in the stack."""
    return [
        (role["Ref"], statement)
        for policy in workflow.of_type("AWS::IAM::Policy").values()
        for role in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


EVALUATED_MODELS = {
    model_id.removeprefix("us.")
    for model in all_models()
    for model_id in model.inference.base_model_ids.values()
} | {"amazon.nova-pro-v1:0"}
EVALUATED_PROFILES = {
    model_id
    for model in all_models()
    for model_id in model.inference.base_model_ids.values()
    if model_id.startswith("us.")
}


def test_bedrock_statements_are_scoped_to_bedrock_resource_types(workflow: Template) -> None:
    allowed = (
        "foundation-model/*",
        *(f"foundation-model/{model}" for model in EVALUATED_MODELS),
        *(f"inference-profile/{profile}" for profile in EVALUATED_PROFILES),
        "custom-model/*",
        "model-customization-job/*",
        "provisioned-model/*",
        "custom-model-deployment/*",
        "inference-profile/us.amazon.nova-premier-v1:0",
        "inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
    )
    for _, statement in _statements(workflow):
        if any(action.startswith("bedrock:") for action in _as_list(statement["Action"])):
            if statement["Resource"] == "*":  # List calls have no resource-level permissions
                assert all(a.startswith("bedrock:List") for a in _as_list(statement["Action"])), statement
                continue
            for resource in _as_list(statement["Resource"]):
                assert json.dumps(resource).rstrip('"]}').endswith(allowed), resource


# Actions whose Service Authorization Reference entry lists aws:ResourceTag / aws:RequestTag.
ON_OWN_RESOURCES = {
    "bedrock:GetModelCustomizationJob",
    "bedrock:StopModelCustomizationJob",
    "bedrock:GetProvisionedModelThroughput",
    "bedrock:DeleteProvisionedModelThroughput",
    "bedrock:GetCustomModelDeployment",
    "bedrock:DeleteCustomModelDeployment",
    "bedrock:CreateProvisionedModelThroughput",  # on the custom model it serves
    "bedrock:CreateCustomModelDeployment",
}
TAGGED_ON_CREATE = {
    "bedrock:CreateModelCustomizationJob",
    "bedrock:CreateProvisionedModelThroughput",
    "bedrock:CreateCustomModelDeployment",
    "bedrock:TagResource",
}


def test_bedrock_actions_on_deployment_resources_require_the_prefix_tag(workflow: Template) -> None:
    checked = set()
    for _, statement in _statements(workflow):
        actions = set(_as_list(statement["Action"]))
        equals = statement.get("Condition", {}).get("StringEquals", {})
        if actions & ON_OWN_RESOURCES:
            assert equals.get("aws:ResourceTag/bmc:prefix") == "bmc", statement
        if actions & TAGGED_ON_CREATE:
            assert equals.get("aws:RequestTag/bmc:prefix") == "bmc", statement
        checked |= actions & (ON_OWN_RESOURCES | TAGGED_ON_CREATE)
    assert checked == ON_OWN_RESOURCES | TAGGED_ON_CREATE


def test_key_use_goes_through_a_service_and_grants_only_for_aws_resources(workflow: Template) -> None:
    for role, statement in _statements(workflow):
        actions = set(_as_list(statement["Action"]))
        if not any(action.startswith("kms:") for action in actions):
            continue
        assert "kms:Encrypt" not in actions and "kms:ReEncrypt*" not in actions, role
        via = statement["Condition"]["StringEquals"]["kms:ViaService"]
        services = {json.dumps(v).split('"')[5].rstrip(".") for v in _as_list(via)}
        assert services <= {"s3", "dynamodb", "sns", "sqs", "bedrock"}, (role, services)
        if "kms:CreateGrant" in actions:
            assert actions == {"kms:CreateGrant"}
            assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_asynchronous_functions_keep_failed_invocations_in_an_encrypted_queue(workflow: Template) -> None:
    functions = workflow.of_type("AWS::Lambda::Function")
    configs = workflow.of_type("AWS::Lambda::EventInvokeConfig")
    queues = workflow.of_type("AWS::SQS::Queue")
    kept = set()
    for config in configs.values():
        properties = config["Properties"]
        function = functions[properties["FunctionName"]["Ref"]]
        kept.add(function["Properties"]["Handler"].split(".")[2])
        assert properties["MaximumRetryAttempts"] == 2
        queue_id = properties["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert queue_id.startswith("WorkflowLambdasFailedInvocations")
        assert "KmsMasterKeyId" in queues[queue_id]["Properties"]
    assert kept == ASYNCHRONOUS
    for function in functions.values():
        skips = {s["id"]: s["comment"] for s in function["Metadata"]["checkov"]["skip"]}
        asynchronous = function["Properties"]["Handler"].split(".")[2] in ASYNCHRONOUS
        assert ("on-failure destination" in skips["CKV_AWS_116"]) is asynchronous
        assert "dead-letter queue and retry policy" not in skips["CKV_AWS_116"]


def test_expiry_schedules_can_dead_letter_into_the_failed_invocations_queue(workflow: Template) -> None:
    serve = next(
        f
        for f in workflow.of_type("AWS::Lambda::Function").values()
        if ".serve." in f["Properties"]["Handler"]
    )
    dead_letter = serve["Properties"]["Environment"]["Variables"]["EXPIRY_DEAD_LETTER_ARN"]
    assert dead_letter["Fn::GetAtt"][0].startswith("WorkflowLambdasFailedInvocations")
    scheduler_role = next(lid for lid in workflow.of_type("AWS::IAM::Role") if "SchedulerRole" in lid)
    actions = {
        a for role, s in _statements(workflow) if role == scheduler_role for a in _as_list(s["Action"])
    }
    assert actions == {"lambda:InvokeFunction", "sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}


def _statements_of(workflow: Template, handler: str) -> list[dict[str, Any]]:
    functions = workflow.of_type("AWS::Lambda::Function").values()
    role = next(
        f["Properties"]["Role"]["Fn::GetAtt"][0]
        for f in functions
        if f["Properties"]["Handler"].split(".")[2] == handler
    )
    return [
        statement
        for policy in workflow.of_type("AWS::IAM::Policy").values()
        if any(r["Ref"] == role for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return [json.dumps(resource) for resource in resources]


def test_the_batch_function_invokes_only_this_deployments_serving_the_base_models_and_the_judges(
    workflow: Template,
) -> None:
    statements = {s.get("Sid"): s for s in _statements_of(workflow, "evaluate_batch")}
    serving = statements["InvokeOwnServing"]
    assert serving["Action"] == "bedrock:InvokeModel"
    assert serving["Condition"] == {"StringEquals": {"aws:ResourceTag/bmc:prefix": "bmc"}}
    assert sorted(r.rstrip('"]}').rsplit(":", 1)[-1] for r in _resources(serving)) == [
        "custom-model-deployment/*",
        "provisioned-model/*",
    ]
    models = " ".join(_resources(statements["InvokeBaseModelsAndJudges"]))
    assert (
        "foundation-model/amazon.nova-micro-v1:0" in models
        and "foundation-model/amazon.nova-pro-v1:0" in models
    )
    # A system inference profile, and its model in every region the profile routes to.
    assert "inference-profile/us.amazon.nova-2-lite-v1:0" in models
    for region in ("us-east-1", "us-east-2", "us-west-2"):
        assert f"bedrock:{region}::foundation-model/amazon.nova-2-lite-v1:0" in models
    assert "*" not in models.replace('"Ref": "AWS::', "")
    writes = [s for s in _statements_of(workflow, "evaluate_batch") if s["Action"] == "s3:PutObject"]
    assert [r.endswith('/evaluations/*"]]}') for s in writes for r in _resources(s)] == [True]


def test_the_evaluation_stage_deletes_only_this_deployments_serving(workflow: Template) -> None:
    statements = {s.get("Sid"): s for s in _statements_of(workflow, "evaluation_stage")}
    delete = statements["DeleteOwnServing"]
    assert set(delete["Action"]) == DELETE_SERVING
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/bmc:prefix": "bmc"}}


def test_the_state_machine_reads_and_writes_only_the_evaluation_prefix(workflow: Template) -> None:
    s3_resources = [
        resource
        for policy in workflow.of_type("AWS::IAM::Policy").values()
        if "StateMachine" in policy["Properties"]["Roles"][0]["Ref"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            str(a).startswith("s3:")
            for a in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        )
        for resource in _resources(statement)
    ]
    assert s3_resources and all(resource.endswith('/evaluations/*"]]}') for resource in s3_resources)
