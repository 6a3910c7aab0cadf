"""Executions and events as AWS has them (patches 5 to 8, 10 and 16 of ``localcloud.patches``).

5. ``StartExecution`` without a name: moto names every such execution ``None``, so a second
   one is taken for a duplicate (same input) or rejected (ExecutionAlreadyExists). AWS picks
   a UUID; so does the patch.
6. ``SendTaskFailure`` drops ``cause`` in moto's request handler; the patch passes it on.
7. EventBridge rules with Lambda targets: moto's events backend delivers to logs, SQS and
   buses only. Lambda targets are invoked in process with the event as AWS sends it.
8. ``StopExecution`` emits no "Step Functions Execution Status Change" event in moto, and
   leaves a task waiting for its token asleep; the patch wakes it and puts the ABORTED event
   on the default bus, as AWS does (``startDate`` and ``stopDate`` in epoch milliseconds).
10. Asynchronous invocations (EventBridge targets, and the local cloud's schedules) are
   retried and then handed to the function's on-failure destination, as Lambda does.
16. A Fail state whose ErrorPath resolves to a ``States.`` error (a Distributed Map's
   ``States.ExceedToleratedFailureThreshold`` caught and passed on to the workflow's Fail
   state): AWS fails the execution with that error; moto refuses reserved names there and
   fails with States.Runtime instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.responses import EmptyResult
from moto.events.models import Rule, events_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from localcloud.patches.base import Patch


class _PassedOnErrorName(ErrorName):
    """The error a Fail state reports: any name, a reserved ``States.`` one included."""


def execution_patches() -> list[Patch]:
    """Unnamed executions get a UUID; SendTaskFailure keeps its cause; a Fail state may report a
    ``States.`` error (patches 5, 6 and 16)."""
    original_start_execution = StepFunctionsParserBackend.start_execution

    def start_execution(
        backend: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original_start_execution(
            backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs
        )

    def send_task_failure(response: Any) -> Any:
        response.stepfunction_backend.send_task_failure(
            response._get_param("taskToken"),
            error=response._get_param("error"),
            cause=response._get_param("cause"),
        )
        return EmptyResult()

    return [
        Patch(StepFunctionsParserBackend, "start_execution", start_execution),
        Patch(StepFunctionResponse, "send_task_failure", send_task_failure),
        Patch(state_fail, "CustomErrorName", _PassedOnErrorName),
    ]


def event_and_stop_patches() -> list[Patch]:
    """EventBridge Lambda targets, and StopExecution as on AWS (patches 7 and 8)."""
    original_send_to_targets = Rule.send_to_targets

    def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
        lambda_targets = [t for t in rule.targets if ":lambda:" in t["Arn"]]
        if lambda_targets and rule.event_pattern.matches_event(original_event):
            for target in lambda_targets:
                _deliver_to_lambda(target["Arn"], original_event, rule.account_id, rule.region_name)
        other_targets = [t for t in rule.targets if t not in lambda_targets]
        if other_targets:
            saved, rule.targets = rule.targets, other_targets
            try:
                original_send_to_targets(rule, original_event, transform_input)
            finally:
                rule.targets = saved

    original_stop_execution = StepFunctionsParserBackend.stop_execution

    def stop_execution(backend: Any, execution_arn: str) -> Any:
        execution = original_stop_execution(backend, execution_arn)
        # moto leaves a task waiting for its token asleep until the (real-time) timeout.
        worker = getattr(execution, "exec_worker", None)
        if worker is not None:
            for endpoint in list(worker.env.callback_pool_manager._pool.values()):
                endpoint.interrupt_all()
        _put_execution_status_event(backend, execution, "ABORTED")
        return execution

    original_set_error = Environment.set_error

    def set_error(env: Any, error: Any) -> None:
        # The woken task fails; on AWS an aborted execution stays ABORTED whatever follows.
        if isinstance(env.program_state(), ProgramStopped):
            return
        original_set_error(env, error)

    return [
        Patch(Environment, "set_error", set_error),
        Patch(Rule, "send_to_targets", send_to_targets),
        Patch(StepFunctionsParserBackend, "stop_execution", stop_execution),
    ]


def _deliver_to_lambda(function_arn: str, event: Mapping[str, Any], account_id: str, region: str) -> None:
    """EventBridge invokes Lambda targets asynchronously; a handler error stays in the record."""
    payload = dict(event)
    if isinstance(payload.get("time"), int | float):
        payload["time"] = datetime.fromtimestamp(payload["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    invoke_asynchronously(function_arn, json.loads(json.dumps(payload, default=str)), account_id, region)


# Lambda retries a failed asynchronous invocation twice unless the event invoke config says less.
DEFAULT_ASYNC_RETRIES = 2


def invoke_asynchronously(function_arn: str, event: Any, account_id: str, region: str) -> bool:
    """What Lambda does with an asynchronous invocation (EventBridge, Scheduler): run it, retry a
    failure as the function's event invoke config says, then hand the invocation record to the
    on-failure destination (SQS) or drop it. Returns whether an attempt succeeded.

    The retries run at once (no backoff): the simulated clock does not move for them.
    """
    function = lambda_backends[account_id][region].get_function(function_arn)
    config = function.event_invoke_config[0].config if function.event_invoke_config else {}
    attempts = 1 + int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
    response = ""
    for _ in range(attempts):
        response, failed, _ = function._invoke_lambda(event=event)
        if not failed:
            return True
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function.function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": json.loads(response),
        }
        queue_name = destination.rsplit(":", 1)[1]
        sqs_backends[account_id][region].send_message(queue_name, json.dumps(record))
    return False


def _put_execution_status_event(backend: Any, execution: Any, status: str) -> None:
    def epoch_ms(value: Any) -> Any:
        # AWS sends startDate and stopDate as epoch milliseconds.
        if not isinstance(value, datetime):
            return value
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)

    detail = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": epoch_ms(execution.start_date),
        "stopDate": epoch_ms(getattr(execution, "stop_date", None)),
        "input": execution.execution_input,
        "output": None,
    }
    events_backends[backend.account_id][backend.region_name].put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": "Step Functions Execution Status Change",
                "Detail": json.dumps(detail, default=str),
                "Resources": [execution.execution_arn],
            }
        ]
    )
