"""Served custom models whose foundation model became LEGACY: notified once per run.

A LEGACY foundation model has an end-of-life date after which its custom models stop working,
so the team serving one must plan a migration. The reconciler checks the root foundation
model of every served run once a day (one GetFoundationModel per distinct model) and
publishes one notification per run, recorded on the run's ``legacyNotice`` by a conditional
write so that neither a retry nor a concurrent invocation sends it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from bmc.aws.bedrock_ops import FOUNDATION_MODEL_LEGACY, BedrockOps, legacy_message
from bmc.aws.registry import IN_SERVICE, Registry, timestamp
from bmc.workflow.notifications import Message, subject_line

logger = Logger(child=True)

LEGACY_NOTICE = "legacyNotice"
CHECK_EVENT_KEY = "check"
CHECK_BASE_MODEL_LIFECYCLE = "base-model-lifecycle"


def root_model(record: Mapping[str, Any]) -> str | None:
    lineage = record.get("lineage") or {}
    spec = record.get("spec") or {}
    root = lineage.get("rootFoundationModel") or spec.get("baseModel")
    return str(root) if root else None


def legacy_notice(prefix: str, run_id: str, record: Mapping[str, Any], message: str) -> Message:
    serving = record.get("serving") or {}
    lines = [
        f"Bedrock model customization run {run_id}: its foundation model is LEGACY",
        "",
        message,
        "",
        f"{'Custom model:':<16}{record.get('customModelArn')}",
        f"{'Serving:':<16}{serving.get('kind')} {serving.get('arn')} ({serving.get('status')})",
        f"{'Foundation:':<16}{root_model(record)}",
        "",
        "This notice is sent once for this run.",
    ]
    return Message(
        subject=subject_line(prefix, run_id, "LEGACY_BASE_MODEL", "base model legacy"),
        body="\n".join(lines) + "\n",
        attributes={"status": "LEGACY_BASE_MODEL", "runId": run_id},
    )


def notify_legacy_foundations(
    registry: Registry, bedrock: BedrockOps, *, prefix: str, publish: Callable[[Message], str]
) -> dict[str, int]:
    """Notify once for every served run whose root foundation model is LEGACY."""
    counts = {"served": 0, "legacy": 0, "notified": 0, "errors": 0}
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in registry.runs_with_status([IN_SERVICE]):
        counts["served"] += 1
        model = root_model(record)
        if model and LEGACY_NOTICE not in record:
            by_model[model].append(record)
    for model_id, records in sorted(by_model.items()):
        try:
            lifecycle = bedrock.foundation_model_lifecycle(model_id)
        except Exception:
            logger.exception("lifecycle not readable", extra={"model": model_id})
            counts["errors"] += 1
            continue
        if lifecycle["status"] != FOUNDATION_MODEL_LEGACY:
            continue
        message = legacy_message(model_id, "foundation model", lifecycle)
        for record in records:
            counts["legacy"] += 1
            run_id = str(record["runId"])
            notice = {"at": timestamp(), "model": model_id, "endOfLifeTime": lifecycle.get("endOfLifeTime")}
            if not registry.mark_once(run_id, LEGACY_NOTICE, notice):
                continue  # notified already
            try:
                notice["messageId"] = publish(legacy_notice(prefix, run_id, record, message))
            except Exception:
                logger.exception("legacy notice not published: it is retried", extra={"runId": run_id})
                registry.update(run_id, remove=(LEGACY_NOTICE,))
                counts["errors"] += 1
                continue
            registry.update(run_id, fields={f"{LEGACY_NOTICE}.messageId": notice["messageId"]})
            counts["notified"] += 1
    return counts
