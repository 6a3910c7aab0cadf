"""Customer managed KMS keys: one for data at rest, one for custom model weights."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What a service needs to read and write data under a key on a caller's behalf.
KEY_USER_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


class EncryptionKeys(Construct):
    """The data key (buckets, logs, registry, topic) and the model key (custom model weights).

    Both rotate yearly. Key policies admit AWS services only through `kms:ViaService` or an
    encryption-context condition, so no service can use a key outside this deployment's
    resources.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, prefix: str, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"{prefix}: data at rest (datasets, artifacts, logs, registry, notifications)",
            alias=f"alias/{prefix}/data",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=removal_policy,
        )
        self.model_key = kms.Key(
            self,
            "ModelKey",
            description=f"{prefix}: custom model weights produced by Bedrock customization jobs",
            alias=f"alias/{prefix}/model",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=removal_policy,
        )
        self._allow_cloudwatch_logs()
        self._allow_eventbridge_dead_letters()

    def _allow_cloudwatch_logs(self) -> None:
        """Log groups of this account (flow logs, Lambda, state machine, API access) use the data key."""
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    *KEY_USER_ACTIONS,
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

    def _allow_eventbridge_dead_letters(self) -> None:
        """EventBridge writes events it cannot deliver into a queue encrypted with the data key."""
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeDeadLettersOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )

    def allow_service_role(self, role: iam.IRole) -> None:
        """Let the Bedrock service role use the keys only through Bedrock (and S3 for the data key)."""
        self.model_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockServiceRoleViaBedrock",
                principals=[role],
                actions=[*KEY_USER_ACTIONS, "kms:CreateGrant"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"bedrock.{Aws.REGION}.amazonaws.com"}},
            )
        )
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockServiceRoleViaBedrockAndS3",
                principals=[role],
                actions=[*KEY_USER_ACTIONS, "kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"bedrock.{Aws.REGION}.amazonaws.com",
                            f"s3.{Aws.REGION}.amazonaws.com",
                        ]
                    }
                },
            )
        )
