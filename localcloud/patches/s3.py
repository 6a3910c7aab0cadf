"""S3 as AWS behaves (patches 11 and 18 of ``localcloud.patches``).

11. moto evaluates bucket policies without their conditions (a TLS-only deny refuses
    everything) and answers 404 for any missing key. The patches evaluate bucket policies with
    their conditions (``localcloud.iam_policy``; the context has TLS and the calling role's
    ``aws:PrincipalArn``), uploads included, and answer a missing key with 403 AccessDenied when
    the calling function's role may not list that key's prefix (``identity_policies``, set by
    the local cloud), as S3 does.
18. Conditional copies. moto ignores ``If-None-Match: *`` on CopyObject and
    ``x-amz-copy-source-if-match`` on CopyObject and UploadPartCopy; S3 answers 412
    PreconditionFailed when the destination exists or the source's ETag differs. Run snapshots
    rely on both (write once; copy the validated bytes or nothing).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import PreconditionFailed, S3AccessDeniedError
from moto.s3.models import FakeBucket, FakeDeleteMarker, S3Backend
from moto.s3.responses import S3Response

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

    def context(**extra: str) -> dict[str, str]:
        """What S3 puts in every request's context: TLS, and the calling role's ARN."""
        found = caller()
        identity = {"aws:PrincipalArn": found[0]} if found else {}
        return {**_SECURE_TRANSPORT, **identity, **extra}

    def get_permission(bucket: Any, action: str, resource: str) -> Any:
        if bucket.policy is None:
            return PermissionResult.NEUTRAL
        request = Request(action, resource, principal(), context())
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
            request_context = context(**{k: v for k, v in headers.items() if v})
            resource = f"arn:{bucket.partition}:s3:::{bucket.name}/{call['key_name']}"
            if denies(
                statements_of(bucket.policy.decode()),
                Request("s3:PutObject", resource, principal(), request_context),
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


def conditional_copy_patches() -> list[Patch]:
    """CopyObject's ``If-None-Match: *`` and the copy-source ``If-Match`` (patch 18)."""
    original_copy = S3Response.copy_object
    original_part_copy = S3Response.upload_part_copy

    def source_etag_holds(response: Any) -> None:
        wanted = response.headers.get("x-amz-copy-source-if-match")
        if not wanted:
            return
        source = response.headers.get("x-amz-copy-source")
        source = source.decode("utf-8") if isinstance(source, bytes) else str(source)
        parsed = urlparse(source)
        bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
        version = parse_qs(parsed.query).get("versionId", [None])[0]
        found = response.backend.get_object(bucket, key, version_id=version)
        if found is not None and found.etag.strip('"') != wanted.strip('"'):
            raise PreconditionFailed("x-amz-copy-source-If-Match")

    def copy_object(response: Any) -> Any:
        if response.headers.get("If-None-Match") == "*":
            existing = response.backend.get_object(response.bucket_name, response.parse_key_name())
            if existing is not None and not isinstance(existing, FakeDeleteMarker):
                raise PreconditionFailed("If-None-Match")
        source_etag_holds(response)
        return original_copy(response)

    def upload_part_copy(response: Any) -> Any:
        source_etag_holds(response)
        return original_part_copy(response)

    return [
        Patch(S3Response, "copy_object", copy_object),
        Patch(S3Response, "upload_part_copy", upload_part_copy),
    ]
