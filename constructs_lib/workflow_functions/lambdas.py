"""The construct that creates the workflow's functions, one group of the run at a time."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from bmc.tenancy import SNAPSHOTS_PREFIX
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.functions import RuntimeFunction, RuntimeFunctions
from constructs_lib.queues import dead_letter_queue
from constructs_lib.registry import AWAITING_INDEX, JOB_ARN_INDEX
from constructs_lib.workflow import WorkflowFunctions
from constructs_lib.workflow_functions.grants import WorkflowGrants
from constructs_lib.workflow_functions.outcome import add_outcome
from constructs_lib.workflow_functions.preparation import add_preparation
from constructs_lib.workflow_functions.props import WorkflowResources, WorkflowSettings
from constructs_lib.workflow_functions.serving import add_serving
from constructs_lib.workflow_functions.training import add_training


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
        settings: WorkflowSettings,
        resources: WorkflowResources,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._resources = resources
        self.state_machine_arn = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{settings.prefix}-customization"
        self.failed_invocations = self._failed_invocations_queue()
        shared = RuntimeFunctions(
            self,
            "Runtime",
            prefix=settings.prefix,
            data_key=resources.data_key,
            log_retention=resources.log_retention,
            removal_policy=resources.removal_policy,
            common_environment={
                "PREFIX": settings.prefix,
                "REGISTRY_TABLE": resources.registry.table_name,
                "JOB_ARN_INDEX": JOB_ARN_INDEX,
                "AWAITING_INDEX": AWAITING_INDEX,
            },
            failed_invocations=self.failed_invocations,
        )
        # The code asset, layer and settings, for functions added beside the workflow's (evaluation).
        self.runtime = shared
        self.schedule_group = scheduler.CfnScheduleGroup(self, "ServingExpiryGroup")
        grants = WorkflowGrants(
            resources=resources, prefix=settings.prefix, state_machine_arn=self.state_machine_arn
        )

        self.preparation = add_preparation(shared, grants, settings=settings, resources=resources)

        self.training = add_training(
            shared,
            grants,
            settings=settings,
            resources=resources,
            topic=topic,
            state_machine_arn=self.state_machine_arn,
        )

        self.serving = add_serving(
            self,
            shared,
            grants,
            settings=settings,
            resources=resources,
            schedule_group_name=self.schedule_group.ref,
            failed_invocations=self.failed_invocations,
        )

        self.outcome = add_outcome(
            shared,
            grants,
            settings=settings,
            resources=resources,
            schedule_group_name=self.schedule_group.ref,
            topic=topic,
        )
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

    @property
    def workflow_functions(self) -> WorkflowFunctions:
        preparation, training, outcome = self.preparation, self.training, self.outcome
        return WorkflowFunctions(
            prepare_run=preparation.prepare_run,
            validate_datasets=preparation.validate_datasets,
            preflight=preparation.preflight,
            snapshot_datasets=preparation.snapshot_datasets,
            submit_job=training.submit_job,
            await_job=training.await_job,
            collect_metrics=training.collect_metrics,
            serve=self.serving.serve,
            notify=outcome.notify,
            cleanup=outcome.cleanup,
            write_report=outcome.write_report,
        )

    def all_functions(self) -> list[RuntimeFunction]:
        return [child for child in self.node.find_all() if isinstance(child, RuntimeFunction)]

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
