"""Shared set-up for the workflow handler tests: a local cloud on moto with a simulated Bedrock.

``local_cloud()`` gives a fresh account with the registry table (same keys and indexes as
constructs_lib/registry.py), the datasets and artifacts buckets, the notification topic (read
through an SQS subscription), the TTL schedule group and every environment variable the
functions read. Step Functions task tokens are real: ``Cloud.waiting_execution`` starts a tiny
state machine parked on a ``.waitForTaskToken`` task and hands back its token.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from bmc.aws import clients
from bmc.aws.registry import Registry
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud.bedrock import BedrockSimulator
from localcloud.clock import SimClock
from localcloud.patches import MOTO_CONFIG, LambdaContext, LocalCloudPatches, wait_for_execution

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "bmc"
TABLE = "bmc-runs"
DATASETS_BUCKET = "bmc-datasets-test"
ARTIFACTS_BUCKET = "bmc-artifacts-test"
SCHEDULE_GROUP = "bmc-serving"
SERVICE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/bmc-bedrock-service"
MODEL_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
SCHEDULER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/bmc-scheduler"
EXPIRY_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bmc-expire-serving"
EXPIRY_DEAD_LETTER_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:bmc-failed-invocations"
STATE_MACHINE_NAME = "bmc-customization"
MAX_SERVING_POLLS = 3

CONVERSATION_RECORD = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "You answer briefly."}],
    "messages": [
        {"role": "user", "content": [{"text": "What is two and two?"}]},
        {"role": "assistant", "content": [{"text": "Four."}]},
    ],
}

_TOKEN_MACHINE = "token-parking"


def environment(topic_arn: str, state_machine_arn: str, data_key_arn: str = "") -> dict[str, str]:
    """Every variable docs/workflow.md gives the functions (the union over functions)."""
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",  # scripted Bedrock failures must reach the handler unretried
        "PREFIX": PREFIX,
        "REGISTRY_TABLE": TABLE,
        "JOB_ARN_INDEX": "byJobArn",
        "AWAITING_INDEX": "byAwaiting",
        "POWERTOOLS_SERVICE_NAME": "bmc-test",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockModelCustomization",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "ALLOWED_BASE_MODELS": "",
        "DEFAULT_SERVING": json.dumps(
            {"mode": "none", "modelUnits": 1, "commitment": "none", "ttlHours": None}
        ),
        "ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "DATASETS_BUCKET": DATASETS_BUCKET,
        "SERVICE_ROLE_ARN": SERVICE_ROLE_ARN,
        "MODEL_KEY_ARN": MODEL_KEY_ARN,
        "JOB_SUBNET_IDS": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
        "JOB_SECURITY_GROUP_IDS": "sg-0123456789abcdef0",
        "SCHEDULE_GROUP": SCHEDULE_GROUP,
        "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
        "EXPIRY_FUNCTION_ARN": EXPIRY_FUNCTION_ARN,
        "EXPIRY_DEAD_LETTER_ARN": EXPIRY_DEAD_LETTER_ARN,
        "MAX_SERVING_POLLS": str(MAX_SERVING_POLLS),
        "TOPIC_ARN": topic_arn,
        "STATE_MACHINE_ARN": state_machine_arn,
        "EVALUATION_JUDGE_MODELS": "amazon.nova-pro-v1:0",
        "EVALUATION_TOLERATED_FAILURE_PERCENTAGE": "0",
        "EVALUATION_RECORDS_PER_BATCH": "10",
        "DATA_KEY_ARN": data_key_arn,
    }


def lambda_context(name: str = "bmc-test", timeout_seconds: float = 60) -> LambdaContext:
    return LambdaContext(
        function_name=name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        memory_limit_in_mb=512,
        aws_request_id="00000000-0000-0000-0000-000000000000",
        log_group_name=f"/aws/lambda/{name}",
        log_stream_name="test",
        timeout_seconds=timeout_seconds,
    )


def execution_arn(run_id: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{run_id}"


STARTED_AT = "2026-01-01T00:00:00.000Z"  # the execution start time task payloads carry


def task_event(
    run_id: str, state: Mapping[str, Any], *, started_at: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The payload a workflow task sends: state, execution context, action or taskToken."""
    return {
        "state": json.loads(json.dumps(state)),
        "execution": {"arn": execution_arn(run_id), "name": run_id, "startTime": started_at or STARTED_AT},
        **extra,
    }


STARTED_AT_MS = 1_767_225_600_000  # STARTED_AT in epoch milliseconds, as status events carry it


def status_change(run_id: str, status: str, **detail: Any) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event of the run's execution."""
    return event_bridge(
        "aws.states",
        "Step Functions Execution Status Change",
        {
            "executionArn": execution_arn(run_id),
            "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}",
            "name": run_id,
            "status": status,
            "startDate": STARTED_AT_MS,  # epoch milliseconds, as AWS sends it
            **detail,
        },
    )


def lambda_error(exc: BaseException) -> dict[str, str]:
    """``$.error`` as a Catch records a Lambda failure: the Cause is the error payload as JSON."""
    cause = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []})
    return {"Error": type(exc).__name__, "Cause": cause}


def spec(**overrides: Any) -> dict[str, Any]:
    """A valid Nova Micro fine-tuning spec on the datasets the cloud puts in S3."""
    base: dict[str, Any] = {
        "runName": "support bot",
        "baseModel": "amazon.nova-micro-v1",
        "customizationType": "FINE_TUNING",
        "trainingData": f"s3://{DATASETS_BUCKET}/data/train.jsonl",
        "validationData": [f"s3://{DATASETS_BUCKET}/data/validation.jsonl"],
        "hyperparameters": {"epochCount": 2},
        "tags": {"team": "ml-platform"},
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def event_bridge(source: str, detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": dict(detail),
    }


@dataclass
class Cloud:
    sim: BedrockSimulator
    clock: SimClock
    registry: Registry
    s3: Any
    sfn: Any
    sqs: Any
    scheduler: Any
    topic_arn: str
    state_machine_arn: str
    notification_queue: str
    token_queue: str
    token_machine_arn: str
    tokens: list[str] = field(default_factory=list)

    def put_jsonl(self, key: str, records: Sequence[Mapping[str, Any]], bucket: str = DATASETS_BUCKET) -> str:
        body = "".join(json.dumps(record) + "\n" for record in records)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
        return f"s3://{bucket}/{key}"

    def put_datasets(self, training_records: int = 12) -> None:
        self.put_jsonl("data/train.jsonl", [CONVERSATION_RECORD] * training_records)
        self.put_jsonl("data/validation.jsonl", [CONVERSATION_RECORD] * 4)

    def read_json(self, uri: str) -> Any:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def notifications(self) -> list[dict[str, Any]]:
        """Messages published to the topic so far (SNS envelopes: Subject, Message, MessageAttributes)."""
        found: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(QueueUrl=self.notification_queue, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.notification_queue, ReceiptHandle=message["ReceiptHandle"]
                )

    def waiting_execution(self, name: str) -> tuple[str, str]:
        """Start an execution parked on a task token; returns (execution ARN, token)."""
        started = self.sfn.start_execution(stateMachineArn=self.token_machine_arn, name=name, input="{}")
        arn = str(started["executionArn"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.token_queue).get("Messages", [])
            if messages:
                self.sqs.delete_message(QueueUrl=self.token_queue, ReceiptHandle=messages[0]["ReceiptHandle"])
                token = str(json.loads(messages[0]["Body"])["token"])
                self.tokens.append(token)
                return arn, token
            time.sleep(0.01)
        raise TimeoutError("the token-parking execution sent no token")

    def finished(self, arn: str) -> dict[str, Any]:
        description: dict[str, Any] = wait_for_execution(self.sfn, arn, timeout=10)
        return description

    def status_of(self, arn: str) -> str:
        return str(self.sfn.describe_execution(executionArn=arn)["status"])

    def run(self, run_id: str) -> dict[str, Any]:
        return self.registry.require(run_id)


def _token_machine_definition(queue_url: str) -> str:
    return json.dumps(
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )


def create_registry_table(dynamodb: Any) -> None:
    """The registry's key schema and indexes, as constructs_lib/registry.py declares them."""
    keys_only = {"ProjectionType": "KEYS_ONLY"}
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("runId", "jobArn", "recordType", "createdAt", "awaiting", "team")
        ],
        KeySchema=[{"AttributeName": "runId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byJobArn",
                "KeySchema": [{"AttributeName": "jobArn", "KeyType": "HASH"}],
                "Projection": keys_only,
            },
            {
                "IndexName": "byCreatedAt",
                "KeySchema": [
                    {"AttributeName": "recordType", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "byAwaiting",
                "KeySchema": [{"AttributeName": "awaiting", "KeyType": "HASH"}],
                "Projection": keys_only,
            },
            {
                "IndexName": "byTeam",
                "KeySchema": [
                    {"AttributeName": "team", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )


_SESSION = boto3.session.Session(region_name=REGION)
_CLIENTS: dict[str, Any] = {}


def aws_client(service: str) -> Any:
    """Test clients, shared by every test: loading service models is the slow part of a client."""
    if service not in _CLIENTS:
        _CLIENTS[service] = _SESSION.client(service)
    return _CLIENTS[service]


@contextmanager
def local_cloud(*, with_datasets: bool = True, **simulator_options: Any) -> Iterator[Cloud]:
    """A fresh local cloud; ``simulator_options`` go to BedrockSimulator."""
    clock = SimClock()
    base_env = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1"}
    with (
        mock.patch.dict(os.environ, base_env),
        mock_aws(config=MOTO_CONFIG),
        LocalCloudPatches(clock),
        BedrockSimulator(clock, **simulator_options) as sim,
    ):
        clients.reset()
        s3, sqs, sns, sfn, scheduler = (
            aws_client(name) for name in ("s3", "sqs", "sns", "stepfunctions", "scheduler")
        )
        create_registry_table(aws_client("dynamodb"))
        data_key_arn = aws_client("kms").create_key(Description="data")["KeyMetadata"]["Arn"]
        for bucket in (DATASETS_BUCKET, ARTIFACTS_BUCKET):
            s3.create_bucket(Bucket=bucket)
            # Versioned, as constructs_lib/buckets.py makes them: snapshots copy validated versions.
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        topic_arn = sns.create_topic(Name="bmc-notifications")["TopicArn"]
        notification_queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=notification_queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        token_queue = sqs.create_queue(QueueName="task-tokens")["QueueUrl"]
        role = f"arn:aws:iam::{ACCOUNT}:role/states"
        token_machine_arn = sfn.create_state_machine(
            name=_TOKEN_MACHINE, definition=_token_machine_definition(token_queue), roleArn=role
        )["stateMachineArn"]
        pass_machine = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
        state_machine_arn = sfn.create_state_machine(
            name=STATE_MACHINE_NAME, definition=pass_machine, roleArn=role
        )["stateMachineArn"]
        scheduler.create_schedule_group(Name=SCHEDULE_GROUP)
        cloud = Cloud(
            sim=sim,
            clock=clock,
            registry=Registry(TABLE),
            s3=s3,
            sfn=sfn,
            sqs=sqs,
            scheduler=scheduler,
            topic_arn=topic_arn,
            state_machine_arn=state_machine_arn,
            notification_queue=notification_queue,
            token_queue=token_queue,
            token_machine_arn=token_machine_arn,
        )
        if with_datasets:
            cloud.put_datasets()
        with mock.patch.dict(os.environ, environment(topic_arn, state_machine_arn, data_key_arn)):
            try:
                yield cloud
            finally:
                # Answer every parked token: moto's StopExecution leaves a task waiting on its token.
                for token in cloud.tokens:
                    with suppress(ClientError):
                        sfn.send_task_failure(taskToken=token, error="TestFinished")
                clients.reset()


Handler = Callable[[Any, Any], Any]


def invoke(handler: Handler, event: Any, name: str = "bmc-test", *, timeout_seconds: float = 60) -> Any:
    return handler(event, lambda_context(name, timeout_seconds))


# --- walking a run through the workflow, state by state -------------------------------------


def step(
    run_id: str,
    handler: Handler,
    state: Mapping[str, Any],
    result_path: str | None,
    *,
    started_at: str | None = None,
    **extra: Any,
) -> Any:
    """Invoke a task's handler and put its result at ``result_path`` (None: the result is returned)."""
    result = invoke(handler, task_event(run_id, state, started_at=started_at, **extra))
    if result_path is None:
        return result
    return {**state, result_path: result}


def prepared(run_id: str, **spec_overrides: Any) -> dict[str, Any]:
    from bmc.handlers import prepare_run

    result: dict[str, Any] = step(run_id, prepare_run.handler, spec(**spec_overrides), None)
    return result


def snapshotted(run_id: str, **spec_overrides: Any) -> dict[str, Any]:
    """PrepareRun, ValidateDatasets, Preflight and SnapshotDatasets done: ready to submit."""
    from bmc.handlers import preflight, snapshot_datasets, validate_datasets

    state = prepared(run_id, **spec_overrides)
    state = step(run_id, validate_datasets.handler, state, "validation")
    state = step(run_id, preflight.handler, state, "preflight")
    result: dict[str, Any] = step(run_id, snapshot_datasets.handler, state, "snapshots")
    return result


def submitted(run_id: str, **spec_overrides: Any) -> dict[str, Any]:
    """... and SubmitJob: the job is InProgress."""
    from bmc.handlers import submit_job

    state = snapshotted(run_id, **spec_overrides)
    result: dict[str, Any] = step(run_id, submit_job.handler, state, "job")
    return result


def trained(cloud: Cloud, run_id: str, **spec_overrides: Any) -> dict[str, Any]:
    """The job Completed and AwaitJob resumed with its model: ready for CollectMetrics."""
    state = submitted(run_id, **spec_overrides)
    job = cloud.sim.finish_job(state["job"]["jobArn"], "Completed")
    return {**state, "jobResult": {"status": "Completed", "customModelArn": job.output_model_arn}}


def collected(cloud: Cloud, run_id: str, **spec_overrides: Any) -> dict[str, Any]:
    from bmc.handlers import collect_metrics

    return dict(step(run_id, collect_metrics.handler, trained(cloud, run_id, **spec_overrides), "metrics"))
