"""Deploy the synthesized app into moto and run it: the local cloud.

`LocalCloud` reads the templates `cdk synth` produced, creates their resources in moto (buckets
with EventBridge notifications, the registry table, keys, topic, roles, the functions with the
environment the template gives them, the state machine with its definition resolved to local
ARNs, the EventBridge rules), and connects the simulated Bedrock's events, the rules' schedules
and EventBridge Scheduler's one-time schedules to the simulated clock. Nothing about the
workflow is written here: the definition, the rules and the handlers all come from the app.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from localcloud.bedrock import BedrockEvent, BedrockSimulator
from localcloud.clock import SimClock
from localcloud.patches import MOTO_CONFIG, LocalCloudPatches, install_patches, invoke_asynchronously
from localcloud.template import Template, resolve

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
# Resources that exist only at deploy time in AWS and have no local counterpart.
PREFIX_LIST_ID = "pl-63a5400a"
POWERTOOLS_LAYER = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:1"
# The runtime moto knows closest to the template's (handlers run in this interpreter anyway).
MOTO_RUNTIME = "python3.12"
LOCAL_OPERATOR = f"arn:{PARTITION}:iam::{ACCOUNT}:user/local-operator"
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
# What API Gateway answers when a stage logs and the account has no CloudWatch Logs role.
NO_CLOUDWATCH_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


class DeploymentError(RuntimeError):
    """A resource fails to create as it would in CloudFormation (the message is AWS's)."""


@dataclass
class LocalDeployment:
    """Where things are in the local cloud, for scenarios and the demo."""

    prefix: str
    datasets_bucket: str = ""
    artifacts_bucket: str = ""
    registry_table: str = ""
    topic_arn: str = ""
    state_machine_arn: str = ""
    functions: dict[str, str] = field(default_factory=dict)  # handler module -> function name
    schedule_group: str = ""  # where serve creates the TTL schedules
    # (rule and target, function ARN, interval in seconds, the target's constant input or None)
    scheduled_rules: list[tuple[str, str, float, str | None]] = field(default_factory=list)


class LocalCloud:
    """The app deployed in moto, with a simulated Bedrock on a simulated clock.

    Use as a context manager. `templates` are the synthesized templates (see
    `synthesize_templates`); one synthesis can serve many local clouds.
    """

    def __init__(
        self,
        templates: Mapping[str, dict[str, Any]],
        *,
        prefix: str,
        bedrock_options: Mapping[str, Any] | None = None,
        log_level: str | None = None,
    ) -> None:
        self._templates = {name: Template(stack_name=name, body=body) for name, body in templates.items()}
        self.prefix = prefix
        self.clock = SimClock()
        self.deployment = LocalDeployment(prefix=prefix)
        self._bedrock_options = dict(bedrock_options or {})
        self._stack = ExitStack()
        self._physical: dict[str, dict[str, str]] = {}  # logical id -> attribute -> value
        self._exports: dict[str, str] = {}
        self._last_scheduled_run: dict[str, datetime] = {}
        self.patches: LocalCloudPatches
        self.bedrock: BedrockSimulator
        self.session: boto3.Session
        self._log_level = log_level
        self._clients: dict[str, Any] = {}
        # (wall time, simulated time) at each advance: maps history timestamps to simulated time.
        self._clock_samples: list[tuple[datetime, datetime]] = [(datetime.now(UTC), self.clock.now())]

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        self._stack.enter_context(mock_aws(config=MOTO_CONFIG))
        self.session = boto3.Session(region_name=REGION)
        self.patches = self._stack.enter_context(install_patches(self.clock))
        # First listener: samples must be taken before the simulator delivers events on an advance.
        self.clock.add_listener(self._sample_clock)
        self.bedrock = self._stack.enter_context(
            BedrockSimulator(self.clock, event_sink=self._put_bedrock_event, **self._bedrock_options)
        )
        self._stack.enter_context(backoff_on(self.clock))
        try:
            self._deploy()
        except BaseException:
            # A failed deployment leaves nothing installed (moto, patches, simulator).
            self.clock.remove_listener(self._sample_clock)
            self._stack.close()
            raise
        self.clock.add_listener(self._on_clock)
        return self

    def __exit__(self, *exc: object) -> None:
        self.clock.remove_listener(self._on_clock)
        self.clock.remove_listener(self._sample_clock)
        self._stack.close()

    def client(self, service: str) -> Any:
        """One client per service: creating one reads config and credentials each time."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=REGION)
        return self._clients[service]

    # -- running the workflow -------------------------------------------------------------------

    def start_execution(self, payload: Mapping[str, Any], *, name: str | None = None) -> str:
        """What "Start execution" in the Step Functions console does."""
        arguments: dict[str, Any] = {
            "stateMachineArn": self.deployment.state_machine_arn,
            "input": json.dumps(payload),
        }
        if name:
            arguments["name"] = name
        arn: str = self.client("stepfunctions").start_execution(**arguments)["executionArn"]
        return arn

    def put_manifest(self, key: str, manifest: Mapping[str, Any] | str) -> str:
        """Upload a manifest under manifests/; the S3 event starts the run. Returns the version id."""
        body = manifest if isinstance(manifest, str) else json.dumps(manifest, indent=2)
        response = self.client("s3").put_object(
            Bucket=self.deployment.datasets_bucket, Key=f"manifests/{key}", Body=body.encode()
        )
        return str(response.get("VersionId", ""))

    def redeliver_last_s3_event(self, key: str) -> None:
        """EventBridge delivers at least once: send the Object Created event of `key` again."""
        s3 = self.client("s3")
        head = s3.head_object(Bucket=self.deployment.datasets_bucket, Key=f"manifests/{key}")
        detail = {
            "version": "0",
            "bucket": {"name": self.deployment.datasets_bucket},
            "object": {
                "key": f"manifests/{key}",
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
                "version-id": head.get("VersionId"),
            },
            "reason": "PutObject",
        }
        self.client("events").put_events(
            Entries=[{"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail)}]
        )

    def upload(self, key: str, body: bytes | str) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.client("s3").put_object(Bucket=self.deployment.datasets_bucket, Key=key, Body=data)
        return f"s3://{self.deployment.datasets_bucket}/{key}"

    def after_function(self, handler_module: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` once, right after the next successful invocation of the function whose
        handler is ``bmc.handlers.<handler_module>`` (before the state machine moves on)."""
        name = self.deployment.functions[handler_module]
        self.patches.after_invocation.setdefault(name, []).append(callback)

    def executions(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.client("stepfunctions").list_executions(
            stateMachineArn=self.deployment.state_machine_arn
        )["executions"]
        return listed

    def wait_for_execution(self, execution_arn: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """Run the execution to its end, advancing the simulated clock while it waits on Bedrock."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution still RUNNING after {timeout}s: {execution_arn}")
            if self._awaiting_job(execution_arn):
                self._advance_to_next_bedrock_change()
            time.sleep(0.01)

    def wait_until_awaiting_job(self, execution_arn: str, *, timeout: float = 30.0) -> None:
        """Run until the execution is parked on its training job's task token (to abort it then)."""
        deadline = time.monotonic() + timeout
        while not self._awaiting_job(execution_arn):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} never started waiting for its job")
            time.sleep(0.02)

    def abort(self, execution_arn: str) -> None:
        self.client("stepfunctions").stop_execution(executionArn=execution_arn)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    def run_record(self, run_id: str) -> dict[str, Any] | None:
        """The registry item of a run, as plain JSON types."""
        item = (
            self.client("dynamodb")
            .get_item(
                TableName=self.deployment.registry_table, Key={"runId": {"S": run_id}}, ConsistentRead=True
            )
            .get("Item")
        )
        if item is None:
            return None
        deserializer = TypeDeserializer()
        record = {key: deserializer.deserialize(value) for key, value in item.items()}
        return dict(json.loads(json.dumps(record, default=_plain_number)))

    def api(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        caller: str = LOCAL_OPERATOR,
    ) -> tuple[int, dict[str, Any]]:
        """Call the /custom-models API as API Gateway would after SigV4 authorization.

        Builds the REST proxy event (with ``caller``'s IAM identity in the request context) and
        invokes the API function through Lambda, so it runs with the template's environment.
        Returns the status code and the JSON body.
        """
        event = rest_proxy_event(method, path, body=body, query=query, headers=headers, caller=caller)
        response = self.client("lambda").invoke(
            FunctionName=self.deployment.functions["api"], Payload=json.dumps(event).encode()
        )
        result = json.loads(response["Payload"].read())
        if "statusCode" not in result:
            raise RuntimeError(f"the API function failed: {result}")
        return int(result["statusCode"]), dict(json.loads(result.get("body") or "{}"))

    def sent_notifications(self) -> list[dict[str, Any]]:
        """Messages published to the run topic (read from moto's SNS backend)."""
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][REGION].topics[self.deployment.topic_arn]
        # moto keeps (message id, message, subject, attributes, group id) per publish.
        return [
            {"subject": sent[2], "message": sent[1], "attributes": sent[3]}
            for sent in topic.sent_notifications
        ]

    def sweeper_notifications(self) -> list[dict[str, Any]]:
        """The messages the sweeper published (message attribute ``source`` = sweeper)."""
        return [n for n in self.sent_notifications() if _attribute(n, "source") == "sweeper"]

    def run_notifications(self) -> list[dict[str, Any]]:
        """The messages about runs (everything but the sweeper's)."""
        return [n for n in self.sent_notifications() if _attribute(n, "source") != "sweeper"]

    def bedrock_tags(self, arn: str) -> dict[str, str]:
        tags = self.bedrock.backend(ACCOUNT, REGION).tagger.list_tags_for_resource(arn)["Tags"]
        return {str(tag["Key"]): str(tag["Value"]) for tag in tags}

    def configure_function(self, handler_module: str, **variables: str) -> None:
        """Change a function's environment, as a redeployment with other config would."""
        name = self.deployment.functions[handler_module]
        client = self.client("lambda")
        current = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        client.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**current, **variables}}
        )

    # -- time -----------------------------------------------------------------------------------

    def _awaiting_job(self, execution_arn: str) -> bool:
        """True once AwaitJob has handed its token over and nothing else happens but training."""
        events = self.history(execution_arn)  # moto ignores reverseOrder and maxResults
        return bool(
            events
            and events[-1]["type"] == "TaskSubmitted"
            and events[-1]["taskSubmittedEventDetails"]["resource"].endswith("waitForTaskToken")
        )

    def _advance_to_next_bedrock_change(self) -> None:
        running = self.bedrock.running_jobs()
        due = [job.stop_due_time or job.due_time for job in running]
        if due:
            self.clock.advance_to(max(min(due), self.clock.now()) + timedelta(seconds=1))
        else:
            # The job ended but its event never came: time passes until the reconciler runs.
            interval = min((i for _, _, i, _ in self.deployment.scheduled_rules), default=900.0)
            self.clock.advance(interval)

    def simulated_time_at(self, wall: datetime) -> datetime:
        """The simulated time when the wall clock read `wall` (e.g. an execution history event)."""
        moment = wall if wall.tzinfo else wall.replace(tzinfo=UTC)
        simulated = self._clock_samples[0][1]
        for sampled_wall, sampled_simulated in self._clock_samples:
            if sampled_wall > moment:
                break
            simulated = sampled_simulated
        return simulated

    def _sample_clock(self, now: datetime) -> None:
        self._clock_samples.append((datetime.now(UTC), now))

    def _on_clock(self, now: datetime) -> None:
        for rule, function_arn, interval, constant in self.deployment.scheduled_rules:
            last = self._last_scheduled_run.setdefault(rule, self.clock.start)
            if (now - last).total_seconds() >= interval:
                self._last_scheduled_run[rule] = now
                # A target's Input replaces the event, as EventBridge sends it.
                self._invoke(function_arn, json.loads(constant) if constant else _scheduled_event(now))
        self._fire_due_schedules(now)

    def _fire_due_schedules(self, now: datetime) -> None:
        scheduler = self.client("scheduler")
        for group in self._physical_of_type("AWS::Scheduler::ScheduleGroup"):
            for summary in scheduler.list_schedules(GroupName=group)["Schedules"]:
                schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=group)
                match = _AT.fullmatch(schedule["ScheduleExpression"])
                if match is None:
                    continue
                if datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC) > now:
                    continue
                # ActionAfterCompletion DELETE: a one-time schedule removes itself after it fires.
                scheduler.delete_schedule(Name=summary["Name"], GroupName=group)
                self._invoke(schedule["Target"]["Arn"], json.loads(schedule["Target"].get("Input") or "{}"))

    def _invoke(self, function_arn: str, event: Mapping[str, Any]) -> None:
        """Schedules invoke their function asynchronously (retries, on-failure destination)."""
        invoke_asynchronously(function_arn, json.loads(json.dumps(event)), ACCOUNT, REGION)

    def _put_bedrock_event(self, event: BedrockEvent) -> None:
        """Bedrock publishes job state changes to the default bus; the app's rule routes them."""
        self.client("events").put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"], default=str),
                    "Resources": list(event.get("resources", [])),
                }
            ]
        )

    # -- deployment -----------------------------------------------------------------------------

    def resolve_offline(self, stack_name: str, value: Any) -> Any:
        """`value` of the stack's template with intrinsic functions resolved to local names.

        Needs no AWS: resources get the names `_name_resources` gives them (keys keep their
        placeholder ARNs). Tests use it to evaluate policies the way AWS would.
        """
        if not self._physical:
            for template in self._templates.values():
                self._name_resources(template)
            for template in self._templates.values():
                self._collect_exports(template)
        return self._resolve(value, self._templates[stack_name])

    def _deploy(self) -> None:
        foundation = self._templates[f"{self.prefix}-foundation"]
        workflow = self._templates[f"{self.prefix}-workflow"]
        # The API stack is optional: its function and idempotency table; API Gateway has no
        # local counterpart (`api()` builds the proxy event the gateway would send).
        api = self._templates.get(f"{self.prefix}-api")
        templates = [foundation, workflow] + ([api] if api else [])
        for template in templates:
            self._name_resources(template)
        self._create_keys(foundation)
        self._create_buckets(foundation)
        for template in templates:
            self._create_tables(template)
        self._collect_exports(foundation)
        self._collect_exports(workflow)
        self._create_roles(workflow)
        self._create_topics(workflow)
        self._create_queues(workflow)
        self._create_schedule_groups(workflow)
        self._create_functions(workflow)
        self._create_state_machine(workflow)
        self._create_rules(workflow)
        if api:
            self._set_api_gateway_account(templates)
            self._create_roles(api)
            self._create_functions(api)

    def _name_resources(self, template: Template) -> None:
        """Deterministic physical names and ARNs, as CloudFormation would generate them."""
        for logical_id, resource in template.resources.items():
            name = f"{self.prefix}-{logical_id}"[:64]
            resource_type = resource["Type"]
            properties = resource.get("Properties", {})
            values = {"Ref": name, "Arn": f"arn:{PARTITION}:local:{REGION}:{ACCOUNT}:{name}"}
            if resource_type == "AWS::S3::Bucket":
                name = name.lower()[:63]
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:s3:::{name}"}
            elif resource_type == "AWS::DynamoDB::Table":
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
            elif resource_type == "AWS::IAM::Role":
                # A fixed RoleName (the roles a bucket policy names) refers to pseudo parameters only.
                if "RoleName" in properties:
                    name = str(self._resolve(properties["RoleName"], template))
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"}
            elif resource_type == "AWS::Lambda::Function":
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"}
            elif resource_type == "AWS::SNS::Topic":
                arn = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
                values = {"Ref": arn, "TopicArn": arn, "TopicName": name}
            elif resource_type == "AWS::SQS::Queue":
                values = {
                    "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                    "Arn": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
                    "QueueName": name,
                }
            elif resource_type == "AWS::StepFunctions::StateMachine":
                name = properties.get("StateMachineName", name)
                arn = f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
                values = {"Ref": arn, "Arn": arn, "Name": name}
            elif resource_type == "AWS::Logs::LogGroup":
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"}
            elif resource_type == "AWS::EC2::Subnet":
                values = {"Ref": _fake_id("subnet", logical_id)}
            elif resource_type == "AWS::EC2::SecurityGroup":
                values = {"Ref": _fake_id("sg", logical_id), "GroupId": _fake_id("sg", logical_id)}
            elif resource_type == "AWS::EC2::VPC":
                values = {"Ref": _fake_id("vpc", logical_id)}
            elif resource_type == "Custom::AWS":
                values = {"PrefixLists.0.PrefixListId": PREFIX_LIST_ID, "Ref": name}
            self._physical[logical_id] = values
        for logical_id in template.body.get("Parameters", {}):
            self._physical[logical_id] = {"Ref": POWERTOOLS_LAYER}

    def _value(self, logical_id: str, attribute: str) -> str:
        try:
            return self._physical[logical_id][attribute]
        except KeyError:
            raise KeyError(f"no local value for {logical_id}.{attribute}") from None

    def _resolve(self, value: Any, template: Template) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": template.stack_name,
        }
        return resolve(value, self._value, pseudo=pseudo, exports=self._exports)

    def _physical_of_type(self, resource_type: str) -> list[str]:
        return [
            self._physical[logical_id]["Ref"]
            for template in self._templates.values()
            for logical_id in template.of_type(resource_type)
        ]

    def _create_keys(self, template: Template) -> None:
        """Keys with the template's key policy: the simulated Bedrock reads it."""
        kms = self.client("kms")
        for logical_id, resource in template.of_type("AWS::KMS::Key").items():
            policy = self._resolve(resource["Properties"]["KeyPolicy"], template)
            key = kms.create_key(Description=logical_id, Policy=json.dumps(policy))["KeyMetadata"]
            self._physical[logical_id] = {"Ref": key["KeyId"], "Arn": key["Arn"]}

    def _create_buckets(self, template: Template) -> None:
        s3 = self.client("s3")
        notified = {
            self._resolve(r["Properties"]["BucketName"], template)
            for r in template.of_type("Custom::S3BucketNotifications").values()
            if "EventBridgeConfiguration" in r["Properties"]["NotificationConfiguration"]
        }
        for logical_id, resource in template.of_type("AWS::S3::Bucket").items():
            name = self._physical[logical_id]["Ref"]
            s3.create_bucket(Bucket=name)
            properties = self._resolve(resource["Properties"], template)
            if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            rules = properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            if rules:
                s3.put_bucket_encryption(
                    Bucket=name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                            }
                            for rule in rules
                        ]
                    },
                )
            if name in notified:
                s3.put_bucket_notification_configuration(
                    Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
                )
            if logical_id.startswith("Datasets"):
                self.deployment.datasets_bucket = name
            elif logical_id.startswith("Artifacts"):
                self.deployment.artifacts_bucket = name
        # Bucket policies are evaluated with their conditions (localcloud.patches.s3).
        for resource in template.of_type("AWS::S3::BucketPolicy").values():
            properties = self._resolve(resource["Properties"], template)
            s3.put_bucket_policy(Bucket=properties["Bucket"], Policy=json.dumps(properties["PolicyDocument"]))

    def _create_tables(self, template: Template) -> None:
        dynamodb = self.client("dynamodb")
        for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
            properties = resource["Properties"]
            name = self._physical[logical_id]["Ref"]
            indexes = properties.get("GlobalSecondaryIndexes")
            dynamodb.create_table(
                TableName=name,
                KeySchema=properties["KeySchema"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
                **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            )
            if logical_id.startswith("Registry"):
                self.deployment.registry_table = name

    def _collect_exports(self, template: Template) -> None:
        for output in template.body.get("Outputs", {}).values():
            if "Export" in output:
                self._exports[self._resolve(output["Export"]["Name"], template)] = self._resolve(
                    output["Value"], template
                )

    def _create_roles(self, template: Template) -> None:
        iam = self.client("iam")
        for logical_id, resource in template.of_type("AWS::IAM::Role").items():
            document = self._resolve(resource["Properties"]["AssumeRolePolicyDocument"], template)
            iam.create_role(
                RoleName=self._physical[logical_id]["Ref"], AssumeRolePolicyDocument=json.dumps(document)
            )

    def _create_topics(self, template: Template) -> None:
        sns = self.client("sns")
        for logical_id in template.of_type("AWS::SNS::Topic"):
            self.deployment.topic_arn = sns.create_topic(Name=self._physical[logical_id]["TopicName"])[
                "TopicArn"
            ]

    def _create_queues(self, template: Template) -> None:
        sqs = self.client("sqs")
        for logical_id in template.of_type("AWS::SQS::Queue"):
            sqs.create_queue(QueueName=self._physical[logical_id]["Arn"].rsplit(":", 1)[1])

    def _set_api_gateway_account(self, templates: list[Template]) -> None:
        """A stage that logs needs API Gateway's account-level CloudWatch Logs role, as in AWS."""
        apigateway = self.client("apigateway")
        for template in templates:
            for resource in template.of_type("AWS::ApiGateway::Account").values():
                role_arn = self._resolve(resource["Properties"]["CloudWatchRoleArn"], template)
                apigateway.update_account(
                    patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
                )
        logging_stages = [
            logical_id
            for template in templates
            for logical_id, stage in template.of_type("AWS::ApiGateway::Stage").items()
            if "AccessLogSetting" in stage["Properties"]
            or any(setting.get("LoggingLevel") for setting in stage["Properties"].get("MethodSettings", []))
        ]
        if logging_stages and not apigateway.get_account().get("cloudwatchRoleArn"):
            raise DeploymentError(
                f"{logging_stages[0]}: BadRequestException: {NO_CLOUDWATCH_ROLE} "
                "(Service: ApiGateway, Status Code: 400)"
            )

    def _create_schedule_groups(self, template: Template) -> None:
        scheduler = self.client("scheduler")
        for logical_id in template.of_type("AWS::Scheduler::ScheduleGroup"):
            scheduler.create_schedule_group(Name=self._physical[logical_id]["Ref"])
            self.deployment.schedule_group = self._physical[logical_id]["Ref"]

    def _create_functions(self, template: Template) -> None:
        client = self.client("lambda")
        for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
            properties = resource["Properties"]
            name = self._physical[logical_id]["Ref"]
            variables = self._resolve(properties.get("Environment", {}).get("Variables", {}), template)
            client.create_function(
                FunctionName=name,
                Runtime=MOTO_RUNTIME,
                Role=self._resolve(properties["Role"], template),
                Handler=properties["Handler"],
                Code={"ZipFile": _placeholder_zip()},
                Timeout=int(properties.get("Timeout", 60)),
                MemorySize=int(properties.get("MemorySize", 512)),
                Environment={"Variables": {**variables, **self._local_environment()}},
            )
            handler = properties["Handler"]
            if handler.startswith("bmc.handlers."):
                self.deployment.functions[handler.split(".")[2]] = name
        self._register_identity_policies(template)
        for resource in template.of_type("AWS::Lambda::EventInvokeConfig").values():
            properties = self._resolve(resource["Properties"], template)
            client.put_function_event_invoke_config(
                FunctionName=properties["FunctionName"],
                MaximumRetryAttempts=int(properties.get("MaximumRetryAttempts", 2)),
                DestinationConfig=properties.get("DestinationConfig", {}),
            )

    def _register_identity_policies(self, template: Template) -> None:
        """Each function's role policies, for what AWS decides from them (S3's 403 or 404)."""
        statements: dict[str, list[dict[str, Any]]] = {}
        for resource in template.of_type("AWS::IAM::Policy").values():
            document = self._resolve(resource["Properties"]["PolicyDocument"], template)
            for role in resource["Properties"]["Roles"]:
                statements.setdefault(role["Ref"], []).extend(document["Statement"])
        for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
            role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            self.patches.identity_policies[self._physical[logical_id]["Ref"]] = (
                self._physical[role_id]["Arn"],
                statements.get(role_id, []),
            )

    def _local_environment(self) -> dict[str, str]:
        """No X-Ray daemon runs here; the log level may be lowered for a readable demo."""
        overrides = {"POWERTOOLS_TRACE_DISABLED": "true"}
        if self._log_level:
            overrides["POWERTOOLS_LOG_LEVEL"] = self._log_level
        return overrides

    def _create_state_machine(self, template: Template) -> None:
        sfn = self.client("stepfunctions")
        logical_id, resource = template.one_of_type("AWS::StepFunctions::StateMachine")
        properties = resource["Properties"]
        self.deployment.state_machine_arn = sfn.create_state_machine(
            name=self._physical[logical_id]["Name"],
            definition=self._resolve(properties["DefinitionString"], template),
            roleArn=self._resolve(properties["RoleArn"], template),
            type=properties.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]

    def _create_rules(self, template: Template) -> None:
        events = self.client("events")
        for logical_id, resource in template.of_type("AWS::Events::Rule").items():
            properties = self._resolve(resource["Properties"], template)
            targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in properties.get("Targets", [])]
            schedule = properties.get("ScheduleExpression")
            if schedule:
                match = _RATE.fullmatch(schedule)
                if match is None:
                    raise NotImplementedError(f"{logical_id}: schedule {schedule} is not supported locally")
                seconds = int(match.group(1)) * _RATE_SECONDS[match.group(2).removesuffix("s")]
                self.deployment.scheduled_rules += [
                    (f"{logical_id}/{t['Id']}", t["Arn"], float(seconds), t.get("Input"))
                    for t in properties.get("Targets", [])
                ]
                continue
            name = self._physical[logical_id]["Ref"]
            events.put_rule(Name=name, EventPattern=json.dumps(properties["EventPattern"]), State="ENABLED")
            events.put_targets(Rule=name, Targets=targets)


@contextmanager
def backoff_on(clock: SimClock) -> Iterator[None]:
    """The evaluation's retry backoff waits on the simulated clock (a child's timeline inside a
    Distributed Map), as a Lambda's sleep takes its time on AWS."""
    from bmc.evaluation import generation

    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    saved = generation.backoff_sleep
    generation.backoff_sleep = sleep
    try:
        yield
    finally:
        generation.backoff_sleep = saved


def rest_proxy_event(
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    caller: str = LOCAL_OPERATOR,
) -> dict[str, Any]:
    """The event API Gateway's REST proxy integration sends after an AWS_IAM-authorized request,
    signed by ``caller`` (an IAM user ARN or an STS assumed-role session ARN)."""
    request_headers = {"Content-Type": "application/json", **(headers or {})}
    account = caller.split(":")[4] if caller.count(":") >= 5 else ACCOUNT
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": request_headers,
        "multiValueHeaders": {name: [value] for name, value in request_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "localapi",
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "domainName": f"localapi.execute-api.{REGION}.amazonaws.com",
            # IAM authorization puts the signer's identity here.
            "identity": {
                "accountId": account,
                "caller": "AIDALOCALCLOUDCALLER",
                "user": "AIDALOCALCLOUDCALLER",
                "userArn": caller,
                "accessKey": "AKIALOCALCLOUDCALLER",
                "sourceIp": "127.0.0.1",
                "userAgent": "localcloud",
            },
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _attribute(notification: Mapping[str, Any], name: str) -> str | None:
    value = (notification.get("attributes") or {}).get(name) or {}
    return value.get("Value") if isinstance(value, Mapping) else None


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _fake_id(kind: str, logical_id: str) -> str:
    return f"{kind}-{hashlib.sha256(logical_id.encode()).hexdigest()[:17]}"


def _scheduled_event(now: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"scheduled-{int(now.timestamp())}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": {},
    }


def _placeholder_zip() -> bytes:
    """moto stores code but never runs it: handlers are imported in process from the repo."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Handlers run in process from the repository's lambda/ package.\n")
    return buffer.getvalue()


def synthesize_templates(
    outdir: Path, context: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """Synthesize the app (no asset bundling) and return its templates and the prefix."""
    from stacks.application import build_app, nag_errors

    app, config = build_app({"aws:cdk:bundling-stacks": [], **(context or {})}, outdir=str(outdir))
    assembly = app.synth()
    errors = nag_errors(assembly)
    if errors:
        raise RuntimeError("the app does not pass its compliance gate:\n" + "\n".join(errors))
    templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
    return templates, config.prefix
