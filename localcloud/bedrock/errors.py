"""Errors the simulated Bedrock answers with, in botocore's shapes, and scripted failures."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.session import get_session
from moto.core.exceptions import JsonRESTError


def error_status_codes(service: str = "bedrock") -> dict[str, int]:
    model = get_session().get_service_model(service)
    return {
        shape.name: int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        for shape in model.error_shapes
    }


ERROR_STATUS_CODES: dict[str, int] = error_status_codes()
RUNTIME_ERROR_STATUS_CODES: dict[str, int] = error_status_codes("bedrock-runtime")


class BedrockError(JsonRESTError):
    """A Bedrock error with the HTTP status the service model gives its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = ERROR_STATUS_CODES.get(code, 400)


class RuntimeApiError(JsonRESTError):
    """A bedrock-runtime error with the HTTP status its service model gives the code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.error_code = code
        self.code = RUNTIME_ERROR_STATUS_CODES.get(code, 400)


def validation_error(message: str) -> BedrockError:
    return BedrockError("ValidationException", message)


def not_found(message: str) -> BedrockError:
    return BedrockError("ResourceNotFoundException", message)


def conflict(message: str) -> BedrockError:
    return BedrockError("ConflictException", message)


@dataclass(frozen=True)
class ScriptedError:
    """An error a call will fail with; see ``BedrockSimulator.fail_next``."""

    code: str
    message: str


def throttling(message: str = "Too many requests, please wait before trying again.") -> ScriptedError:
    return ScriptedError("ThrottlingException", message)


def quota_exceeded(
    message: str = "The number of model customization jobs in progress exceeds the quota.",
) -> ScriptedError:
    return ScriptedError("ServiceQuotaExceededException", message)


def role_not_assumable(role_arn: str = "the provided role") -> ScriptedError:
    # What Bedrock answers while a freshly created service role has not propagated yet.
    return ScriptedError(
        "ValidationException",
        f"Could not assume provided IAM role {role_arn}. Please check the trust relationship "
        "and the permissions of the role.",
    )
