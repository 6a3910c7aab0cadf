"""Serving: provision throughput or deploy the custom model, and delete it when its time to live
ends (an EventBridge Scheduler one-time schedule invokes the expiry function)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.bedrock_scope import bedrock_arn, merge_conditions, own_resources, tagged_on_create
from constructs_lib.functions import FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use
from constructs_lib.workflow_functions.grants import (
    REGISTRY_UPDATE,
    WorkflowGrants,
    allow_bedrock,
    schedule_arn,
    serving_arns,
)
from constructs_lib.workflow_functions.props import WorkflowResources, WorkflowSettings

MAX_SERVING_POLLS = 120  # x 60 s: provisioning rarely takes more than an hour


@dataclass(frozen=True)
class ServingFunctions:
    expire_serving: RuntimeFunction
    serve: RuntimeFunction


def add_serving(
    scope: Construct,
    shared: RuntimeFunctions,
    grants: WorkflowGrants,
    *,
    settings: WorkflowSettings,
    resources: WorkflowResources,
    schedule_group_name: str,
    failed_invocations: sqs.IQueue,
) -> ServingFunctions:
    prefix = settings.prefix
    expire_serving = shared.add(
        FunctionSpec(
            "expire_serving",
            "delete a run's throughput or deployment when its time to live ends",
            environment={"SCHEDULE_GROUP": schedule_group_name},
            asynchronous=True,
        )
    )
    grants.registry(expire_serving, REGISTRY_UPDATE)
    grants.delete_own_serving(expire_serving)

    scheduler_role = _scheduler_role(
        scope,
        prefix=prefix,
        group_name=schedule_group_name,
        expiry=expire_serving,
        failed_invocations=failed_invocations,
        resources=resources,
    )
    serve = shared.add(
        FunctionSpec(
            "serve",
            "provision throughput or deploy the custom model and follow it",
            environment={
                "SCHEDULE_GROUP": schedule_group_name,
                "SCHEDULER_ROLE_ARN": scheduler_role.role_arn,
                "EXPIRY_FUNCTION_ARN": expire_serving.function.function_arn,
                "EXPIRY_DEAD_LETTER_ARN": failed_invocations.queue_arn,
                "MAX_SERVING_POLLS": str(MAX_SERVING_POLLS),
            },
        )
    )
    grants.registry(serve, REGISTRY_UPDATE)
    # Serve only this deployment's custom models, with serving tagged as this deployment's.
    allow_bedrock(
        serve,
        ["bedrock:CreateProvisionedModelThroughput", "bedrock:CreateCustomModelDeployment"],
        [bedrock_arn("custom-model/*")],
        merge_conditions(own_resources(prefix), tagged_on_create(prefix)),
    )
    allow_bedrock(serve, ["bedrock:TagResource"], serving_arns(), tagged_on_create(prefix))
    allow_bedrock(
        serve,
        ["bedrock:GetProvisionedModelThroughput", "bedrock:GetCustomModelDeployment"],
        serving_arns(),
        own_resources(prefix),
    )
    grant_key_use(serve.role, resources.model_key, services=["bedrock"], grants=True)
    serve.role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ScheduleServingExpiry",
            actions=["scheduler:CreateSchedule"],
            resources=[schedule_arn(schedule_group_name)],
        )
    )
    serve.role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PassSchedulerRole",
            actions=["iam:PassRole"],
            resources=[scheduler_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        )
    )
    return ServingFunctions(expire_serving=expire_serving, serve=serve)


def _scheduler_role(
    scope: Construct,
    *,
    prefix: str,
    group_name: str,
    expiry: RuntimeFunction,
    failed_invocations: sqs.IQueue,
    resources: WorkflowResources,
) -> iam.Role:
    role = iam.Role(
        scope,
        "SchedulerRole",
        description=f"{prefix}: EventBridge Scheduler invokes the serving-expiry function",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": schedule_arn(group_name)},
            },
        ),
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[expiry.function.function_arn])
    )
    # A schedule that cannot invoke the function leaves its event in the dead-letter queue.
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failed_invocations.queue_arn])
    )
    grant_key_use(role, resources.data_key, services=["sqs"], actions=("kms:GenerateDataKey", "kms:Decrypt"))
    return role
