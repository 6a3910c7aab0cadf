"""Run snapshots in the datasets bucket: written once by the workflow, deleted only by a purge.

A run trains on ``snapshots/<runId>/`` (bmc.lineage.snapshot). The bucket policy denies every
write there to all principals but the SnapshotDatasets function's role, and every deletion to
all but the API function's role (``DELETE /custom-models/{id}?purgeData=true``). Nobody else,
administrators included, can change what a run was trained on; the account root can still
remove the bucket policy, which is the break-glass path (docs/decisions.md, "Lineage").

The two roles have fixed names (``<prefix>-<region>-...``) so that the bucket policy in the
foundation stack can name them without depending on the stacks that create them.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from bmc.tenancy import SNAPSHOTS_PREFIX

SNAPSHOT_WRITER = "snapshot-writer"
DATA_PURGER = "api"  # the API function: it purges a deleted model's snapshots
# Writing a snapshot: CopyObject, UploadPartCopy and CompleteMultipartUpload all authorize s3:PutObject.
WRITE_ACTIONS = ("s3:PutObject",)
DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")


def role_name(prefix: str, purpose: str) -> str:
    """A role name unique per deployment: prefix and region (IAM names are global to the account)."""
    return f"{prefix}-{Aws.REGION}-{purpose}"


def role_arn(prefix: str, purpose: str) -> str:
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{role_name(prefix, purpose)}"


def protect_snapshots(bucket: s3.IBucket, *, prefix: str) -> None:
    """Deny writes under ``snapshots/`` to all but the writer, and deletions to all but the purger."""
    objects = bucket.arn_for_objects(f"{SNAPSHOTS_PREFIX}*")
    for sid, actions, allowed in (
        ("SnapshotsAreWrittenOnlyByTheWorkflow", WRITE_ACTIONS, role_arn(prefix, SNAPSHOT_WRITER)),
        ("SnapshotsAreDeletedOnlyByAPurge", DELETE_ACTIONS, role_arn(prefix, DATA_PURGER)),
    ):
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=[objects],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": allowed}},
            )
        )
