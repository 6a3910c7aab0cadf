"""The grants the workflow's functions share, each scoped to what the function touches."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs_lib.bedrock_scope import bedrock_arn, own_resources
from constructs_lib.buckets import read_objects
from constructs_lib.functions import RuntimeFunction
from constructs_lib.keys import grant_key_use
from constructs_lib.workflow_functions.props import WorkflowResources

# Registry calls: every function that touches the registry reads and transitions runs.
REGISTRY_UPDATE = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# Finding a run by job ARN (events) or listing the runs awaiting their job (reconciler).
REGISTRY_QUERY = ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query")
DELETE_SERVING = ("bedrock:DeleteProvisionedModelThroughput", "bedrock:DeleteCustomModelDeployment")
STOP_JOB = ("bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob")


def serving_arns() -> list[str]:
    return [bedrock_arn("provisioned-model/*"), bedrock_arn("custom-model-deployment/*")]


def schedule_arn(group_name: str) -> str:
    return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{group_name}/*"


def allow_bedrock(
    function: RuntimeFunction,
    actions: list[str],
    resources: list[str],
    conditions: dict[str, dict[str, str]] | None = None,
) -> None:
    function.role.add_to_principal_policy(
        iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
    )


class WorkflowGrants:
    """Grants on the foundation's resources and this deployment's Bedrock resources (tag
    ``bmc:prefix``); key use goes through the service that stores the data (``kms:ViaService``)."""

    def __init__(self, *, resources: WorkflowResources, prefix: str, state_machine_arn: str) -> None:
        self._resources = resources
        self._prefix = prefix
        self._state_machine_arn = state_machine_arn

    def registry(self, function: RuntimeFunction, actions: tuple[str, ...]) -> None:
        self._resources.registry.grant(function.role, *actions)
        grant_key_use(function.role, self._resources.data_key, services=["dynamodb"])

    def read_datasets(self, function: RuntimeFunction, *, versions: bool = False) -> None:
        # A manifest is read at the version whose upload started the run.
        actions = ("s3:GetObject", "s3:GetObjectVersion") if versions else ("s3:GetObject",)
        self.read_objects(function, self._resources.datasets_bucket, "", actions=actions)

    def read_objects(
        self,
        function: RuntimeFunction,
        bucket: s3.IBucket,
        prefix: str,
        *,
        actions: tuple[str, ...] = ("s3:GetObject",),
    ) -> None:
        read_objects(function.role, bucket, prefix, actions=actions)
        grant_key_use(function.role, self._resources.data_key, services=["s3"])

    def write_reports(self, function: RuntimeFunction) -> None:
        bucket = self._resources.artifacts_bucket
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("reports/*")])
        )
        grant_key_use(function.role, self._resources.data_key, services=["s3"])

    def get_own_jobs(self, function: RuntimeFunction) -> None:
        allow_bedrock(
            function,
            ["bedrock:GetModelCustomizationJob"],
            [bedrock_arn("model-customization-job/*")],
            own_resources(self._prefix),
        )

    def delete_own_serving(self, function: RuntimeFunction) -> None:
        allow_bedrock(function, list(DELETE_SERVING), serving_arns(), own_resources(self._prefix))

    def task_response(self, function: RuntimeFunction) -> None:
        # A separate policy: the function must not depend on the state machine that invokes it.
        iam.Policy(
            function,
            "TaskResponse",
            roles=[function.role],
            statements=[
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[self._state_machine_arn],
                )
            ],
        )
