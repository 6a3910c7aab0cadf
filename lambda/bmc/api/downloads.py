"""GET /custom-models/{id}/download: presigned URLs of a model's own reports and data, never
another run's objects nor a manifest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bmc.api.config import ApiSettings
from bmc.api.errors import NotFoundError
from bmc.api.models import Download, DownloadFile, DownloadType
from bmc.aws.registry import timestamp, utc_now
from bmc.lineage.datasets import snapshot_prefix, snapshot_uris
from bmc.tenancy import data_key_problem, owner_of_record, scope_of_owner

PRESIGNED_SECONDS = 300


def presigned_download(
    model_id: str, record: Mapping[str, Any], download_type: DownloadType, config: ApiSettings
) -> Download:
    """Short-lived URLs of the model's own objects of this type (GET /custom-models/{id}/download)."""
    lineage = record.get("lineage") or {}
    if download_type in ("training", "validation") and lineage.get("snapshotsPurgedAt"):
        raise NotFoundError(
            f"the {download_type} data of custom model {model_id} was purged at {lineage['snapshotsPurgedAt']}"
        )
    own = own_data(model_id, record, download_type, config)
    if not own:
        raise NotFoundError(f"no {download_type} data is available for custom model {model_id}")
    s3 = presigning_client(config.region)
    expires_at = timestamp(utc_now() + timedelta(seconds=PRESIGNED_SECONDS))
    files = []
    for uri in own:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFoundError"):
                raise NotFoundError(f"the {download_type} data of custom model {model_id} is gone") from exc
            raise
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGNED_SECONDS
        )
        files.append(DownloadFile(location=uri, url=url, expiresAt=expires_at))
    return Download(id=model_id, type=download_type, url=files[0].url, expiresAt=expires_at, files=files)


# The run's reports each download type returns, first the one ``url`` points to.
REPORTS: Mapping[str, tuple[str, ...]] = {
    "metrics": ("metrics",),
    "report": ("report",),
    "evaluation": ("evaluation", "predictions"),
}


def own_data(
    model_id: str, record: Mapping[str, Any], download_type: DownloadType, config: ApiSettings
) -> list[str]:
    """The run's own objects of this type: its metrics, HTML or evaluation reports; its snapshots,
    i.e. the exact data it trained on (under its own ``snapshots/<runId>/``); for runs recorded
    before snapshots, its data in its owner's prefixes of the datasets bucket (as configured now),
    never a manifest."""
    if download_type in REPORTS:
        reports = record.get("reports") or {}
        allowed = f"s3://{config.artifacts_bucket}/reports/{model_id}/"
        found = [reports.get(name) for name in REPORTS[download_type]]
        return [uri for uri in found if isinstance(uri, str) and uri.startswith(allowed)]
    own_snapshots = f"s3://{config.datasets_bucket}/{snapshot_prefix(model_id)}"
    snapshots = snapshot_uris(record.get("lineage"), download_type)
    if snapshots:
        return [uri for uri in snapshots if uri.startswith(own_snapshots)]
    spec = record.get("spec") or {}
    uris = [spec.get("trainingData")] if download_type == "training" else spec.get("validationData") or []
    scope = scope_of_owner(owner_of_record(record), config.tenancy, config.allowed_base_models)
    bucket = f"s3://{config.datasets_bucket}/"
    return [
        uri
        for uri in uris
        if isinstance(uri, str)
        and uri.startswith(bucket)
        and data_key_problem(uri.removeprefix(bucket), scope.prefixes) is None
    ]


def presigning_client(region: str) -> Any:
    """S3 client for presigned URLs: SigV4 (KMS-encrypted objects need it), regional endpoint."""
    return boto3.session.Session().client(
        "s3",
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
