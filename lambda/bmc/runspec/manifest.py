"""Where a run spec comes from: the console's input, an S3 manifest or the API's envelope."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bmc.errors import InvalidTaskInput, RunSpecInvalid
from bmc.findings import Finding
from bmc.runspec.checks import SpecOptions, check_spec, checked, describe_findings
from bmc.runspec.model import (
    EXECUTION_INPUT,
    MANIFEST_TOO_LARGE,
    MANIFEST_UNREADABLE,
    MAX_MANIFEST_BYTES,
    RunSpec,
)
from bmc.runspec.names import MAX_NAME_LENGTH, manifest_stem, slug
from bmc.runspec.parsing import parse_text

# --- where a spec comes from --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManifestRef:
    """The manifest object an S3-triggered run reads (``{"manifest": {...}}`` input)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "versionId": self.version_id, "etag": self.etag}


@dataclass(frozen=True, slots=True)
class RunInput:
    """An execution input sorted by source: the console's spec, an S3 manifest or the API's envelope."""

    source: dict[str, Any]  # recorded on the run: {"type": "console" | "s3" | "api", ...}
    location: str  # names the spec in findings: the manifest URI or "execution input"
    default_run_name: str
    data: Any = None  # the spec itself (console, API)
    manifest: ManifestRef | None = None


def classify_input(state: Any, run_id: str) -> RunInput:
    """Tell the three execution inputs apart (docs/workflow.md, "Execution input")."""
    if isinstance(state, Mapping) and isinstance(state.get("manifest"), Mapping):
        raw = state["manifest"]
        bucket, key = raw.get("bucket"), raw.get("key")
        if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
            raise InvalidTaskInput("manifest input needs a bucket and a key")
        version, etag = raw.get("versionId"), raw.get("etag")
        ref = ManifestRef(
            bucket,
            key,
            version if isinstance(version, str) else None,
            etag if isinstance(etag, str) else None,
        )
        return RunInput(
            source={"type": "s3", "uri": ref.uri, **ref.to_dict()},
            location=ref.uri,
            default_run_name=slug(manifest_stem(key), MAX_NAME_LENGTH) or run_id,
            manifest=ref,
        )
    if isinstance(state, Mapping) and "spec" in state and isinstance(state.get("source"), Mapping):
        return RunInput(
            source={"type": "api", **state["source"]},
            location=EXECUTION_INPUT,
            default_run_name=run_id,
            data=state["spec"],
        )
    return RunInput(source={"type": "console"}, location=EXECUTION_INPUT, default_run_name=run_id, data=state)


def load_run_spec(
    run_input: RunInput,
    *,
    read_manifest: Callable[[ManifestRef], bytes],
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
    allowed_judge_models: Sequence[str] | None = None,
) -> RunSpec:
    """The validated spec of a run, read from S3 when it came as a manifest."""
    options = SpecOptions(
        run_input.location,
        run_input.default_run_name,
        default_serving,
        allowed_base_models,
        region,
        datasets_bucket,
        allowed_judge_models,
    )
    if run_input.manifest is None:
        return checked(check_spec(run_input.data, options), options.source)
    return checked(parse_text(read_manifest(run_input.manifest), options), options.source)


def read_manifest_from_s3(ref: ManifestRef, s3_client: Any) -> bytes:
    """The manifest's bytes; a missing, unreadable or oversized manifest is a RunSpecInvalid."""

    def invalid(code: str, message: str) -> RunSpecInvalid:
        finding = Finding(ref.uri, None, None, code, message)
        return RunSpecInvalid(describe_findings([finding], ref.uri), [finding])

    request: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        request["VersionId"] = ref.version_id
    elif ref.etag:
        request["IfMatch"] = ref.etag  # unversioned bucket: refuse a manifest replaced since the event
    try:
        response = s3_client.get_object(**request)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise invalid(MANIFEST_UNREADABLE, f"cannot read the manifest: {code}: {exc}") from exc
    size = response.get("ContentLength")
    body = response["Body"]
    try:
        content: bytes = body.read(MAX_MANIFEST_BYTES + 1)
    finally:
        body.close()
    if (size is not None and size > MAX_MANIFEST_BYTES) or len(content) > MAX_MANIFEST_BYTES:
        raise invalid(
            MANIFEST_TOO_LARGE,
            f"the manifest is larger than {MAX_MANIFEST_BYTES:,} bytes; a run spec is a few hundred bytes",
        )
    return content
