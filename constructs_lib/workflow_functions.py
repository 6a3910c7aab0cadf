"""The workflow's Lambda functions and what each one may do (one least-privilege role each)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from bmc.tenancy import SNAPSHOTS_PREFIX, TENANCY_VARIABLE
from constructs import Construct

from constructs_lib.bedrock_scope import (
    bedrock_arn,
    deployment_teachers,
    foundation_model_arns,
    inference_profile_arns,
    merge_conditions,
    own_resources,
    tagged_on_create,
)
from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.functions import METRICS_NAMESPACE, FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use
from constructs_lib.network import JobNetwork
from constructs_lib.queues import dead_letter_queue
from constructs_lib.registry import AWAITING_INDEX, JOB_ARN_INDEX
from constructs_lib.snapshots import SNAPSHOT_WRITER, role_name
from constructs_lib.workflow import WorkflowFunctions
from stacks.config import AppConfig

# Registry calls: every function that touches the registry reads and transitions runs.
REGISTRY_UPDATE = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# Finding a run by job ARN (events) or listing the runs awaiting their job (reconciler).
REGISTRY_QUERY = ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query")
DELETE_SERVING = ("bedrock:DeleteProvisionedModelThroughput", "bedrock:DeleteCustomModelDeployment")
STOP_JOB = ("bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob")
MAX_SERVING_POLLS = 120  # x 60 s: provisioning rarely takes more than an hour


@dataclass(frozen=True)
class WorkflowResources:
    """What the functions work on, from the foundation stack."""

    registry: dynamodb.ITable
    datasets_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    data_key: kms.IKey
    model_key: kms.IKey
    service_role: iam.IRole
    job_network: JobNetwork
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy


class WorkflowLambdas(Construct):
    """Creates every function of docs/workflow.md and grants it exactly the calls it makes.

    Bedrock statements name resource types of this account and region and, where the Service
    Authorization Reference lists tag condition keys for the action, require this deployment's
    `bmc:prefix` tag: on the resource (`aws:ResourceTag`) or in the creating request
    (`aws:RequestTag`). Key use goes through the service that stores the data (`kms:ViaService`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        resources: WorkflowResources,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._resources = resources
        self._config = config
        self._prefix = config.prefix
        self.state_machine_arn = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{config.prefix}-customization"
        self.failed_invocations = self._failed_invocations_queue()
        shared = RuntimeFunctions(
            self,
            "Runtime",
            prefix=config.prefix,
            data_key=resources.data_key,
            log_retention=resources.log_retention,
            removal_policy=resources.removal_policy,
            common_environment={
                "PREFIX": config.prefix,
                "REGISTRY_TABLE": resources.registry.table_name,
                "JOB_ARN_INDEX": JOB_ARN_INDEX,
                "AWAITING_INDEX": AWAITING_INDEX,
            },
            failed_invocations=self.failed_invocations,
        )
        self.runtime = shared  # the code asset and layer, for functions added beside the workflow's
        allowed_models = ",".join(config.allowed_base_models)
        serving_defaults = json.dumps(
            {
                "mode": config.serving.mode,
                "modelUnits": config.serving.model_units,
                "commitment": config.serving.commitment,
                "ttlHours": config.serving.ttl_hours,
                "idleAction": config.serving.idle_action,
            }
        )
        self.schedule_group = scheduler.CfnScheduleGroup(self, "ServingExpiryGroup")
        self.runtime = shared  # the evaluation functions share the code assets and settings
        self._add_preparation(shared, allowed_models, serving_defaults)
        self._add_snapshots(shared)
        self._add_job_tracking(shared, topic)
        self._add_serving(shared, self.schedule_group.ref)
        self._add_outcome(shared, self.schedule_group.ref, topic)
        self._acknowledge_scoped_wildcards()

    def _failed_invocations_queue(self) -> sqs.Queue:
        """Where asynchronous invocations that failed for good, and expiry schedules that could not
        invoke their function, are kept (encrypted with the data key)."""
        return dead_letter_queue(
            self,
            "FailedInvocations",
            key=self._resources.data_key,
            reason="This queue is itself the dead-letter destination of the asynchronous functions and the "
            "expiry schedules; a DLQ of a DLQ would only move the same failed invocations again.",
        )

    def _add_preparation(self, shared: RuntimeFunctions, allowed_models: str, serving_defaults: str) -> None:
        resources = self._resources
        self.prepare_run = shared.add(
            FunctionSpec(
                "prepare_run",
                "parse and validate a run spec, register the run",
                environment={
                    "ALLOWED_BASE_MODELS": allowed_models,
                    "DEFAULT_SERVING": serving_defaults,
                    "DATASETS_BUCKET": resources.datasets_bucket.bucket_name,
                    TENANCY_VARIABLE: self._config.tenancy.to_environment(),
                },
            )
        )
        # Query: a custom model ARN base is looked up among the owner's runs (index byTeam).
        self._registry(self.prepare_run, REGISTRY_QUERY)
        self._read_datasets(self.prepare_run, versions=True)

        self.validate_datasets = shared.add(
            FunctionSpec(
                "validate_datasets",
                "stream and validate the training and validation datasets",
                timeout=Duration.minutes(15),
                memory_mb=1024,
                environment={
                    "ARTIFACTS_BUCKET": resources.artifacts_bucket.bucket_name,
                    "DATASETS_BUCKET": resources.datasets_bucket.bucket_name,
                },
            )
        )
        self._registry(self.validate_datasets, REGISTRY_UPDATE)
        self._read_datasets(self.validate_datasets)
        self._write_reports(self.validate_datasets)

        self.preflight = shared.add(
            FunctionSpec(
                "preflight",
                "check the base model is available for this customization here",
                environment={
                    "ALLOWED_BASE_MODELS": allowed_models,
                    "ALLOW_LEGACY_BASE_MODELS": str(self._config.allow_legacy_base_models).lower(),
                },
            )
        )
        allowed = self._config.allowed_base_models
        self._bedrock(self.preflight, ["bedrock:GetFoundationModel"], foundation_model_arns(allowed))
        profiles = inference_profile_arns(deployment_teachers(allowed))
        if profiles:
            self._bedrock(self.preflight, ["bedrock:GetInferenceProfile"], profiles)
        # A LEGACY base model's warning is recorded on the run.
        self._registry(self.preflight, REGISTRY_UPDATE)

    def _add_snapshots(self, shared: RuntimeFunctions) -> None:
        """Copies the validated dataset versions to snapshots/<runId>/: the one role the datasets
        bucket's policy lets write there (constructs_lib/snapshots.py)."""
        resources = self._resources
        bucket = resources.datasets_bucket
        self.snapshot_datasets = shared.add(
            FunctionSpec(
                "snapshot_datasets",
                "copy the validated version of every dataset to the run's snapshots",
                # Server-side copies: 10 GB copy in parallel parts in well under the limit.
                timeout=Duration.minutes(15),
                memory_mb=256,
                environment={"DATA_KEY_ARN": resources.data_key.key_arn},
                role_name=role_name(self._config.prefix, SNAPSHOT_WRITER),
            )
        )
        self._registry(self.snapshot_datasets, REGISTRY_UPDATE)
        # The recorded version of each source (CopySource with a VersionId needs GetObjectVersion),
        # listing the bucket so that a missing key (a deleted source, a free snapshot key) is a 404.
        self._read_objects(
            self.snapshot_datasets, bucket, "", actions=("s3:GetObject", "s3:GetObjectVersion")
        )
        self.snapshot_datasets.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteSnapshotsOnce",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{SNAPSHOTS_PREFIX}*")],
            )
        )

    def _add_job_tracking(self, shared: RuntimeFunctions, topic: sns.ITopic) -> None:
        resources = self._resources
        network = resources.job_network
        self.submit_job = shared.add(
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
        self._registry(self.submit_job, REGISTRY_UPDATE)
        # The job and its output model are created tagged with the prefix, from an allowed base model.
        self._bedrock(
            self.submit_job,
            ["bedrock:CreateModelCustomizationJob"],
            [*foundation_model_arns(self._config.allowed_base_models), bedrock_arn("custom-model/*")],
            tagged_on_create(self._prefix),
        )
        self._bedrock(
            self.submit_job,
            ["bedrock:TagResource"],
            [bedrock_arn("model-customization-job/*"), bedrock_arn("custom-model/*")],
            tagged_on_create(self._prefix),
        )
        # A conflict on the job name: read the existing job (and its tags) to prove it is ours.
        self._get_own_jobs(self.submit_job)
        self._bedrock(
            self.submit_job, ["bedrock:ListTagsForResource"], [bedrock_arn("model-customization-job/*")]
        )
        grant_key_use(self.submit_job.role, resources.model_key, services=["bedrock"], grants=True)
        self.submit_job.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassServiceRoleToBedrock",
                actions=["iam:PassRole"],
                resources=[resources.service_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            )
        )

        self.await_job = shared.add(FunctionSpec("await_job", "park the run until its training job ends"))
        self._registry(self.await_job, REGISTRY_UPDATE)
        self._get_own_jobs(self.await_job)
        self._task_response(self.await_job)

        self.job_events = shared.add(
            FunctionSpec("job_events", "resume a run when its job-state event arrives", asynchronous=True)
        )
        self._registry(self.job_events, REGISTRY_QUERY)
        # Only when a Completed event lacks the output model ARN.
        self._get_own_jobs(self.job_events)
        self._task_response(self.job_events)

        self.reconcile = shared.add(
            FunctionSpec(
                "reconcile",
                "resolve runs whose job ended without an event; notify served models of LEGACY bases",
                timeout=Duration.minutes(5),
                environment={"TOPIC_ARN": topic.topic_arn},
                asynchronous=True,
            )
        )
        self._registry(self.reconcile, REGISTRY_QUERY)
        self._get_own_jobs(self.reconcile)
        # Once a day: the lifecycle of served models' foundation models, notified once per run.
        self._bedrock(
            self.reconcile,
            ["bedrock:GetFoundationModel"],
            foundation_model_arns(self._config.allowed_base_models),
        )
        self.reconcile.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PublishLegacyNotices", actions=["sns:Publish"], resources=[topic.topic_arn]
            )
        )
        grant_key_use(self.reconcile.role, self._resources.data_key, services=["sns"])
        self._task_response(self.reconcile)

        self.collect_metrics = shared.add(
            FunctionSpec(
                "collect_metrics",
                "summarise the job's training and validation metrics",
                timeout=Duration.minutes(5),
                environment={"ARTIFACTS_BUCKET": resources.artifacts_bucket.bucket_name},
            )
        )
        self._registry(self.collect_metrics, REGISTRY_UPDATE)
        # Only when the job result lacks the custom model ARN.
        self._get_own_jobs(self.collect_metrics)
        self._read_objects(self.collect_metrics, resources.artifacts_bucket, "jobs/")
        self._write_reports(self.collect_metrics)
        self.collect_metrics.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PublishRunMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource-level permissions: scoped by namespace.
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            )
        )

        self.start_run = shared.add(
            FunctionSpec(
                "start_run",
                "start a run when a manifest lands in the datasets bucket",
                environment={"STATE_MACHINE_ARN": self.state_machine_arn},
                asynchronous=True,
            )
        )
        self.start_run.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StartRuns", actions=["states:StartExecution"], resources=[self.state_machine_arn]
            )
        )

    def _add_serving(self, shared: RuntimeFunctions, schedule_group_name: str) -> None:
        self.expire_serving = shared.add(
            FunctionSpec(
                "expire_serving",
                "delete a run's throughput or deployment when its time to live ends",
                environment={"SCHEDULE_GROUP": schedule_group_name},
                asynchronous=True,
            )
        )
        self._registry(self.expire_serving, REGISTRY_UPDATE)
        self._delete_own_serving(self.expire_serving)

        scheduler_role = self._scheduler_role(schedule_group_name)
        self.serve = shared.add(
            FunctionSpec(
                "serve",
                "provision throughput or deploy the custom model and follow it",
                environment={
                    "SCHEDULE_GROUP": schedule_group_name,
                    "SCHEDULER_ROLE_ARN": scheduler_role.role_arn,
                    "EXPIRY_FUNCTION_ARN": self.expire_serving.function.function_arn,
                    "EXPIRY_DEAD_LETTER_ARN": self.failed_invocations.queue_arn,
                    "MAX_SERVING_POLLS": str(MAX_SERVING_POLLS),
                },
            )
        )
        self._registry(self.serve, REGISTRY_UPDATE)
        # Serve only this deployment's custom models, with serving tagged as this deployment's.
        self._bedrock(
            self.serve,
            ["bedrock:CreateProvisionedModelThroughput", "bedrock:CreateCustomModelDeployment"],
            [bedrock_arn("custom-model/*")],
            merge_conditions(own_resources(self._prefix), tagged_on_create(self._prefix)),
        )
        self._bedrock(
            self.serve,
            ["bedrock:TagResource"],
            self._serving_arns(),
            tagged_on_create(self._prefix),
        )
        self._bedrock(
            self.serve,
            ["bedrock:GetProvisionedModelThroughput", "bedrock:GetCustomModelDeployment"],
            self._serving_arns(),
            own_resources(self._prefix),
        )
        grant_key_use(self.serve.role, self._resources.model_key, services=["bedrock"], grants=True)
        self.serve.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ScheduleServingExpiry",
                actions=["scheduler:CreateSchedule"],
                resources=[self._schedule_arn(schedule_group_name)],
            )
        )
        self.serve.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassSchedulerRole",
                actions=["iam:PassRole"],
                resources=[scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )

    def _add_outcome(self, shared: RuntimeFunctions, schedule_group_name: str, topic: sns.ITopic) -> None:
        self.cleanup = shared.add(
            FunctionSpec(
                "cleanup",
                "stop the job and delete what a failed run created",
                timeout=Duration.minutes(2),
                environment={"SCHEDULE_GROUP": schedule_group_name},
            )
        )
        self.execution_ended = shared.add(
            FunctionSpec(
                "execution_ended",
                "clean up and notify when an execution is aborted or times out",
                timeout=Duration.minutes(2),
                environment={"SCHEDULE_GROUP": schedule_group_name, "TOPIC_ARN": topic.topic_arn},
                asynchronous=True,
            )
        )
        for function in (self.cleanup, self.execution_ended):
            self._registry(function, REGISTRY_UPDATE)
            self._bedrock(
                function,
                list(STOP_JOB),
                [bedrock_arn("model-customization-job/*")],
                own_resources(self._prefix),
            )
            self._delete_own_serving(function)
            function.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DeleteServingExpiry",
                    actions=["scheduler:DeleteSchedule"],
                    resources=[self._schedule_arn(schedule_group_name)],
                )
            )

        self.write_report = shared.add(
            FunctionSpec(
                "write_report",
                "write the run's HTML report at the end of either path",
                timeout=Duration.minutes(2),
                memory_mb=512,
                environment={"ARTIFACTS_BUCKET": self._resources.artifacts_bucket.bucket_name},
            )
        )
        # The report reads the run's record and JSON reports, writes report.html beside them and
        # records its location (or why it is missing) on the run.
        self._registry(self.write_report, REGISTRY_UPDATE)
        self._read_objects(self.write_report, self._resources.artifacts_bucket, "reports/")
        self._write_reports(self.write_report)
        # An aborted or timed-out execution gets its report from execution_ended.
        self.execution_ended.function.add_environment(
            "ARTIFACTS_BUCKET", self._resources.artifacts_bucket.bucket_name
        )
        self._read_objects(self.execution_ended, self._resources.artifacts_bucket, "reports/")
        self._write_reports(self.execution_ended)

        self.notify = shared.add(
            FunctionSpec("notify", "publish the run outcome", environment={"TOPIC_ARN": topic.topic_arn})
        )
        self._registry(self.notify, REGISTRY_UPDATE)
        for function in (self.notify, self.execution_ended):
            function.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="PublishOutcome", actions=["sns:Publish"], resources=[topic.topic_arn]
                )
            )
            grant_key_use(function.role, self._resources.data_key, services=["sns"])

    @property
    def workflow_functions(self) -> WorkflowFunctions:
        return WorkflowFunctions(
            prepare_run=self.prepare_run,
            validate_datasets=self.validate_datasets,
            preflight=self.preflight,
            snapshot_datasets=self.snapshot_datasets,
            submit_job=self.submit_job,
            await_job=self.await_job,
            collect_metrics=self.collect_metrics,
            serve=self.serve,
            notify=self.notify,
            cleanup=self.cleanup,
            write_report=self.write_report,
        )

    def all_functions(self) -> list[RuntimeFunction]:
        return [child for child in self.node.find_all() if isinstance(child, RuntimeFunction)]

    # --- grants ---------------------------------------------------------------------------------

    def _registry(self, function: RuntimeFunction, actions: tuple[str, ...]) -> None:
        self._resources.registry.grant(function.role, *actions)
        grant_key_use(function.role, self._resources.data_key, services=["dynamodb"])

    def _read_datasets(self, function: RuntimeFunction, *, versions: bool = False) -> None:
        # A manifest is read at the version whose upload started the run.
        actions = ("s3:GetObject", "s3:GetObjectVersion") if versions else ("s3:GetObject",)
        self._read_objects(function, self._resources.datasets_bucket, "", actions=actions)

    def _read_objects(
        self,
        function: RuntimeFunction,
        bucket: s3.IBucket,
        prefix: str,
        *,
        actions: tuple[str, ...] = ("s3:GetObject",),
    ) -> None:
        read_objects(function.role, bucket, prefix, actions=actions)
        grant_key_use(function.role, self._resources.data_key, services=["s3"])

    def _write_reports(self, function: RuntimeFunction) -> None:
        bucket = self._resources.artifacts_bucket
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("reports/*")])
        )
        grant_key_use(function.role, self._resources.data_key, services=["s3"])

    @staticmethod
    def _bedrock(
        function: RuntimeFunction,
        actions: list[str],
        resources: list[str],
        conditions: dict[str, dict[str, str]] | None = None,
    ) -> None:
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
        )

    def _get_own_jobs(self, function: RuntimeFunction) -> None:
        self._bedrock(
            function,
            ["bedrock:GetModelCustomizationJob"],
            [bedrock_arn("model-customization-job/*")],
            own_resources(self._prefix),
        )

    def _delete_own_serving(self, function: RuntimeFunction) -> None:
        self._bedrock(function, list(DELETE_SERVING), self._serving_arns(), own_resources(self._prefix))

    @staticmethod
    def _serving_arns() -> list[str]:
        return [bedrock_arn("provisioned-model/*"), bedrock_arn("custom-model-deployment/*")]

    def _task_response(self, function: RuntimeFunction) -> None:
        # A separate policy: the function must not depend on the state machine that invokes it.
        iam.Policy(
            function,
            "TaskResponse",
            roles=[function.role],
            statements=[
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[self.state_machine_arn],
                )
            ],
        )

    def _schedule_arn(self, group_name: str) -> str:
        return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{group_name}/*"

    def _scheduler_role(self, group_name: str) -> iam.Role:
        role = iam.Role(
            self,
            "SchedulerRole",
            description=f"{self._config.prefix}: EventBridge Scheduler invokes the serving-expiry function",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{group_name}/*"
                        )
                    },
                },
            ),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.expire_serving.function.function_arn]
            )
        )
        # A schedule that cannot invoke the function leaves its event in the dead-letter queue.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.failed_invocations.queue_arn])
        )
        grant_key_use(
            role, self._resources.data_key, services=["sqs"], actions=("kms:GenerateDataKey", "kms:Decrypt")
        )
        return role

    def _acknowledge_scoped_wildcards(self) -> None:
        registry = self._resources.registry
        for function in self.all_functions():
            acknowledge_nag(
                function.role,
                "AwsSolutions-IAM5",
                "Bedrock job, custom model, throughput and deployment ids are assigned by Bedrock at run time, "
                "so statements are scoped to those resource types in this account and region and, where IAM "
                "supports it, to resources tagged with this deployment's prefix; foundation models to the "
                "allowed base models when configured; registry access includes its indexes; S3 access is "
                "limited to the workflow's prefixes (reports/, jobs/, snapshots/) or to the datasets bucket's "
                "objects; schedules to this deployment's schedule group.",
                applies_to=[
                    f"Resource::{arn_wildcard_finding(registry, '/index/*').removeprefix('Resource::')}",
                    arn_wildcard_finding(self._resources.datasets_bucket, "/*"),
                    arn_wildcard_finding(self._resources.datasets_bucket, f"/{SNAPSHOTS_PREFIX}*"),
                    arn_wildcard_finding(self._resources.artifacts_bucket, "/reports/*"),
                    arn_wildcard_finding(self._resources.artifacts_bucket, "/jobs/*"),
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/*",
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model/*",
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:model-customization-job/*",
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:provisioned-model/*",
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model-deployment/*",
                    "Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/"
                    f"<{Stack.of(self).resolve(Stack.of(self).get_logical_id(self.schedule_group))}>/*",
                    "Resource::*",
                ],
                apply_to_children=True,
            )


def read_objects(
    role: iam.IRole, bucket: s3.IBucket, prefix: str, *, actions: tuple[str, ...] = ("s3:GetObject",)
) -> None:
    """Read objects under `prefix` and list that prefix.

    Without s3:ListBucket, S3 answers a GET or HEAD of a missing key with 403 AccessDenied, not
    404 NoSuchKey. The list permission is scoped to the same prefix with `s3:prefix`; S3 checks
    it with the missing object's key as the prefix.
    """
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(f"{prefix}*")])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    )
