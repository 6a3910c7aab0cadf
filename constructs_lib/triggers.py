"""EventBridge wiring: what starts a run and what resumes or cleans it up.

Every target has a retry policy and a dead-letter queue, so an event that cannot be delivered
is kept (and visible) instead of dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.queues import dead_letter_queue

MANIFEST_PATTERN = "manifests/*.json"
TERMINAL_JOB_STATUSES = ["Completed", "Failed", "Stopped"]
UNFINISHED_EXECUTION_STATUSES = ["ABORTED", "TIMED_OUT"]
# bmc.lineage.lifecycle: the reconciler's daily check of served models' foundation models.
BASE_MODEL_LIFECYCLE_CHECK = {"check": "base-model-lifecycle"}


class WorkflowTriggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        data_key: kms.IKey,
        datasets_bucket: s3.IBucket,
        state_machine_arn: str,
        start_run: lambda_.IFunction,
        job_events: lambda_.IFunction,
        reconcile: lambda_.IFunction,
        execution_ended: lambda_.IFunction,
        reconcile_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(
            self,
            "UndeliveredEvents",
            key=data_key,
            reason="This queue is the dead-letter queue of the EventBridge rule targets below; a DLQ of a DLQ "
            "would only move the same undelivered events again.",
        )

        self.manifest_rule = self._event_rule(
            "ManifestCreated",
            f"{prefix}: a run manifest landed in the datasets bucket",
            source="aws.s3",
            detail_type="Object Created",
            detail={
                "bucket": {"name": [datasets_bucket.bucket_name]},
                "object": {"key": [{"wildcard": MANIFEST_PATTERN}]},
            },
            function=start_run,
        )
        self.job_state_rule = self._event_rule(
            "JobStateChanged",
            f"{prefix}: a customization job of this deployment ended",
            source="aws.bedrock",
            detail_type="Model Customization Job State Change",
            detail={"jobStatus": TERMINAL_JOB_STATUSES, "jobName": [{"prefix": f"{prefix}-"}]},
            function=job_events,
        )
        self.execution_rule = self._event_rule(
            "ExecutionUnfinished",
            f"{prefix}: a workflow execution was aborted or timed out",
            source="aws.states",
            detail_type="Step Functions Execution Status Change",
            detail={"status": UNFINISHED_EXECUTION_STATUSES, "stateMachineArn": [state_machine_arn]},
            function=execution_ended,
        )
        self.reconcile_rule = events.Rule(
            self,
            "ReconcileSchedule",
            description=f"{prefix}: resolve runs whose job-state event was lost",
            schedule=events.Schedule.rate(Duration.minutes(reconcile_minutes)),
            targets=[self._target(reconcile)],
        )
        self.lifecycle_rule = events.Rule(
            self,
            "BaseModelLifecycleSchedule",
            description=f"{prefix}: notify served custom models whose foundation model became LEGACY",
            schedule=events.Schedule.rate(Duration.days(1)),
            targets=[self._target(reconcile, events.RuleTargetInput.from_object(BASE_MODEL_LIFECYCLE_CHECK))],
        )

    def _event_rule(
        self,
        construct_id: str,
        description: str,
        *,
        source: str,
        detail_type: str,
        detail: Mapping[str, Any],
        function: lambda_.IFunction,
    ) -> events.Rule:
        """A rule sending the events of one source and detail type that match ``detail`` to ``function``."""
        return events.Rule(
            self,
            construct_id,
            description=description,
            event_pattern=events.EventPattern(source=[source], detail_type=[detail_type], detail=detail),
            targets=[self._target(function)],
        )

    def _target(
        self, function: lambda_.IFunction, event: events.RuleTargetInput | None = None
    ) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            function,
            event=event,
            dead_letter_queue=self.dead_letters,
            retry_attempts=8,
            max_event_age=Duration.hours(6),
        )
