"""Where a run spec comes from (the console's input, an S3 manifest or an API run) and who owns it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bmc.errors import RunSpecInvalid
from bmc.findings import Finding
from bmc.runspec.checks import SpecOptions, check_spec, checked, describe_findings
from bmc.runspec.model import (
    EXECUTION_INPUT,
    INVALID_MANIFEST_LOCATION,
    MANIFEST_OUTSIDE_TEAM,
    MANIFEST_TOO_LARGE,
    MANIFEST_UNREADABLE,
    MAX_MANIFEST_BYTES,
    ParentResolver,
    RunSpec,
    as_given,
)
from bmc.runspec.names import MAX_NAME_LENGTH, manifest_stem, slug
from bmc.runspec.parsing import parse_text
from bmc.tenancy import (
    MANIFESTS_PREFIX,
    PLATFORM_OWNER,
    PLATFORM_SCOPE,
    DataScope,
    Owner,
    Tenancy,
    owner_of_record,
    scope_of_owner,
)

MAX_LOCATION_LENGTH = 1024  # S3 keys are at most 1,024 bytes

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
    """An execution input sorted by source: the console's spec, an S3 manifest or an API run.

    ``source`` and ``owner`` are decided here from where the input came from, never read from
    the input itself, and ``scope`` is where the owner's data may live.
    """

    source: dict[str, Any]  # recorded on the run: {"type": "console" | "s3" | "api", ...}
    location: str  # names the spec in findings: the manifest URI or "execution input"
    default_run_name: str
    data: Any = None  # the spec itself (console, API)
    manifest: ManifestRef | None = None
    owner: Owner = PLATFORM_OWNER
    scope: DataScope = PLATFORM_SCOPE
    problems: tuple[Finding, ...] = ()  # refusals found before the spec is read


def classify_input(
    state: Any,
    run_id: str,
    *,
    api_record: Mapping[str, Any] | None = None,
    tenancy: Tenancy | None = None,
    datasets_bucket: str | None = None,
    deployment_models: Sequence[str] = (),
) -> RunInput:
    """Tell the three execution inputs apart (docs/workflow.md, "Execution input").

    An API run is one whose record the API wrote before starting this very execution
    (``api_record``, bound to it by the caller): its spec, source and owner are the record's,
    whatever the input says. Input shaped like the API's envelope without such a record is
    console input, so nobody can claim to be the API. A manifest must be an object under
    ``manifests/`` of the datasets bucket; with teams configured, under ``manifests/<team>/``.
    """
    tenancy = tenancy or Tenancy()
    if api_record is not None:
        owner = owner_of_record(api_record)
        return RunInput(
            source=dict(api_record.get("source") or {"type": "api"}),
            location=EXECUTION_INPUT,
            default_run_name=run_id,
            # Checked again as the caller wrote it: a base naming an earlier run is resolved again.
            data=as_given(api_record["spec"]) if isinstance(api_record.get("spec"), Mapping) else None,
            owner=owner,
            scope=scope_of_owner(owner, tenancy, deployment_models),
        )
    if isinstance(state, Mapping) and isinstance(state.get("manifest"), Mapping):
        return _manifest_input(state["manifest"], run_id, tenancy, datasets_bucket, deployment_models)
    return RunInput(
        source={"type": "console"},
        location=EXECUTION_INPUT,
        default_run_name=run_id,
        data=state,
        scope=DataScope(None, tuple(deployment_models)),
    )


def _manifest_input(
    raw: Mapping[str, Any],
    run_id: str,
    tenancy: Tenancy,
    datasets_bucket: str | None,
    deployment_models: Sequence[str],
) -> RunInput:
    bucket, key = raw.get("bucket"), raw.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        problem = Finding(
            EXECUTION_INPUT,
            None,
            "manifest",
            INVALID_MANIFEST_LOCATION,
            "manifest input needs a bucket and a key",
        )
        return RunInput(
            source={"type": "s3"}, location=EXECUTION_INPUT, default_run_name=run_id, problems=(problem,)
        )
    version, etag = raw.get("versionId"), raw.get("etag")
    ref = ManifestRef(
        bucket[:MAX_LOCATION_LENGTH],
        key[:MAX_LOCATION_LENGTH],
        version if isinstance(version, str) else None,
        etag if isinstance(etag, str) else None,
    )
    problems: list[Finding] = []
    if ref.bucket != datasets_bucket or not ref.key.startswith(MANIFESTS_PREFIX):
        problems.append(
            Finding(
                ref.uri,
                None,
                "manifest",
                INVALID_MANIFEST_LOCATION,
                f"a manifest must be an object under {MANIFESTS_PREFIX} of the datasets bucket "
                f"{datasets_bucket or ''}; {ref.uri} is not read",
            )
        )
    owner, scope = PLATFORM_OWNER, DataScope(None, tuple(deployment_models))
    if tenancy.configured and not problems:
        team = tenancy.team_of_manifest(ref.key)
        if team is None:
            problems.append(
                Finding(
                    ref.uri,
                    None,
                    "manifest",
                    MANIFEST_OUTSIDE_TEAM,
                    f"{ref.uri} is not under {MANIFESTS_PREFIX}<team>/ of a configured team "
                    f"({', '.join(t.name for t in tenancy.teams)}); a team's manifests go under its folder",
                )
            )
        else:
            owner = Owner(team.key)
            scope = DataScope(team.dataset_prefixes, team.allowed_base_models or tuple(deployment_models))
    return RunInput(
        source={"type": "s3", "uri": ref.uri, **ref.to_dict()},
        location=ref.uri,
        default_run_name=slug(manifest_stem(ref.key), MAX_NAME_LENGTH) or run_id,
        manifest=ref,
        owner=owner,
        scope=scope,
        problems=tuple(problems),
    )


def load_run_spec(
    run_input: RunInput,
    *,
    read_manifest: Callable[[ManifestRef], bytes],
    default_serving: Mapping[str, Any] | None = None,
    allowed_base_models: Sequence[str] = (),
    region: str | None = None,
    datasets_bucket: str | None = None,
    allowed_judge_models: Sequence[str] | None = None,
    resolve_parent: ParentResolver | None = None,
) -> RunSpec:
    """The validated spec of a run, read from S3 when it came as a manifest.

    The owner's data scope narrows the datasets bucket to its prefixes and the deployment's
    base models to its own list; ``resolve_parent`` looks up earlier runs of the same owner.
    """
    if run_input.problems:
        raise RunSpecInvalid(describe_findings(run_input.problems, run_input.location), run_input.problems)
    options = SpecOptions(
        run_input.location,
        run_input.default_run_name,
        default_serving,
        run_input.scope.allowed_base_models or allowed_base_models,
        region,
        datasets_bucket,
        run_input.scope.prefixes,
        allowed_judge_models,
        resolve_parent,
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
