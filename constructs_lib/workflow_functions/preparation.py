"""Before training: parse and register the run, validate its datasets, check its base model,
snapshot the validated data."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from bmc.tenancy import SNAPSHOTS_PREFIX, TENANCY_VARIABLE

from constructs_lib.bedrock_scope import deployment_teachers, foundation_model_arns, inference_profile_arns
from constructs_lib.functions import FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.snapshots import SNAPSHOT_WRITER, role_name
from constructs_lib.workflow_functions.grants import (
    REGISTRY_QUERY,
    REGISTRY_UPDATE,
    WorkflowGrants,
    allow_bedrock,
)
from constructs_lib.workflow_functions.props import WorkflowResources, WorkflowSettings


@dataclass(frozen=True)
class PreparationFunctions:
    prepare_run: RuntimeFunction
    validate_datasets: RuntimeFunction
    preflight: RuntimeFunction
    snapshot_datasets: RuntimeFunction


def add_preparation(
    shared: RuntimeFunctions,
    grants: WorkflowGrants,
    *,
    settings: WorkflowSettings,
    resources: WorkflowResources,
) -> PreparationFunctions:
    allowed_models = ",".join(settings.allowed_base_models)
    serving_defaults = json.dumps(
        {
            "mode": settings.serving.mode,
            "modelUnits": settings.serving.model_units,
            "commitment": settings.serving.commitment,
            "ttlHours": settings.serving.ttl_hours,
            "idleAction": settings.serving.idle_action,
        }
    )
    prepare_run = shared.add(
        FunctionSpec(
            "prepare_run",
            "parse and validate a run spec, register the run",
            environment={
                "ALLOWED_BASE_MODELS": allowed_models,
                "DEFAULT_SERVING": serving_defaults,
                "DATASETS_BUCKET": resources.datasets_bucket.bucket_name,
                TENANCY_VARIABLE: settings.tenancy.to_environment(),
            },
        )
    )
    # Query: a custom model ARN base is looked up among the owner's runs (index byTeam).
    grants.registry(prepare_run, REGISTRY_QUERY)
    grants.read_datasets(prepare_run, versions=True)

    validate_datasets = shared.add(
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
    grants.registry(validate_datasets, REGISTRY_UPDATE)
    grants.read_datasets(validate_datasets)
    grants.write_reports(validate_datasets)

    preflight = shared.add(
        FunctionSpec(
            "preflight",
            "check the base model is available for this customization here",
            environment={
                "ALLOWED_BASE_MODELS": allowed_models,
                "ALLOW_LEGACY_BASE_MODELS": str(settings.allow_legacy_base_models).lower(),
            },
        )
    )
    allowed = settings.allowed_base_models
    allow_bedrock(preflight, ["bedrock:GetFoundationModel"], foundation_model_arns(allowed))
    profiles = inference_profile_arns(deployment_teachers(allowed))
    if profiles:
        allow_bedrock(preflight, ["bedrock:GetInferenceProfile"], profiles)
    # A LEGACY base model's warning is recorded on the run.
    grants.registry(preflight, REGISTRY_UPDATE)

    return PreparationFunctions(
        prepare_run=prepare_run,
        validate_datasets=validate_datasets,
        preflight=preflight,
        snapshot_datasets=_add_snapshots(shared, grants, settings=settings, resources=resources),
    )


def _add_snapshots(
    shared: RuntimeFunctions,
    grants: WorkflowGrants,
    *,
    settings: WorkflowSettings,
    resources: WorkflowResources,
) -> RuntimeFunction:
    """Copies the validated dataset versions to snapshots/<runId>/: the one role the datasets
    bucket's policy lets write there (constructs_lib/snapshots.py)."""
    bucket = resources.datasets_bucket
    snapshot_datasets = shared.add(
        FunctionSpec(
            "snapshot_datasets",
            "copy the validated version of every dataset to the run's snapshots",
            # Server-side copies: 10 GB copy in parallel parts in well under the limit.
            timeout=Duration.minutes(15),
            memory_mb=256,
            environment={"DATA_KEY_ARN": resources.data_key.key_arn},
            role_name=role_name(settings.prefix, SNAPSHOT_WRITER),
        )
    )
    grants.registry(snapshot_datasets, REGISTRY_UPDATE)
    # The recorded version of each source (CopySource with a VersionId needs GetObjectVersion),
    # listing the bucket so that a missing key (a deleted source, a free snapshot key) is a 404.
    grants.read_objects(snapshot_datasets, bucket, "", actions=("s3:GetObject", "s3:GetObjectVersion"))
    snapshot_datasets.role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="WriteSnapshotsOnce",
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[bucket.arn_for_objects(f"{SNAPSHOTS_PREFIX}*")],
        )
    )
    return snapshot_datasets
