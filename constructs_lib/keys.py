"""Customer managed KMS keys: one for data at rest, one for custom model weights.

Each key policy separates administration from use:

- Key administrators (config `keyAdministrators`; by default the account, so that IAM policies
  decide who administers, as for CloudFormation's deployment role) may manage the key: policy,
  rotation, tags, aliases, deletion. Not one of them may encrypt or decrypt with it.
- Use is granted to the account only through the AWS services this deployment's data lives in
  (`kms:ViaService` + `kms:CallerAccount`), so an IAM policy can let a role read data through
  S3, DynamoDB, SNS, SQS, Lambda or Bedrock, never call `kms:Decrypt` on a ciphertext directly.
- Grants are created only by AWS services for their resources (`kms:GrantIsForAWSResource`).
- Service principals are admitted narrowly: CloudWatch Logs for this deployment's log groups,
  EventBridge for this account's rules (dead letters), Bedrock for this account's custom models.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What a principal needs to read and write data that a service encrypts under the key.
KEY_USER_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
# Managing a key, never using it (CDK's admin set, spelled out, without CreateGrant).
KEY_ADMIN_ACTIONS = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:UpdateKeyDescription",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
# Services that store this deployment's data under the data key on a caller's behalf.
DATA_SERVICES = ("s3", "dynamodb", "sns", "sqs", "lambda")
# The context key Bedrock puts in the encryption context of a custom model's weights.
BEDROCK_CUSTOM_MODEL_CONTEXT = "aws:bedrock:custom-model"


def via(*services: str) -> list[str]:
    """`kms:ViaService` values of the given services in this region."""
    return [f"{service}.{Aws.REGION}.amazonaws.com" for service in services]


def grants_for_aws_resources() -> dict[str, dict[str, str]]:
    return {"Bool": {"kms:GrantIsForAWSResource": "true"}}


class EncryptionKeys(Construct):
    """The data key (buckets, logs, registry, topic, queues) and the model key (custom model weights).

    Both rotate yearly. `stack_names` are the deployment's stacks: CloudFormation names their log
    groups after them (`<stack>-<logical id>-<suffix>`), which is how the key policy recognises
    this deployment's own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        removal_policy: RemovalPolicy,
        administrators: Sequence[str],
        stack_names: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._administrators = self._admin_principals(administrators)
        self.data_key = self._key(
            "DataKey",
            f"{prefix}: data at rest (datasets, artifacts, logs, registry, notifications)",
            f"alias/{prefix}/data",
            removal_policy,
        )
        self.model_key = self._key(
            "ModelKey",
            f"{prefix}: custom model weights produced by Bedrock customization jobs",
            f"alias/{prefix}/model",
            removal_policy,
        )
        self._allow_account_use(self.data_key, DATA_SERVICES)
        self._allow_lambda_environment_encryption()
        self._allow_cloudwatch_logs(stack_names)
        self._allow_eventbridge_dead_letters()
        self._allow_account_use(self.model_key, ("bedrock",))
        self._allow_bedrock_custom_models()

    # --- the two keys ---------------------------------------------------------------------------

    def _key(self, construct_id: str, description: str, alias: str, removal_policy: RemovalPolicy) -> kms.Key:
        # An explicit policy replaces CDK's default (account root: kms:*).
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="KeyAdministration",
                    principals=self._administrators,
                    actions=list(KEY_ADMIN_ACTIONS),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="GrantsOnlyForAwsResources",
                    principals=[iam.AccountRootPrincipal()],
                    actions=["kms:CreateGrant"],
                    resources=["*"],
                    conditions={
                        **grants_for_aws_resources(),
                        "StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID},
                    },
                ),
            ]
        )
        return kms.Key(
            self,
            construct_id,
            description=description,
            alias=alias,
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=removal_policy,
            policy=policy,
        )

    def _admin_principals(self, administrators: Sequence[str]) -> list[iam.IPrincipal]:
        """The configured administrators plus the role CloudFormation deploys with, or the account."""
        if not administrators:
            return [iam.AccountRootPrincipal()]
        principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in administrators]
        synthesizer = Stack.of(self).synthesizer
        if isinstance(synthesizer, DefaultStackSynthesizer):
            # KMS refuses a policy that would lock out its own deployer (the lockout safety check).
            principals.append(iam.ArnPrincipal(Fn.sub(synthesizer.cloud_formation_execution_role_arn)))
        return principals

    # --- who may use them -----------------------------------------------------------------------

    @staticmethod
    def _allow_account_use(key: kms.Key, services: Sequence[str]) -> None:
        """IAM policies of this account may grant use of the key, only through these services."""
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="UseOnlyThroughServicesOfThisAccount",
                principals=[iam.AccountRootPrincipal()],
                actions=list(KEY_USER_ACTIONS),
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID, "kms:ViaService": via(*services)}
                },
            )
        )

    def _allow_lambda_environment_encryption(self) -> None:
        """Lambda encrypts the functions' environment variables when CloudFormation deploys them."""
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EncryptLambdaEnvironments",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:Encrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID, "kms:ViaService": via("lambda")}
                },
            )
        )

    def _allow_cloudwatch_logs(self, stack_names: Sequence[str]) -> None:
        """The deployment's log groups (CloudFormation names them `<stack>-<logical id>-<suffix>`)."""
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisDeployment",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": [
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{name}-*"
                            for name in stack_names
                        ]
                    }
                },
            )
        )

    def _allow_eventbridge_dead_letters(self) -> None:
        """EventBridge writes events it cannot deliver into a queue encrypted with the data key.

        Scoped to this account only: rule names are generated by CloudFormation and truncated to
        64 characters, so a stack-name pattern could miss a rule and lose its dead letters.
        """
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeDeadLettersOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )

    def _allow_bedrock_custom_models(self) -> None:
        """Bedrock itself decrypts a custom Nova model's weights to serve it (provisioned throughput,
        on-demand deployment): the Nova user guide's PermissionsNovaProvisionedThroughput statement,
        limited to requests made for this account."""
        self.model_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PermissionsNovaProvisionedThroughput",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": BEDROCK_CUSTOM_MODEL_CONTEXT},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )

    def allow_service_role(self, role: iam.IRole) -> None:
        """Let the Bedrock service role use the keys only through Bedrock (and S3 for the data key)."""
        for key, sid, services in (
            (self.model_key, "BedrockServiceRoleViaBedrock", ("bedrock",)),
            (self.data_key, "BedrockServiceRoleViaBedrockAndS3", ("bedrock", "s3")),
        ):
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[role],
                    actions=list(KEY_USER_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": {"kms:ViaService": via(*services)}},
                )
            )
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"{sid}Grants",
                    principals=[role],
                    actions=["kms:CreateGrant"],
                    resources=["*"],
                    conditions={
                        **grants_for_aws_resources(),
                        "StringEquals": {"kms:ViaService": via(*services)},
                    },
                )
            )


def grant_key_use(
    role: iam.IRole,
    key: kms.IKey,
    *,
    services: Sequence[str],
    actions: Sequence[str] = KEY_USER_ACTIONS,
    grants: bool = False,
) -> None:
    """Let `role` use `key` only through `services` (and create grants for AWS resources)."""
    conditions = {"StringEquals": {"kms:ViaService": via(*sorted(set(services)))}}
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[key.key_arn], conditions=conditions)
    )
    if grants:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={**grants_for_aws_resources(), **conditions},
            )
        )
