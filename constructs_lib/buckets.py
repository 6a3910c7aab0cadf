"""S3 buckets with one secure baseline: encrypted, private, TLS only, versioned, logged."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag, skip_checkov

NONCURRENT_VERSION_DAYS = 90
INCOMPLETE_UPLOAD_DAYS = 7
ACCESS_LOG_DAYS = 365

_REPLICATION_REASON = (
    "Cross-region replication is a disaster-recovery choice of the deploying team (it doubles storage "
    "and moves training data out of region); versioning protects against deletion here."
)


def _lifecycle_rules() -> list[s3.LifecycleRule]:
    return [
        s3.LifecycleRule(
            id="expire-noncurrent-versions",
            noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
        ),
        s3.LifecycleRule(
            id="abort-incomplete-multipart-uploads",
            abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
        ),
    ]


class AccessLogsBucket(Construct):
    """Destination of S3 server access logs for the other buckets.

    S3 log delivery supports only SSE-S3 on the destination bucket, so this one bucket is not
    encrypted with the data key; it holds no customer data, only request logs.
    """

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                *_lifecycle_rules(),
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_DAYS)),
            ],
            removal_policy=removal_policy,
            auto_delete_objects=False,
        )
        acknowledge_nag(
            self.bucket,
            "AwsSolutions-S1",
            "This is the server access log destination; logging it into itself would create a delivery loop.",
        )
        skip_checkov(
            self.bucket,
            "CKV_AWS_18",
            "This is the server access log destination; logging it into itself would create a delivery loop.",
        )
        skip_checkov(
            self.bucket,
            "CKV_AWS_145",
            "S3 server access log delivery only supports SSE-S3 on the destination bucket.",
        )
        skip_checkov(self.bucket, "CKV_AWS_144", _REPLICATION_REASON)


class SecureBucket(Construct):
    """A private bucket encrypted with a customer managed key, TLS only, versioned and logged.

    Every object is encrypted with SSE-KMS under `encryption_key`: an upload without encryption
    headers gets the bucket default (that key), and the bucket policy refuses an upload that
    asks for anything else (another algorithm, another key, or SSE-KMS without a key id, which
    S3 would encrypt with aws/s3). Header-less uploads stay allowed on purpose: Bedrock writes
    job outputs relying on the bucket default, and S3 evaluates the policy on request headers
    only, before default encryption applies.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_logs: s3.IBucket,
        removal_policy: RemovalPolicy,
        event_bridge_enabled: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=_lifecycle_rules(),
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id.lower()}/",
            event_bridge_enabled=event_bridge_enabled,
            removal_policy=removal_policy,
            auto_delete_objects=False,
        )
        skip_checkov(self.bucket, "CKV_AWS_144", _REPLICATION_REASON)
        self._deny_other_encryption(encryption_key)

    def _deny_other_encryption(self, key: kms.IKey) -> None:
        objects = self.bucket.arn_for_objects("*")
        algorithm = "s3:x-amz-server-side-encryption"
        key_id = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        for sid, conditions in (
            (
                "DenyOtherEncryption",
                {"Null": {algorithm: "false"}, "StringNotEquals": {algorithm: "aws:kms"}},
            ),
            ("DenyOtherKmsKeys", {"Null": {key_id: "false"}, "ArnNotEquals": {key_id: key.key_arn}}),
            ("DenySseKmsWithoutTheKey", {"StringEquals": {algorithm: "aws:kms"}, "Null": {key_id: "true"}}),
        ):
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:PutObject"],
                    resources=[objects],
                    conditions=conditions,
                )
            )


def read_objects(
    role: iam.IRole, bucket: s3.IBucket, prefix: str, *, actions: tuple[str, ...] = ("s3:GetObject",)
) -> None:
    """Read objects under `prefix` and list that prefix.

    Without s3:ListBucket, S3 answers a GET or HEAD of a missing key with 403 AccessDenied, not
    404 NoSuchKey. The list permission is scoped to the same prefix with `s3:prefix`; S3 checks
    it with the missing object's key as the prefix.
    """
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(f"{prefix}*")])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    )
