"""S3 and policies as AWS evaluates them (patch 11 of ``localcloud.patches``).

moto evaluates bucket policies without their conditions (a TLS-only deny refuses everything)
and answers 404 for any missing key. The patches evaluate bucket policies with their conditions
(``localcloud.iam_policy``), uploads included, and answer a missing key with 403 AccessDenied
when the calling function's role may not list that key's prefix (``identity_policies``, set by
the local cloud), as S3 does.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.models import FakeBucket, FakeDeleteMarker, S3Backend

from localcloud.iam_policy import Request, allows, denies, statements_of
from localcloud.patches.base import Patch

# The requests of the local cloud all use TLS 1.3.
_SECURE_TRANSPORT = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}

# Function name -> (role ARN, identity policy statements), for S3's 403-or-404 answer.
IdentityPolicies = Mapping[str, tuple[str, list[dict[str, Any]]]]


def s3_policy_patches(identity_policies: IdentityPolicies) -> list[Patch]:
    """Bucket policies with their conditions, and 403 for a key the caller may not list."""
    original_put_object = S3Backend.put_object
    original_get_object = S3Backend.get_object
    put_signature = inspect.signature(original_put_object)

    def caller() -> tuple[str, list[dict[str, Any]]] | None:
        return identity_policies.get(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""))

    def principal() -> dict[str, str]:
        found = caller()
        return {"AWS": found[0]} if found else {}

    def get_permission(bucket: Any, action: str, resource: str) -> Any:
        if bucket.policy is None:
            return PermissionResult.NEUTRAL
        request = Request(action, resource, principal(), _SECURE_TRANSPORT)
        denied = denies(statements_of(bucket.policy.decode()), request)
        return PermissionResult.DENIED if denied else PermissionResult.NEUTRAL

    def put_object(backend: Any, *args: Any, **kwargs: Any) -> Any:
        call = put_signature.bind(backend, *args, **kwargs).arguments
        bucket = backend.get_bucket(call["bucket_name"])
        if bucket.policy is not None:
            # The policy sees the request's headers only: the bucket default applies afterwards.
            headers = {
                "s3:x-amz-server-side-encryption": call.get("encryption"),
                "s3:x-amz-server-side-encryption-aws-kms-key-id": call.get("kms_key_id"),
            }
            context = {**_SECURE_TRANSPORT, **{k: v for k, v in headers.items() if v}}
            resource = f"arn:{bucket.partition}:s3:::{bucket.name}/{call['key_name']}"
            if denies(
                statements_of(bucket.policy.decode()), Request("s3:PutObject", resource, principal(), context)
            ):
                raise S3AccessDeniedError()
        return original_put_object(backend, *args, **kwargs)

    def get_object(backend: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        found = original_get_object(backend, bucket_name, key_name, *args, **kwargs)
        identity = caller()
        # A key whose current version is a delete marker is missing too.
        if (found is None or isinstance(found, FakeDeleteMarker)) and identity is not None:
            # S3 reveals that a key does not exist only to a caller that may list it.
            role_arn, statements = identity
            bucket = backend.get_bucket(bucket_name)
            listing = Request(
                "s3:ListBucket",
                f"arn:{bucket.partition}:s3:::{bucket_name}",
                {"AWS": role_arn},
                {"s3:prefix": key_name},
            )
            if not allows(statements, listing):
                raise S3AccessDeniedError()
        return found

    return [
        Patch(FakeBucket, "get_permission", get_permission),
        Patch(S3Backend, "put_object", put_object),
        Patch(S3Backend, "get_object", get_object),
    ]
