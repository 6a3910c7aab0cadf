"""The workflow stack: state machine shape, retries and catches, rules, functions, least privilege."""

from __future__ import annotations

import itertools
import json
import subprocess
from typing import Any

import pytest

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


@pytest.fixture(scope="module")
def workflow(app_default: Synthesized) -> Template:
    return Template(stack_name="bmc-workflow", body=app_default.templates["bmc-workflow"])


@pytest.fixture(scope="module")
def definition(workflow: Template) -> dict[str, Any]:
    return state_machine_definition(workflow, placeholder, PSEUDO)


def test_main_path_in_order(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == "PrepareRun"
    for current, following in itertools.pairwise(MAIN_PATH):
        assert states[current]["Next"] == following
    choice = states["ServingMode"]
    assert choice["Choices"][0] == {
        "Variable": "$.spec.serving.mode",
        "StringEquals": "none",
        "Next": "WriteReport",
    }
    assert choice["Default"] == "StartServing"
    assert states["StartServing"]["Next"] == "WaitForServing"
    assert states["WaitForServing"]["Seconds"] == 60
    assert states["ServingReady"]["Default"] == "WaitForServing"
    assert states["ServingReady"]["Choices"][0]["Next"] == "WriteReport"
    assert states["WriteReport"]["Next"] == "Notify"
    assert states["Notify"]["Next"] == "RunSucceeded"


def test_every_working_state_catches_into_cleanup(definition: dict[str, Any]) -> None:
    states = definition["States"]
    tasks = [name for name, state in states.items() if state["Type"] == "Task"]
    assert set(tasks) == {
        *MAIN_PATH[:-1],
        "StartServing",
        "CheckServing",
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


def test_definition_passes_statelint(
    definition: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("asl") / "definition.asl.json"
    path.write_text(json.dumps(definition))
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
    assert len(functions) == 17
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


def test_bedrock_statements_are_scoped_to_bedrock_resource_types(workflow: Template) -> None:
    allowed = (
        "foundation-model/*",
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
