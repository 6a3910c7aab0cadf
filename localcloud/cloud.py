"""Run the synthesized app in moto: the local cloud.

`LocalCloud` deploys the templates `cdk synth` produced into moto (`localcloud.deploy`), and
connects the simulated Bedrock's events, the rules' schedules and EventBridge Scheduler's
one-time schedules to the simulated clock. It starts and follows executions, calls the API as
API Gateway would (`localcloud.api_gateway`) and reads what the run left (registry records,
notifications, tags). Nothing about the workflow is written here: the definition, the rules and
the handlers all come from the app.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from localcloud.api_gateway import LOCAL_OPERATOR, rest_proxy_event
from localcloud.bedrock import BedrockEvent, BedrockSimulator
from localcloud.clock import SimClock
from localcloud.deploy import ACCOUNT, REGION, TemplateDeployer
from localcloud.patches import MOTO_CONFIG, LocalCloudPatches, install_patches, invoke_asynchronously

_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")


class LocalCloud:
    """The app deployed in moto, with a simulated Bedrock on a simulated clock.

    Use as a context manager. `templates` are the synthesized templates (see
    `localcloud.deploy.synthesize_templates`); one synthesis can serve many local clouds.
    """

    def __init__(
        self,
        templates: Mapping[str, dict[str, Any]],
        *,
        prefix: str,
        bedrock_options: Mapping[str, Any] | None = None,
        log_level: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.clock = SimClock()
        self._deployer = TemplateDeployer(templates, prefix=prefix, client=self.client, log_level=log_level)
        self.deployment = self._deployer.deployment
        self._bedrock_options = dict(bedrock_options or {})
        self._stack = ExitStack()
        self._last_scheduled_run: dict[str, datetime] = {}
        self.patches: LocalCloudPatches
        self.bedrock: BedrockSimulator
        self.session: boto3.Session
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
            self._deployer.deploy(self.patches.identity_policies)
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

    def resolve_offline(self, stack_name: str, value: Any) -> Any:
        """`value` of the stack's template with intrinsic functions resolved to local names, without
        deploying anything (tests evaluate policies with it)."""
        return self._deployer.resolve_offline(stack_name, value)

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
        for group in self._deployer.physical_names_of_type("AWS::Scheduler::ScheduleGroup"):
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


def _attribute(notification: Mapping[str, Any], name: str) -> str | None:
    value = (notification.get("attributes") or {}).get(name) or {}
    return value.get("Value") if isinstance(value, Mapping) else None


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


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
