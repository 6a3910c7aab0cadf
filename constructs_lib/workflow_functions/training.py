"""Training: start the run, submit the job, follow it to its end (token, events, reconciler),
collect its metrics."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns

from constructs_lib.bedrock_scope import bedrock_arn, foundation_model_arns, tagged_on_create
from constructs_lib.functions import METRICS_NAMESPACE, FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use
from constructs_lib.workflow_functions.grants import (
    REGISTRY_QUERY,
    REGISTRY_UPDATE,
    WorkflowGrants,
    allow_bedrock,
)
from constructs_lib.workflow_functions.props import WorkflowResources, WorkflowSettings


@dataclass(frozen=True)
class TrainingFunctions:
    submit_job: RuntimeFunction
    await_job: RuntimeFunction
    job_events: RuntimeFunction
    reconcile: RuntimeFunction
    collect_metrics: RuntimeFunction
    start_run: RuntimeFunction


def add_training(
    shared: RuntimeFunctions,
    grants: WorkflowGrants,
    *,
    settings: WorkflowSettings,
    resources: WorkflowResources,
    topic: sns.ITopic,
    state_machine_arn: str,
) -> TrainingFunctions:
    network = resources.job_network
    prefix = settings.prefix
    submit_job = shared.add(
        FunctionSpec(
            "submit_job",
            "submit the Bedrock model customization job",
            environment={
                "ARTIFACTS_BUCKET": resources.artifacts_bucket.bucket_name,
                "DATASETS_BUCKET": resources.datasets_bucket.bucket_name,
                "SERVICE_ROLE_ARN": resources.service_role.role_arn,
                "MODEL_KEY_ARN": resources.model_key.key_arn,
                "JOB_SUBNET_IDS": ",".join(network.subnet_ids),
                "JOB_SECURITY_GROUP_IDS": network.security_group_id,
            },
        )
    )
    grants.registry(submit_job, REGISTRY_UPDATE)
    # The job and its output model are created tagged with the prefix, from an allowed base model.
    allow_bedrock(
        submit_job,
        ["bedrock:CreateModelCustomizationJob"],
        [*foundation_model_arns(settings.allowed_base_models), bedrock_arn("custom-model/*")],
        tagged_on_create(prefix),
    )
    allow_bedrock(
        submit_job,
        ["bedrock:TagResource"],
        [bedrock_arn("model-customization-job/*"), bedrock_arn("custom-model/*")],
        tagged_on_create(prefix),
    )
    # A conflict on the job name: read the existing job (and its tags) to prove it is ours.
    grants.get_own_jobs(submit_job)
    allow_bedrock(submit_job, ["bedrock:ListTagsForResource"], [bedrock_arn("model-customization-job/*")])
    grant_key_use(submit_job.role, resources.model_key, services=["bedrock"], grants=True)
    submit_job.role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PassServiceRoleToBedrock",
            actions=["iam:PassRole"],
            resources=[resources.service_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
        )
    )

    await_job = shared.add(FunctionSpec("await_job", "park the run until its training job ends"))
    grants.registry(await_job, REGISTRY_UPDATE)
    grants.get_own_jobs(await_job)
    grants.task_response(await_job)

    job_events = shared.add(
        FunctionSpec("job_events", "resume a run when its job-state event arrives", asynchronous=True)
    )
    grants.registry(job_events, REGISTRY_QUERY)
    # Only when a Completed event lacks the output model ARN.
    grants.get_own_jobs(job_events)
    grants.task_response(job_events)

    reconcile = shared.add(
        FunctionSpec(
            "reconcile",
            "resolve runs whose job ended without an event; notify served models of LEGACY bases",
            timeout=Duration.minutes(5),
            environment={"TOPIC_ARN": topic.topic_arn},
            asynchronous=True,
        )
    )
    grants.registry(reconcile, REGISTRY_QUERY)
    grants.get_own_jobs(reconcile)
    # Once a day: the lifecycle of served models' foundation models, notified once per run.
    allow_bedrock(
        reconcile,
        ["bedrock:GetFoundationModel"],
        foundation_model_arns(settings.allowed_base_models),
    )
    reconcile.role.add_to_principal_policy(
        iam.PolicyStatement(sid="PublishLegacyNotices", actions=["sns:Publish"], resources=[topic.topic_arn])
    )
    grant_key_use(reconcile.role, resources.data_key, services=["sns"])
    grants.task_response(reconcile)

    collect_metrics = shared.add(
        FunctionSpec(
            "collect_metrics",
            "summarise the job's training and validation metrics",
            timeout=Duration.minutes(5),
            environment={"ARTIFACTS_BUCKET": resources.artifacts_bucket.bucket_name},
        )
    )
    grants.registry(collect_metrics, REGISTRY_UPDATE)
    # Only when the job result lacks the custom model ARN.
    grants.get_own_jobs(collect_metrics)
    grants.read_objects(collect_metrics, resources.artifacts_bucket, "jobs/")
    grants.write_reports(collect_metrics)
    collect_metrics.role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PublishRunMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],  # PutMetricData has no resource-level permissions: scoped by namespace.
            conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        )
    )

    start_run = shared.add(
        FunctionSpec(
            "start_run",
            "start a run when a manifest lands in the datasets bucket",
            environment={"STATE_MACHINE_ARN": state_machine_arn},
            asynchronous=True,
        )
    )
    start_run.role.add_to_principal_policy(
        iam.PolicyStatement(sid="StartRuns", actions=["states:StartExecution"], resources=[state_machine_arn])
    )
    return TrainingFunctions(
        submit_job=submit_job,
        await_job=await_job,
        job_events=job_events,
        reconcile=reconcile,
        collect_metrics=collect_metrics,
        start_run=start_run,
    )
