"""Which Bedrock resources a deployment's policies name: ARNs, tag conditions, allowed models.

Jobs, custom models, throughputs and deployments get their ids from Bedrock at run time, so
policies name their resource types in this account and region and, where the Service
Authorization Reference lists the tag condition keys for an action, require this deployment's
`bmc:prefix` tag. Foundation models and system inference profiles are named one by one when
the deployment has an allow-list of base models.
"""

from __future__ import annotations

from aws_cdk import Aws
from bmc.catalog.models import Model, Teacher, all_models, resolve_model, resolve_teacher
from bmc.runspec import WORKFLOW_TAG_KEYS

PREFIX_TAG = WORKFLOW_TAG_KEYS[1]  # bmc:prefix, on every job, custom model, throughput and deployment


def bedrock_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def foundation_model_arn(model_id: str = "*", region: str = Aws.REGION) -> str:
    # Foundation models are owned by AWS: no account in their ARN.
    return f"arn:{Aws.PARTITION}:bedrock:{region}::foundation-model/{model_id}"


def own_resources(prefix: str) -> dict[str, dict[str, str]]:
    """Condition: the Bedrock resource carries this deployment's prefix tag."""
    return {"StringEquals": {f"aws:ResourceTag/{PREFIX_TAG}": prefix}}


def tagged_on_create(prefix: str) -> dict[str, dict[str, str]]:
    """Condition: the request creates (or tags) the resource with this deployment's prefix tag."""
    return {"StringEquals": {f"aws:RequestTag/{PREFIX_TAG}": prefix}}


def deployment_models(allowed_base_models: tuple[str, ...]) -> list[Model]:
    """The base models this deployment may customize: the allow-list, or every catalog model."""
    if allowed_base_models:
        return [resolve_model(model_id) for model_id in allowed_base_models]
    return all_models()


def deployment_teachers(allowed_base_models: tuple[str, ...]) -> list[Teacher]:
    """The distillation teachers of those models."""
    ids = {t for model in deployment_models(allowed_base_models) for t in model.distillation_teachers}
    return [resolve_teacher(teacher_id) for teacher_id in sorted(ids)]


def foundation_model_arns(allowed_base_models: tuple[str, ...]) -> list[str]:
    """`foundation-model/...` ARNs of the allowed base models and their teachers (all without a list)."""
    if not allowed_base_models:
        return [foundation_model_arn()]
    ids = {model.customization_id for model in deployment_models(allowed_base_models)}
    ids |= {teacher.model_id for teacher in deployment_teachers(allowed_base_models)}
    return [foundation_model_arn(model_id) for model_id in sorted(ids)]


def inference_profile_arns(teachers: list[Teacher]) -> list[str]:
    """The system inference profiles the profile-only teachers are invoked through."""
    return sorted(bedrock_arn(f"inference-profile/{t.invocation_id}") for t in teachers if not t.on_demand)


def merge_conditions(*blocks: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """One condition block from several (operators merged, keys kept)."""
    merged: dict[str, dict[str, str]] = {}
    for block in blocks:
        for operator, entries in block.items():
            merged.setdefault(operator, {}).update(entries)
    return merged
