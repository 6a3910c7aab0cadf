"""The moto patches run hand-written ASL with in-process handlers, as AWS would."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from localcloud.clock import SimClock
from localcloud.patches import (
    MOTO_CONFIG,
    LambdaContext,
    LocalCloudPatches,
    install_patches,
    to_boto_params,
    to_sfn_result,
    wait_for_execution,
)
from tests.unit.moto_support import ACCOUNT, SESSION, aws_credentials  # noqa: F401 (autouse fixture)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/states"


class FlakyError(Exception):
    pass


class BrokenError(Exception):
    pass


def echo_handler(event: Any, context: Any) -> dict[str, Any]:
    """Importable by dotted name: used for functions that are not registered."""
    return {"echo": event, "table": os.environ.get("TABLE_NAME")}


@dataclass
class Cloud:
    patches: LocalCloudPatches
    clock: SimClock
    lambda_client: Any
    sfn: Any
    role_arn: str

    def function(
        self,
        name: str,
        handler: Callable[[Any, Any], Any] | None = None,
        environment: dict[str, str] | None = None,
        handler_name: str = "index.handler",
    ) -> str:
        """Create a moto function (any zip) and register ``handler`` for it."""
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("index.py", "def handler(event, context):\n    return event\n")
        arn: str = self.lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role_arn,
            Handler=handler_name,
            Code={"ZipFile": archive.getvalue()},
            MemorySize=256,
            Timeout=30,
        )["FunctionArn"]
        if handler is not None:
            self.patches.register(name, handler, environment)
        return arn

    def run(self, definition: dict[str, Any], payload: dict[str, Any] | None = None) -> dict[str, Any]:
        arn = self.start(definition, payload)
        return wait_for_execution(self.sfn, arn, timeout=10)

    def start(self, definition: dict[str, Any], payload: dict[str, Any] | None = None) -> str:
        name = f"sm-{len(self.sfn.list_state_machines()['stateMachines'])}"
        machine = self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
        execution_arn: str = self.sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"], input=json.dumps(payload or {})
        )["executionArn"]
        return execution_arn

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.sfn.get_execution_history(executionArn=execution_arn)["events"]
        return events


@contextmanager
def patched_cloud() -> Iterator[Cloud]:
    """moto with the patches installed on a simulated clock (also used by other modules' tests)."""
    clock = SimClock(datetime(2025, 1, 1, tzinfo=UTC))
    with mock_aws(config=MOTO_CONFIG), install_patches(clock) as patches:
        iam = SESSION.client("iam")
        role_arn = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield Cloud(patches, clock, SESSION.client("lambda"), SESSION.client("stepfunctions"), role_arn)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with patched_cloud() as created:
        yield created


def _invoke_task(function_arn: str, payload: Any = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": payload if payload is not None else {}},
        "ResultSelector": {"Payload.$": "$.Payload"},
    }
    if isinstance(payload, str):
        state["Parameters"] = {"FunctionName": function_arn, "Payload.$": payload}
    state.update(extra)
    return state


def _wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


# ---------------------------------------------------------------------------------------------
# Direct invocation
# ---------------------------------------------------------------------------------------------


def test_direct_invoke_runs_the_registered_handler_with_its_environment_and_context(cloud: Cloud) -> None:
    seen: dict[str, Any] = {}

    def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        seen["context"] = context
        return {"event": event, "table": os.environ["TABLE_NAME"], "region": os.environ["AWS_REGION"]}

    cloud.function("reader", handler, {"TABLE_NAME": "runs"})
    response = cloud.lambda_client.invoke(FunctionName="reader", Payload=json.dumps({"id": 7}))

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "event": {"id": 7},
        "table": "runs",
        "region": "us-east-1",
    }
    context = seen["context"]
    assert context.function_name == "reader"
    assert context.memory_limit_in_mb == 256
    assert context.invoked_function_arn.endswith(":function:reader")
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
    assert context.aws_request_id
    # The function's variables never leak into the caller's environment.
    assert "TABLE_NAME" not in os.environ
    [invocation] = cloud.patches.registry.invocations_of("reader")
    assert invocation.event == {"id": 7} and invocation.succeeded


def test_direct_invoke_reports_a_handler_exception_as_lambda_does(cloud: Cloud) -> None:
    def handler(event: Any, context: Any) -> None:
        raise BrokenError("disk on fire")

    cloud.function("broken", handler)
    response = cloud.lambda_client.invoke(FunctionName="broken", Payload=b"{}")

    assert response["FunctionError"]
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "BrokenError"
    assert payload["errorMessage"] == "disk on fire"
    assert any("disk on fire" in line for line in payload["trace"])


def test_unregistered_functions_import_their_configured_handler(cloud: Cloud) -> None:
    cloud.function(
        "by-name",
        handler_name=f"{__name__}.echo_handler",
    )
    cloud.lambda_client.update_function_configuration(
        FunctionName="by-name", Environment={"Variables": {"TABLE_NAME": "from-template"}}
    )
    cloud.function("missing", handler_name="no_such_module.handler")

    ok = cloud.lambda_client.invoke(FunctionName="by-name", Payload=b'{"a": 1}')
    assert json.loads(ok["Payload"].read()) == {"echo": {"a": 1}, "table": "from-template"}
    failed = cloud.lambda_client.invoke(FunctionName="missing", Payload=b"{}")
    assert json.loads(failed["Payload"].read())["errorType"] == "Runtime.ImportModuleError"


def test_handlers_in_parallel_branches_each_see_their_own_environment(cloud: Cloud) -> None:
    def handler(event: Any, context: Any) -> str:
        time.sleep(0.01)  # give the other branch a chance to interleave
        return os.environ["COLOUR"]

    red = cloud.function("red", handler, {"COLOUR": "red"})
    blue = cloud.function("blue", handler, {"COLOUR": "blue"})
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "R",
                        "States": {"R": {**_invoke_task(red), "OutputPath": "$.Payload", "End": True}},
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {**_invoke_task(blue), "OutputPath": "$.Payload", "End": True}},
                    },
                ],
            }
        },
    }
    result = cloud.run(definition)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == ["red", "blue"]


# ---------------------------------------------------------------------------------------------
# Retry, Catch and callbacks
# ---------------------------------------------------------------------------------------------


def test_retry_on_a_custom_error_then_success_and_catch_of_another(cloud: Cloud) -> None:
    attempts: list[int] = []

    def flaky(event: Any, context: Any) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 3:
            raise FlakyError(f"attempt {len(attempts)}")
        return {"attempts": len(attempts)}

    def broken(event: Any, context: Any) -> None:
        raise BrokenError("cannot continue")

    flaky_arn = cloud.function("flaky", flaky)
    broken_arn = cloud.function("broken", broken)
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": _invoke_task(
                flaky_arn,
                Retry=[
                    {
                        "ErrorEquals": ["FlakyError"],
                        "IntervalSeconds": 1800,
                        "MaxAttempts": 3,
                        "BackoffRate": 2,
                    }
                ],
                ResultPath="$.flaky",
                Next="Broken",
            ),
            "Broken": _invoke_task(
                broken_arn,
                Retry=[{"ErrorEquals": ["FlakyError"], "MaxAttempts": 5}],
                Catch=[{"ErrorEquals": ["BrokenError"], "ResultPath": "$.caught", "Next": "Recovered"}],
                Next="Recovered",
            ),
            "Recovered": {"Type": "Pass", "End": True},
        },
    }
    started = time.monotonic()
    execution_arn = cloud.start(definition, {"run": "r1"})
    result = wait_for_execution(cloud.sfn, execution_arn)

    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["flaky"] == {"Payload": {"attempts": 3}}
    assert output["caught"]["Error"] == "BrokenError"
    assert json.loads(output["caught"]["Cause"])["errorMessage"] == "cannot continue"
    # 1800 s then 3600 s of backoff were asked for and simulated, not slept.
    assert cloud.patches.waits("retry") == [1800.0, 3600.0]
    assert cloud.clock.elapsed_seconds == 5400.0
    assert time.monotonic() - started < 5
    retries = [w for w in cloud.patches.requested_waits if w.kind == "retry"]
    assert {w.state_name for w in retries} == {"Flaky"}
    assert {w.execution_arn for w in retries} == {execution_arn}

    failures = [
        e["taskFailedEventDetails"]["error"]
        for e in cloud.history(execution_arn)
        if e["type"] == "TaskFailed"
    ]
    assert failures == ["FlakyError", "FlakyError", "BrokenError"]


def test_states_task_failed_catches_any_handler_error(cloud: Cloud) -> None:
    def broken(event: Any, context: Any) -> None:
        raise KeyError("missing")

    arn = cloud.function("broken", broken)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": _invoke_task(
                arn,
                Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Done"}],
                End=True,
            ),
            "Done": {"Type": "Pass", "End": True},
        },
    }
    result = cloud.run(definition)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["error"]["Error"] == "KeyError"


def test_uncaught_handler_error_fails_the_execution_with_its_type(cloud: Cloud) -> None:
    def broken(event: Any, context: Any) -> None:
        raise BrokenError("no")

    arn = cloud.function("broken", broken)
    result = cloud.run({"StartAt": "Call", "States": {"Call": _invoke_task(arn, End=True)}})
    assert result["status"] == "FAILED"
    assert result["error"] == "BrokenError"


def test_wait_for_task_token_resumed_by_success_and_by_failure(cloud: Cloud) -> None:
    tokens: dict[str, str] = {}

    def park(event: Any, context: Any) -> dict[str, str]:
        tokens[event["step"]] = event["token"]
        return {"parked": event["step"]}

    arn = cloud.function("park", park)

    def callback_task(step: str, **extra: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": arn, "Payload": {"step": step, "token.$": "$$.Task.Token"}},
            **extra,
        }

    definition = {
        "StartAt": "Approve",
        "States": {
            "Approve": callback_task("approve", ResultPath="$.approval", Next="Reject"),
            "Reject": callback_task(
                "reject",
                Catch=[{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejection", "Next": "Done"}],
                Next="Done",
            ),
            "Done": {"Type": "Pass", "End": True},
        },
    }
    execution_arn = cloud.start(definition, {"run": "r2"})

    approve_token = _wait_until(lambda: tokens.get("approve"))
    assert cloud.sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    cloud.sfn.send_task_success(taskToken=approve_token, output=json.dumps({"approved_by": "alice"}))
    reject_token = _wait_until(lambda: tokens.get("reject"))
    cloud.sfn.send_task_failure(taskToken=reject_token, error="Rejected", cause="budget")
    result = wait_for_execution(cloud.sfn, execution_arn)

    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["approval"] == {"approved_by": "alice"}
    assert output["rejection"] == {"Error": "Rejected", "Cause": "budget"}
    types = [e["type"] for e in cloud.history(execution_arn)]
    assert types.count("TaskSubmitted") == 2
    assert "TaskSucceeded" in types and "TaskFailed" in types


# ---------------------------------------------------------------------------------------------
# aws-sdk and optimized integrations
# ---------------------------------------------------------------------------------------------


def test_aws_sdk_dynamodb_and_sns_publish_tasks(cloud: Cloud) -> None:
    dynamodb = SESSION.client("dynamodb")
    dynamodb.create_table(
        TableName="runs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = SESSION.client("sns")
    sqs = SESSION.client("sqs")
    topic_arn = sns.create_topic(Name="outcomes")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
                "Parameters": {
                    "TableName": "runs",
                    "Item": {"pk": {"S.$": "$.run"}, "status": {"S": "STARTED"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                },
                "ResultPath": None,
                "Next": "Update",
            },
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem",
                "Parameters": {
                    "TableName": "runs",
                    "Key": {"pk": {"S.$": "$.run"}},
                    "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "DONE"}},
                    "ReturnValues": "ALL_NEW",
                },
                "ResultSelector": {"status.$": "$.Attributes.status.S"},
                "ResultPath": "$.update",
                "Next": "PutAgain",
            },
            "PutAgain": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
                "Parameters": {
                    "TableName": "runs",
                    "Item": {"pk": {"S.$": "$.run"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                },
                "Catch": [
                    {
                        "ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"],
                        "ResultPath": "$.duplicate",
                        "Next": "Describe",
                    }
                ],
                "Next": "Describe",
            },
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
                "Parameters": {"TableName": "runs"},
                "ResultSelector": {"created.$": "$.Table.CreationDateTime"},
                "ResultPath": "$.table",
                "Next": "Announce",
            },
            "Announce": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic_arn, "Message": {"run.$": "$.run", "outcome": "DONE"}},
                "ResultSelector": {"id.$": "$.MessageId"},
                "ResultPath": "$.published",
                "End": True,
            },
        },
    }
    result = cloud.run(definition, {"run": "run-1"})

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["update"] == {"status": "DONE"}
    assert output["duplicate"]["Error"] == "DynamoDb.ConditionalCheckFailedException"
    # Datetimes in SDK responses come out as ISO-8601 strings.
    assert datetime.fromisoformat(output["table"]["created"]).tzinfo is not None
    assert output["published"]["id"]
    item = dynamodb.get_item(TableName="runs", Key={"pk": {"S": "run-1"}})["Item"]
    assert item["status"] == {"S": "DONE"}
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(message["Body"]) == {"run": "run-1", "outcome": "DONE"}


def test_parameters_and_results_follow_the_botocore_model() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock")
    create = model.operation_model("CreateModelCustomizationJob")
    params = to_boto_params(
        {
            "JobName": "j",
            "TrainingDataConfig": {"S3Uri": "s3://b/k"},
            "HyperParameters": {"epochCount": 2},
            "JobTags": [{"Key": "a", "Value": "b"}],
        },
        create.input_shape,
    )
    assert params == {
        "jobName": "j",
        "trainingDataConfig": {"s3Uri": "s3://b/k"},
        "hyperParameters": {"epochCount": "2"},  # map keys kept, string values coerced
        "jobTags": [{"key": "a", "value": "b"}],
    }
    get = model.operation_model("GetModelCustomizationJob")
    created = datetime(2025, 1, 1, 12, tzinfo=UTC)
    result = to_sfn_result(
        {"jobArn": "arn", "creationTime": created, "hyperParameters": {"epochCount": "2"}}, get.output_shape
    )
    assert result == {
        "JobArn": "arn",
        "CreationTime": "2025-01-01T12:00:00.000Z",
        "HyperParameters": {"epochCount": "2"},
    }


# ---------------------------------------------------------------------------------------------
# Waits, names and installation
# ---------------------------------------------------------------------------------------------


def test_wait_states_are_instant_but_recorded_and_advance_the_clock(cloud: Cloud) -> None:
    deadline = (cloud.clock.now() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    definition = {
        "StartAt": "Hour",
        "States": {
            "Hour": {"Type": "Wait", "Seconds": 3600, "Next": "Until"},
            "Until": {"Type": "Wait", "TimestampPath": "$.deadline", "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    started = time.monotonic()
    execution_arn = cloud.start(definition, {"deadline": deadline})
    result = wait_for_execution(cloud.sfn, execution_arn)

    assert result["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 5
    # The timestamp wait is measured on the simulated clock: 5 h after start, 1 h already gone.
    assert cloud.patches.waits("wait") == [3600.0, 4 * 3600.0]
    assert [w.state_name for w in cloud.patches.requested_waits] == ["Hour", "Until"]
    assert cloud.clock.elapsed_seconds == 5 * 3600
    assert "WaitStateExited" in [e["type"] for e in cloud.history(execution_arn)]


def test_unnamed_executions_get_distinct_names(cloud: Cloud) -> None:
    machine = cloud.sfn.create_state_machine(
        name="pass",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )
    first = cloud.sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")["executionArn"]
    second = cloud.sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")["executionArn"]
    assert first != second
    assert wait_for_execution(cloud.sfn, second)["status"] == "SUCCEEDED"


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    original = LambdaFunction.__dict__["_invoke_lambda"]
    patches = LocalCloudPatches()
    with patches:
        assert patches.install() is patches
        assert LambdaFunction.__dict__["_invoke_lambda"] is not original
        with pytest.raises(RuntimeError):
            LocalCloudPatches().install()
    patches.uninstall()
    assert LambdaFunction.__dict__["_invoke_lambda"] is original
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
        StateTaskServiceUnsupported,
    )

    # Attributes that were inherited are removed again rather than pinned on the subclass.
    assert "_normalise_parameters" not in StateTaskServiceUnsupported.__dict__
