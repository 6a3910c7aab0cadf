"""The end of a run, on either path: clean up what a failed, aborted or timed-out run created,
write its HTML report, publish its outcome."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns

from constructs_lib.bedrock_scope import bedrock_arn, own_resources
from constructs_lib.functions import FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use
from constructs_lib.workflow_functions.grants import (
    REGISTRY_UPDATE,
    STOP_JOB,
    WorkflowGrants,
    allow_bedrock,
    schedule_arn,
)
from constructs_lib.workflow_functions.props import WorkflowResources, WorkflowSettings


@dataclass(frozen=True)
class OutcomeFunctions:
    cleanup: RuntimeFunction
    execution_ended: RuntimeFunction
    write_report: RuntimeFunction
    notify: RuntimeFunction


def add_outcome(
    shared: RuntimeFunctions,
    grants: WorkflowGrants,
    *,
    settings: WorkflowSettings,
    resources: WorkflowResources,
    schedule_group_name: str,
    topic: sns.ITopic,
) -> OutcomeFunctions:
    cleanup = shared.add(
        FunctionSpec(
            "cleanup",
            "stop the job and delete what a failed run created",
            timeout=Duration.minutes(2),
            environment={"SCHEDULE_GROUP": schedule_group_name},
        )
    )
    execution_ended = shared.add(
        FunctionSpec(
            "execution_ended",
            "clean up and notify when an execution is aborted or times out",
            timeout=Duration.minutes(2),
            environment={"SCHEDULE_GROUP": schedule_group_name, "TOPIC_ARN": topic.topic_arn},
            asynchronous=True,
        )
    )
    for function in (cleanup, execution_ended):
        grants.registry(function, REGISTRY_UPDATE)
        allow_bedrock(
            function,
            list(STOP_JOB),
            [bedrock_arn("model-customization-job/*")],
            own_resources(settings.prefix),
        )
        grants.delete_own_serving(function)
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeleteServingExpiry",
                actions=["scheduler:DeleteSchedule"],
                resources=[schedule_arn(schedule_group_name)],
            )
        )

    write_report = shared.add(
        FunctionSpec(
            "write_report",
            "write the run's HTML report at the end of either path",
            timeout=Duration.minutes(2),
            memory_mb=512,
            environment={"ARTIFACTS_BUCKET": resources.artifacts_bucket.bucket_name},
        )
    )
    # The report reads the run's record and JSON reports, writes report.html beside them and
    # records its location (or why it is missing) on the run.
    grants.registry(write_report, REGISTRY_UPDATE)
    grants.read_objects(write_report, resources.artifacts_bucket, "reports/")
    grants.write_reports(write_report)
    # An aborted or timed-out execution gets its report from execution_ended.
    execution_ended.function.add_environment("ARTIFACTS_BUCKET", resources.artifacts_bucket.bucket_name)
    grants.read_objects(execution_ended, resources.artifacts_bucket, "reports/")
    grants.write_reports(execution_ended)

    notify = shared.add(
        FunctionSpec("notify", "publish the run outcome", environment={"TOPIC_ARN": topic.topic_arn})
    )
    grants.registry(notify, REGISTRY_UPDATE)
    for function in (notify, execution_ended):
        function.role.add_to_principal_policy(
            iam.PolicyStatement(sid="PublishOutcome", actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        grant_key_use(function.role, resources.data_key, services=["sns"])
    return OutcomeFunctions(
        cleanup=cleanup, execution_ended=execution_ended, write_report=write_report, notify=notify
    )
