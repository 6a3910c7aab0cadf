"""The customization workflow: a Standard state machine whose Lambdas do the work.

The states, payloads and error names follow docs/workflow.md. Waiting for training is event
driven (a task token resumed by the job-state event or the reconciler), so the execution
history does not grow with training time. The evaluation after serving fans out on a
Distributed Map, whose child executions keep their own histories: the parent's does not grow
with the number of test records either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.evaluation_map import evaluation_map
from constructs_lib.functions import RuntimeFunction
from constructs_lib.keys import grant_key_use

if TYPE_CHECKING:
    from constructs_lib.evaluation import EvaluationFunctions

EXECUTION_CONTEXT = {
    "arn": sfn.JsonPath.execution_id,
    "name": sfn.JsonPath.execution_name,
    "startTime": sfn.JsonPath.execution_start_time,
}
SERVING_POLL_SECONDS = 60
FAST_RETRY_ERRORS = ["BedrockThrottled", "BedrockUnavailable"]
SNAPSHOT_RETRY_ERRORS = ["SnapshotUnavailable"]


@dataclass(frozen=True)
class WorkflowFunctions:
    """The functions the state machine invokes, by state."""

    prepare_run: RuntimeFunction
    validate_datasets: RuntimeFunction
    preflight: RuntimeFunction
    snapshot_datasets: RuntimeFunction
    submit_job: RuntimeFunction
    await_job: RuntimeFunction
    collect_metrics: RuntimeFunction
    serve: RuntimeFunction
    notify: RuntimeFunction
    cleanup: RuntimeFunction
    write_report: RuntimeFunction


@dataclass(frozen=True)
class EvaluationWiring:
    """The evaluation stage's functions and the bucket its Distributed Map reads and writes."""

    functions: EvaluationFunctions
    artifacts_bucket: s3.IBucket


@dataclass(frozen=True)
class WorkflowTimings:
    queue_hours: int
    max_training_hours: int


class CustomizationWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        functions: WorkflowFunctions,
        timings: WorkflowTimings,
        evaluation: EvaluationWiring,
        data_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions
        self._timings = timings
        self._evaluation = evaluation

        # The failure path passes on only the error (and cleanup's result): it acts on what the
        # registry recorded, never on what the state claims, and must run whatever the state holds.
        error_only: dict[str, object] = {"error": sfn.JsonPath.object_at("$.error")}
        after_cleanup: dict[str, object] = {**error_only, "cleanup": sfn.JsonPath.object_at("$.cleanup")}
        notify_failure = self._invoke(
            "NotifyFailure", functions.notify, "$.notification", state=after_cleanup
        )
        failure = (
            self._invoke("Cleanup", functions.cleanup, "$.cleanup", state=error_only)
            .next(self._report("WriteFailureReport", then=notify_failure, state=after_cleanup))
            .next(notify_failure)
            .next(sfn.Fail(self, "RunFailed", error_path="$.error.Error", cause_path="$.error.Cause"))
        )
        self._failure = failure

        notify_success = self._guarded(self._invoke("Notify", functions.notify, "$.notification"))
        notify = self._report("WriteReport", then=notify_success)
        notify.next(notify_success).next(sfn.Succeed(self, "RunSucceeded"))
        wait_for_serving = sfn.Wait(
            self, "WaitForServing", time=sfn.WaitTime.duration(Duration.seconds(SERVING_POLL_SECONDS))
        )
        check_serving = self._guarded(
            self._invoke("CheckServing", functions.serve, "$.serving", action="check")
        )
        start_serving = self._guarded(
            self._invoke("StartServing", functions.serve, "$.serving", action="start")
        )
        evaluation_configured = sfn.Condition.is_present("$.spec.evaluation")
        evaluate = (
            sfn.Choice(self, "EvaluationConfigured")
            .when(evaluation_configured, self._evaluation_stage(notify))
            .otherwise(notify)
        )
        start_serving.next(wait_for_serving).next(check_serving).next(
            sfn.Choice(self, "ServingReady")
            .when(sfn.Condition.boolean_equals("$.serving.ready", True), evaluate)
            .otherwise(wait_for_serving)
        )
        # A run that serves nothing but has an evaluation is served for the evaluation only.
        serving_mode = (
            sfn.Choice(self, "ServingMode")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.string_equals("$.spec.serving.mode", "none"),
                    sfn.Condition.not_(evaluation_configured),
                ),
                notify,
            )
            .otherwise(start_serving)
        )

        definition = (
            sfn.Chain.start(self._guarded(self._prepare_run()))
            .next(
                self._guarded(self._invoke("ValidateDatasets", functions.validate_datasets, "$.validation"))
            )
            .next(self._guarded(self._invoke("Preflight", functions.preflight, "$.preflight")))
            .next(self._snapshot_datasets())
            .next(self._submit_job())
            .next(self._await_job())
            .next(self._guarded(self._invoke("CollectMetrics", functions.collect_metrics, "$.metrics")))
            .next(serving_mode)
        )

        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            encryption_key=data_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"{prefix}-customization",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(timings.queue_hours + timings.max_training_hours + 24),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        # The Distributed Map reads its items and writes its results in the encrypted artifacts bucket.
        grant_key_use(
            self.state_machine.role, data_key, services=["s3"], actions=("kms:Decrypt", "kms:GenerateDataKey")
        )
        acknowledge_nag(
            self.state_machine,
            "AwsSolutions-IAM5",
            "Step Functions log delivery and X-Ray calls have no resource-level permissions; Lambda invoke "
            "permissions cover the functions' versions and aliases (ARN:*) of this workflow's functions only; "
            "the Distributed Map reads and writes the evaluation prefix (evaluations/) of the artifacts bucket, "
            "and starts, describes, stops and redrives only this state machine's own child executions.",
            applies_to=[
                "Resource::*",
                *(arn_wildcard_finding(f.function, ":*") for f in _all(functions)),
                *(arn_wildcard_finding(f.function, ":*") for f in evaluation.functions.functions),
                arn_wildcard_finding(evaluation.artifacts_bucket, "/evaluations/*"),
                *self._child_execution_findings(),
            ],
            apply_to_children=True,
        )

    def _invoke(
        self,
        state_id: str,
        function: RuntimeFunction,
        result_path: str,
        *,
        action: str | None = None,
        state: dict[str, object] | None = None,
    ) -> tasks.LambdaInvoke:
        payload: dict[str, object] = {
            "state": sfn.JsonPath.entire_payload if state is None else state,
            "execution": EXECUTION_CONTEXT,
        }
        if action is not None:
            payload["action"] = action
        return self._lambda_task(state_id, function, payload, result_path)

    def _lambda_task(
        self, state_id: str, function: RuntimeFunction, payload: dict[str, object], result_path: str
    ) -> tasks.LambdaInvoke:
        return tasks.LambdaInvoke(
            self,
            state_id,
            lambda_function=function.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            result_path=result_path,
            retry_on_service_exceptions=True,
        )

    def _child_execution_findings(self) -> list[str]:
        """The ARNs CDK grants a Distributed Map: this state machine's executions and map runs."""
        stack = Stack.of(self)
        machine = stack.resolve(stack.get_logical_id(self.state_machine.node.default_child))  # type: ignore[arg-type]
        execution = (
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
        )
        return [f"{execution}:*", f"{execution}/EvaluateRecords:*"]

    def _evaluation_stage(self, notify: sfn.IChainable) -> sfn.IChainable:
        """PrepareEvaluation -> EvaluateRecords (Distributed Map) -> SummarizeEvaluation ->
        ConcludeEvaluation -> Notify; every failure goes to the cleanup path, which deletes the
        serving the registry recorded (a temporary one included)."""
        functions = self._evaluation.functions
        records = evaluation_map(self, bucket=self._evaluation.artifacts_bucket, settings=functions.settings)
        batch = tasks.LambdaInvoke(
            self,
            "EvaluateBatch",
            lambda_function=functions.batch.function,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        batch.add_retry(
            errors=["Lambda.TooManyRequestsException"],
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
        )
        records.item_processor(batch)
        records.add_catch(self._failure, errors=["States.ALL"], result_path="$.error")
        return (
            sfn.Chain.start(
                self._guarded(
                    self._invoke("PrepareEvaluation", functions.stage, "$.evaluation", action="prepare")
                )
            )
            .next(records)
            .next(
                self._guarded(self._invoke("SummarizeEvaluation", functions.summary, "$.evaluationSummary"))
            )
            .next(
                self._guarded(
                    self._invoke(
                        "ConcludeEvaluation", functions.stage, "$.evaluationOutcome", action="conclude"
                    )
                )
            )
            .next(notify)
        )

    def _prepare_run(self) -> tasks.LambdaInvoke:
        """The execution input as JSON text: PrepareRun parses it itself, with bounds, so input
        the Lambda runtime could not parse (numbers beyond Python's 4,300 digits, very deep
        nesting) is still a run recorded FAILED with a located error."""
        payload: dict[str, object] = {
            "input": sfn.JsonPath.json_to_string(sfn.JsonPath.entire_payload),
            "execution": EXECUTION_CONTEXT,
        }
        return self._lambda_task("PrepareRun", self._functions.prepare_run, payload, "$")

    def _report(
        self, state_id: str, *, then: sfn.IChainable, state: dict[str, object] | None = None
    ) -> tasks.LambdaInvoke:
        """The run's HTML report; whatever happens to it, the run goes on to ``then``."""
        task = self._invoke(state_id, self._functions.write_report, "$.report", state=state)
        task.add_catch(then, errors=["States.ALL"], result_path="$.report")
        return task

    def _guarded(self, task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
        """Retry transient Bedrock errors; send every other failure to the cleanup path."""
        task.add_retry(errors=FAST_RETRY_ERRORS, interval=Duration.seconds(5), backoff_rate=2, max_attempts=6)
        task.add_catch(self._failure, errors=["States.ALL"], result_path="$.error")
        return task

    def _snapshot_datasets(self) -> tasks.LambdaInvoke:
        """After Preflight: a run refused there copies nothing. S3 errors that outlast the SDK's own
        retries are retried here; every copy is idempotent (a retry reuses its own earlier copy)."""
        task = self._invoke("SnapshotDatasets", self._functions.snapshot_datasets, "$.snapshots")
        task.add_retry(
            errors=SNAPSHOT_RETRY_ERRORS, interval=Duration.seconds(10), backoff_rate=2, max_attempts=4
        )
        return self._guarded(task)

    def _submit_job(self) -> tasks.LambdaInvoke:
        task = self._invoke("SubmitJob", self._functions.submit_job, "$.job")
        task.add_retry(errors=FAST_RETRY_ERRORS, interval=Duration.seconds(5), backoff_rate=2, max_attempts=6)
        # Right after the service role is created Bedrock may not be able to assume it yet.
        task.add_retry(
            errors=["BedrockRoleNotReady"], interval=Duration.seconds(10), backoff_rate=2, max_attempts=6
        )
        if self._timings.queue_hours:
            # Accounts train only a couple of jobs at once: a full quota is a queue, not a failure.
            task.add_retry(
                errors=["BedrockQuotaExceeded"],
                interval=Duration.minutes(30),
                backoff_rate=1,
                max_attempts=self._timings.queue_hours * 2,
            )
        task.add_catch(self._failure, errors=["States.ALL"], result_path="$.error")
        return task

    def _await_job(self) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            "AwaitJob",
            lambda_function=self._functions.await_job.function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "taskToken": sfn.JsonPath.task_token,
                    "state": sfn.JsonPath.entire_payload,
                    "execution": EXECUTION_CONTEXT,
                }
            ),
            result_path="$.jobResult",
            task_timeout=sfn.Timeout.duration(Duration.hours(self._timings.max_training_hours)),
            retry_on_service_exceptions=True,
        )
        task.add_catch(self._failure, errors=["States.ALL"], result_path="$.error")
        return task


def _all(functions: WorkflowFunctions) -> list[RuntimeFunction]:
    return [getattr(functions, name) for name in WorkflowFunctions.__dataclass_fields__]
