"""Keys, network, buckets, the Bedrock service role and the registry: what every run needs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.bedrock_scope import deployment_teachers
from constructs_lib.buckets import AccessLogsBucket, SecureBucket
from constructs_lib.keys import EncryptionKeys
from constructs_lib.network import TrainingNetwork
from constructs_lib.private_endpoints import PrivateEndpoints
from constructs_lib.registry import RunRegistry
from constructs_lib.service_role import BedrockServiceRole
from constructs_lib.snapshots import protect_snapshots
from stacks.config import LOG_RETENTION_DAYS, AppConfig
from stacks.names import stack_names


class FoundationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal_policy = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.log_retention = retention_days(config.log_retention_days)

        self.keys = EncryptionKeys(
            self,
            "Keys",
            prefix=config.prefix,
            removal_policy=removal_policy,
            administrators=config.key_administrators,
            stack_names=stack_names(config.prefix),
        )
        access_logs = AccessLogsBucket(self, "AccessLogs", removal_policy=removal_policy).bucket
        # Inputs and manifests: object-created events reach EventBridge to start runs.
        self.datasets_bucket = SecureBucket(
            self,
            "Datasets",
            encryption_key=self.keys.data_key,
            access_logs=access_logs,
            removal_policy=removal_policy,
            event_bridge_enabled=True,
        ).bucket
        protect_snapshots(self.datasets_bucket, prefix=config.prefix)
        # Job outputs and reports: a separate bucket, so nothing the workflow writes starts a run.
        self.artifacts_bucket = SecureBucket(
            self,
            "Artifacts",
            encryption_key=self.keys.data_key,
            access_logs=access_logs,
            removal_policy=removal_policy,
        ).bucket
        self.network = TrainingNetwork(
            self,
            "Network",
            config=config.network,
            data_key=self.keys.data_key,
            log_retention=self.log_retention,
            removal_policy=removal_policy,
        )
        if config.private_endpoints:
            job_network = self.network.job_network
            self.private_endpoints = PrivateEndpoints(
                self,
                "PrivateEndpoints",
                prefix=config.prefix,
                services=config.private_endpoints,
                vpc_id=job_network.vpc_id,
                subnet_ids=job_network.subnet_ids,
                vpc_cidr=self.network.vpc.vpc_cidr_block if self.network.vpc is not None else None,
            )
        self.service_role = BedrockServiceRole(
            self,
            "BedrockServiceRole",
            datasets_bucket=self.datasets_bucket,
            artifacts_bucket=self.artifacts_bucket,
            job_network=self.network.job_network,
            teachers=deployment_teachers(config.allowed_base_models),
        ).role
        self.keys.allow_service_role(self.service_role)
        self.registry = RunRegistry(
            self, "Registry", encryption_key=self.keys.data_key, removal_policy=removal_policy
        ).table
        self._outputs(config.prefix)

    def _outputs(self, prefix: str) -> None:
        job_network = self.network.job_network
        outputs = {
            "DatasetsBucketName": (self.datasets_bucket.bucket_name, "Upload datasets and manifests/ here"),
            "ArtifactsBucketName": (self.artifacts_bucket.bucket_name, "Job outputs and run reports"),
            "ServiceRoleArn": (self.service_role.role_arn, "Role Bedrock assumes for customization jobs"),
            "DataKeyArn": (self.keys.data_key.key_arn, "KMS key for data at rest"),
            "ModelKeyArn": (self.keys.model_key.key_arn, "KMS key for custom model weights"),
            "RegistryTableName": (self.registry.table_name, "DynamoDB registry of runs"),
            "VpcId": (job_network.vpc_id, "VPC of customization jobs"),
            "JobSubnetIds": (",".join(job_network.subnet_ids), "Subnets of customization jobs"),
            "JobSecurityGroupId": (job_network.security_group_id, "Security group of customization jobs"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description, export_name=f"{prefix}-{name}")


def retention_days(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a day count that config validation already accepted."""
    members = [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE]
    by_days = dict(zip(LOG_RETENTION_DAYS, members, strict=True))
    return by_days[days]
