"""A scenario: what it uploads, how it drives the run and what it must reach; its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud import samples
from localcloud.cloud import LocalCloud

SETTLE_SECONDS = 300


@dataclass(frozen=True)
class Dataset:
    key: str
    kind: str  # a format of localcloud.samples
    records: int
    corrupt_line: int | None = None  # replace this 1-based line with text that is not JSON


@dataclass
class ScenarioResult:
    scenario: Scenario
    run_id: str
    execution_arn: str
    execution: dict[str, Any]
    record: dict[str, Any]
    executions_started: int


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    manifest: dict[str, Any]  # "{datasets}" in a URI is replaced by the datasets bucket
    datasets: tuple[Dataset, ...]
    expected_execution: str  # SUCCEEDED | FAILED | ABORTED
    expected_status: str  # the run's final status in the registry
    script: Callable[[LocalCloud], None] = field(default=lambda cloud: None)
    # manifest | duplicate-delivery | abort-mid-training | ttl-expiry | api (`manifest` is then the
    # body of POST /custom-models, sent by the local operator)
    drive: str = "manifest"
    expect_serving_left: str | None = None  # "provisioned" / "on-demand" when the model stays served
    after: Callable[[LocalCloud, str], None] | None = None  # (cloud, run id), once the execution ended
    hours_after: float = 0  # simulated hours that pass after `after` (scheduled sweeps run)
    sweeper_mode: str | None = None  # the deployment's sweeper.mode, when not the default
    # Billing resources no run owns that the sweeper must report and may not delete (unknown to
    # the registry, or report mode): they are left, and each must be in a sweeper notification.
    expect_reported_left: int = 0
    # A run made first in the same cloud; "{parent}" in the manifest becomes its run id.
    parent: Scenario | None = None

    def run(self, cloud: LocalCloud, *, timeout: float = 60.0) -> ScenarioResult:
        """Play the scenario; ``timeout``: wall seconds the execution may take."""
        manifest = self.manifest
        if self.parent is not None:
            parent = self.parent.run(cloud, timeout=timeout)
            manifest = _with(manifest, "{parent}", parent.run_id)
        started_before = {e["executionArn"] for e in cloud.executions()}
        for dataset in self.datasets:
            lines = samples.jsonl(dataset.kind, dataset.records).splitlines(keepends=True)
            if dataset.corrupt_line is not None:
                lines[dataset.corrupt_line - 1] = (
                    '{"schemaVersion": "bedrock-conversation-2024", "messages": [\n'
                )
            cloud.upload(dataset.key, "".join(lines))
        if self.sweeper_mode is not None:
            cloud.configure_function("sweep", SWEEPER_MODE=self.sweeper_mode)
        self.script(cloud)
        manifest_key = f"{self.name}.json"
        if self.drive == "api":
            status, created = cloud.api(
                "POST", "/custom-models", body=_with(manifest, "{datasets}", cloud.deployment.datasets_bucket)
            )
            if status != 202:
                raise RuntimeError(f"{self.name}: POST /custom-models answered {status} {created}")
        else:
            cloud.put_manifest(manifest_key, _with(manifest, "{datasets}", cloud.deployment.datasets_bucket))
        if self.drive == "duplicate-delivery":
            cloud.redeliver_last_s3_event(manifest_key)
        executions = [e for e in cloud.executions() if e["executionArn"] not in started_before]
        if not executions:
            raise RuntimeError(f"{self.name}: the manifest started no execution")
        execution_arn = executions[0]["executionArn"]
        if self.drive == "abort-mid-training":
            cloud.wait_until_awaiting_job(execution_arn)
            cloud.abort(execution_arn)
        execution = cloud.wait_for_execution(execution_arn, timeout=timeout)
        run_id = execution["name"]
        if self.drive == "abort-mid-training":
            cloud.clock.advance(300)  # the stopped job takes a minute to reach Stopped
        if self.drive == "ttl-expiry":
            cloud.clock.advance(self.manifest["serving"]["ttlHours"] * 3600 + 60)
        if self.after is not None:
            self.after(cloud, run_id)
        if self.hours_after:
            cloud.clock.advance(self.hours_after * 3600)
            cloud.clock.advance(SETTLE_SECONDS)  # a stopped job or a deleted serving settles
        record = cloud.run_record(run_id)
        if record is None:
            raise RuntimeError(f"{self.name}: run {run_id} has no registry record")
        return ScenarioResult(self, run_id, execution_arn, execution, record, len(cloud.executions()))


def _with(value: Any, placeholder: str, replacement: str) -> Any:
    """``value`` with ``placeholder`` replaced in every string it holds."""
    if isinstance(value, str):
        return value.replace(placeholder, replacement)
    if isinstance(value, list):
        return [_with(item, placeholder, replacement) for item in value]
    if isinstance(value, dict):
        return {key: _with(item, placeholder, replacement) for key, item in value.items()}
    return value
