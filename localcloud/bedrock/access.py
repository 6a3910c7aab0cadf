"""What Bedrock checks before it acts on a caller's behalf: the teacher a distillation job
names, and whether the key of a custom model lets Bedrock itself serve it."""

from __future__ import annotations

from typing import Any

from moto.kms.exceptions import NotFoundException
from moto.kms.models import kms_backends

from localcloud.bedrock.account import BedrockAccount
from localcloud.bedrock.errors import BedrockError, validation_error
from localcloud.iam_policy import Request, allows, statements_of

NOVA = "amazon.nova"
# The encryption context key of a custom model's weights.
CUSTOM_MODEL_CONTEXT = "aws:bedrock:custom-model"


def check_teacher(backend: BedrockAccount, customization_config: Any) -> None:
    """A distillation job names its teacher by foundation model id or, for models that
    cannot be invoked on demand, by a system inference profile available here."""
    try:
        identifier = str(
            customization_config["distillationConfig"]["teacherModelConfig"]["teacherModelIdentifier"]
        )
    except (KeyError, TypeError):
        raise validation_error(
            "customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier is "
            "required for DISTILLATION"
        ) from None
    if backend.inference_profile(identifier) is not None:
        return
    teacher = backend.foundation_model(identifier)
    if teacher is None:
        raise validation_error(f"The provided teacher model identifier is invalid: {identifier}")
    if "ON_DEMAND" not in teacher.inference_types_supported:
        # What Bedrock answers when a profile-only model is named by its model id.
        raise validation_error(
            f"Invocation of model ID {teacher.model_id} with on-demand throughput isn't supported. "
            "Retry your request with the ID or ARN of an inference profile that contains this model."
        )


def check_model_key(backend: BedrockAccount, model_arn: str) -> None:
    """Bedrock itself decrypts a custom Nova model encrypted with a customer managed key to
    serve it (the Nova guide's PermissionsNovaProvisionedThroughput key policy statement).
    The key policy of the local KMS decides, as KMS would; a key it does not hold is not
    checked (handler tests name placeholder keys)."""
    model = next((m for m in backend.models.values() if m.model_arn == model_arn), None)
    if model is None or not model.model_kms_key_arn or not model.job.base_model_id.startswith(NOVA):
        return
    try:
        key = kms_backends[backend.account_id][backend.region_name].describe_key(model.model_kms_key_arn)
    except (KeyError, NotFoundException):
        return
    bedrock = {"Service": "bedrock.amazonaws.com"}
    context = {"kms:EncryptionContextKeys": [CUSTOM_MODEL_CONTEXT], "aws:SourceAccount": backend.account_id}
    statements = statements_of(key.policy)
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        if not allows(statements, Request(action, key.arn, bedrock, context)):
            raise BedrockError(
                "AccessDeniedException",
                f"Amazon Bedrock cannot use the KMS key {key.arn} of custom model {model.model_name}: "
                f"the key policy does not allow bedrock.amazonaws.com to call {action} with the "
                f"encryption context key {CUSTOM_MODEL_CONTEXT}.",
            )
