"""The errors the ``/custom-models`` handler turns into responses (docs/api.md, "Errors")."""

from __future__ import annotations

from collections.abc import Sequence

from bmc.api.models import FieldError
from bmc.errors import (
    BedrockError,
    BedrockQuotaExceeded,
    BedrockRequestFailed,
    BedrockThrottled,
    BedrockUnavailable,
)


class ApiError(Exception):
    status_code = 500

    def __init__(self, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)


class BadRequestError(ApiError):
    status_code = 400


class ForbiddenError(ApiError):
    """The caller may not create runs here (it has no team); never about one existing run."""

    status_code = 403


class NotFoundError(ApiError):
    """No such model, or one the caller may not see: the two are never told apart."""

    status_code = 404


class ConflictError(ApiError):
    status_code = 409


class UnavailableError(ApiError):
    status_code = 503


def bedrock_refusal(exc: BedrockError, what: str) -> ApiError:
    """The response for a failed Bedrock call: Bedrock's error code, never its internals."""
    if isinstance(exc, BedrockThrottled | BedrockUnavailable):
        return UnavailableError(f"Amazon Bedrock could not {what} right now; retry later")
    if isinstance(exc, BedrockQuotaExceeded):
        return ConflictError(f"Amazon Bedrock could not {what}: the account's quota is reached")
    if isinstance(exc, BedrockRequestFailed) and exc.code in ("ValidationException", "ConflictException"):
        return ConflictError(f"Amazon Bedrock refused to {what} ({exc.code})")
    raise exc
