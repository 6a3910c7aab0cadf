"""What the workflow's functions are configured with and work on (the props of WorkflowLambdas)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from bmc.tenancy import Tenancy

from constructs_lib.network import JobNetwork


@dataclass(frozen=True)
class ServingDefaults:
    """How a run serves its model when its manifest does not say."""

    mode: str = "none"
    model_units: int = 1
    commitment: str = "none"
    ttl_hours: int | None = None
    idle_action: str = "notify"


@dataclass(frozen=True)
class WorkflowSettings:
    """The deployment's configuration the functions read (from the app's typed configuration)."""

    prefix: str
    allowed_base_models: tuple[str, ...]
    allow_legacy_base_models: bool
    serving: ServingDefaults
    tenancy: Tenancy


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
