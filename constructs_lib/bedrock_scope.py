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


# US system inference profiles route to these regions (Bedrock user guide, "Supported Regions and
# models for inference profiles"); a policy must allow the model in each of them.
PROFILE_DESTINATIONS = {"us.": ("us-east-1", "us-east-2", "us-west-2")}


def bedrock_arn(resource: str, region: str = Aws.REGION) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{region}:{Aws.ACCOUNT_ID}:{resource}"


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


def invocation_arns(model_id: str, region: str = Aws.REGION) -> list[str]:
    """What ``bedrock:InvokeModel`` must allow to call ``model_id`` (a model or system profile id)
    from ``region``: the model, or the profile and its model in every destination region."""
    for prefix, destinations in PROFILE_DESTINATIONS.items():
        if model_id.startswith(prefix):
            target = model_id.removeprefix(prefix)
            return [
                bedrock_arn(f"inference-profile/{model_id}", region),
                *(foundation_model_arn(target, destination) for destination in destinations),
            ]
    return [foundation_model_arn(model_id, region)]


def base_model_invocation_arns(models: list[Model]) -> list[str]:
    """Every evaluable base model as the catalog invokes it on demand, in each region it names."""
    arns = {
        arn
        for model in models
        if model.inference.evaluable
        for region, model_id in model.inference.base_model_ids.items()
        for arn in invocation_arns(model_id, region)
    }
    return sorted(arns)


def merge_conditions(*blocks: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """One condition block from several (operators merged, keys kept)."""
    merged: dict[str, dict[str, str]] = {}
    for block in blocks:
        for operator, entries in block.items():
            merged.setdefault(operator, {}).update(entries)
    return merged
