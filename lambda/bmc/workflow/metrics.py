"""Training metrics: read the job's CSV files, summarize them, publish them to CloudWatch.

Bedrock writes ``step_wise_training_metrics.csv`` (step_number, epoch_number, training_loss,
perplexity) and, with validation data, ``validation_metrics.csv`` (step_number, epoch_number,
validation_loss, perplexity) under ``<outputS3Uri>model-customization-job-<jobId>/``. The
validation file's folder varies between models, so the prefix is listed rather than guessed.
A missing or damaged file gives a summary of what exists plus a note, never a failure: the
model was trained either way.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bmc.aws import clients
from bmc.aws.s3io import parse_s3_uri

TRAINING_FILE = "step_wise_training_metrics.csv"
VALIDATION_FILE = "validation_metrics.csv"
TRAINING_LOSS_COLUMN = "training_loss"
VALIDATION_LOSS_COLUMN = "validation_loss"
TRAINING_LOSS_METRIC = "TrainingLoss"
VALIDATION_LOSS_METRIC = "ValidationLoss"
_MAX_DATA_PER_CALL = 1000  # PutMetricData limit
_MAX_METRICS_BYTES = 50 * 1024 * 1024  # far above any real file; guards the function's memory


@dataclass(frozen=True, slots=True)
class LossPoint:
    step: int
    epoch: int
    loss: float
    perplexity: float | None

    def to_list(self) -> list[Any]:
        return [self.step, self.epoch, self.loss, self.perplexity]


@dataclass(slots=True)
class JobMetrics:
    training: list[LossPoint] = field(default_factory=list)
    validation: list[LossPoint] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=lambda: {"training": None, "validation": None})
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Final and minimum losses, steps, epochs and each epoch's last losses."""
        training_by_epoch = last_per_epoch(self.training)
        validation_by_epoch = last_per_epoch(self.validation)
        epochs = sorted(set(training_by_epoch) | set(validation_by_epoch))
        return {
            "finalTrainingLoss": _final(self.training),
            "minTrainingLoss": _minimum(self.training),
            "finalValidationLoss": _final(self.validation),
            "minValidationLoss": _minimum(self.validation),
            # Bedrock numbers steps from 0: the last step number is one less than the count.
            "steps": max((p.step for p in self.training), default=-1) + 1,
            "epochs": len(epochs),
            "perEpoch": [
                {
                    "epoch": epoch,
                    "trainingLoss": training_by_epoch.get(epoch),
                    "validationLoss": validation_by_epoch.get(epoch),
                }
                for epoch in epochs
            ],
            "notes": list(self.notes),
        }

    def report(self) -> dict[str, Any]:
        """Everything, for ``reports/<runId>/metrics.json``: the summary and every step."""
        columns = ["step", "epoch", "loss", "perplexity"]
        return {
            "summary": self.summary(),
            "files": dict(self.files),
            "columns": columns,
            "training": [p.to_list() for p in self.training],
            "validation": [p.to_list() for p in self.validation],
        }


def _final(points: Sequence[LossPoint]) -> float | None:
    return max(points, key=lambda p: p.step).loss if points else None


def _minimum(points: Sequence[LossPoint]) -> float | None:
    return min(p.loss for p in points) if points else None


def last_per_epoch(points: Iterable[LossPoint]) -> dict[int, float]:
    """Each epoch's loss at its last step."""
    last: dict[int, LossPoint] = {}
    for point in points:
        if point.epoch not in last or point.step >= last[point.epoch].step:
            last[point.epoch] = point
    return {epoch: point.loss for epoch, point in sorted(last.items())}


def parse_metrics_csv(text: str, loss_column: str, name: str) -> tuple[list[LossPoint], list[str]]:
    """The rows of a metrics CSV and notes about what could not be read."""
    reader = csv.DictReader(io.StringIO(text))
    header = {(column or "").strip() for column in reader.fieldnames or []}
    missing = {"step_number", "epoch_number", loss_column} - header
    if missing:
        return [], [f"{name} lacks the column(s) {', '.join(sorted(missing))}"]
    points: list[LossPoint] = []
    skipped = 0
    for row in reader:
        values = {
            (key or "").strip(): (value or "").strip() for key, value in row.items() if isinstance(value, str)
        }
        try:
            step = int(float(values["step_number"]))
            epoch = int(float(values["epoch_number"]))
            loss = float(values[loss_column])
            perplexity = float(values["perplexity"]) if values.get("perplexity") else None
        except (KeyError, ValueError):
            skipped += 1
            continue
        if not math.isfinite(loss):
            skipped += 1  # a diverged step (nan, inf) cannot be summarized or stored
            continue
        points.append(
            LossPoint(
                step, epoch, loss, perplexity if perplexity is None or math.isfinite(perplexity) else None
            )
        )
    notes = [f"{name}: {skipped} row(s) skipped (not numbers, or not finite)"] if skipped else []
    if not points:
        notes.append(f"{name} has no readable rows")
    return points, notes


def job_id(job_arn: str) -> str:
    """The last segment of a job ARN (``.../model-customization-job/<model>/<jobId>``)."""
    return job_arn.rsplit("/", 1)[-1]


def job_output_prefix(output_s3_uri: str, job_arn: str) -> tuple[str, str]:
    """(bucket, key prefix) of the job's files: ``<outputS3Uri>model-customization-job-<jobId>/``."""
    bucket, key = parse_s3_uri(output_s3_uri)
    base = f"{key.rstrip('/')}/" if key.strip("/") else ""
    return bucket, f"{base}model-customization-job-{job_id(job_arn)}/"


def read_job_metrics(
    output_s3_uri: str, job_arn: str, s3_client: Any, *, with_validation: bool
) -> JobMetrics:
    """List the job's output prefix and parse the metrics files found there.

    ``with_validation``: the job had validation data, so a missing validation file is noted.
    """
    bucket, prefix = job_output_prefix(output_s3_uri, job_arn)
    metrics = JobMetrics()
    keys: list[str] = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(str(item["Key"]) for item in page.get("Contents", []))
    for role, file_name, column in (
        ("training", TRAINING_FILE, TRAINING_LOSS_COLUMN),
        ("validation", VALIDATION_FILE, VALIDATION_LOSS_COLUMN),
    ):
        found = sorted(key for key in keys if key.rsplit("/", 1)[-1] == file_name)
        if not found:
            if role == "training" or with_validation:
                metrics.notes.append(f"no {file_name} under s3://{bucket}/{prefix}")
            continue
        if len(found) > 1:
            metrics.notes.append(f"{len(found)} files named {file_name}; summarized s3://{bucket}/{found[0]}")
        uri = f"s3://{bucket}/{found[0]}"
        metrics.files[role] = uri
        body = s3_client.get_object(Bucket=bucket, Key=found[0])["Body"]
        try:
            text = body.read(_MAX_METRICS_BYTES).decode("utf-8", errors="replace")
        finally:
            body.close()
        points, notes = parse_metrics_csv(text, column, uri)
        metrics.notes.extend(notes)
        if role == "training":
            metrics.training = points
        else:
            metrics.validation = points
    return metrics


def metric_data(
    summary: dict[str, Any], *, run_id: str, base_model: str, at: datetime
) -> list[dict[str, Any]]:
    """One TrainingLoss (and ValidationLoss) datum per epoch: the epoch's last loss."""
    dimensions = [{"Name": "RunId", "Value": run_id}, {"Name": "BaseModel", "Value": base_model}]
    data: list[dict[str, Any]] = []
    for epoch in summary.get("perEpoch", []):
        for metric, key in (
            (TRAINING_LOSS_METRIC, "trainingLoss"),
            (VALIDATION_LOSS_METRIC, "validationLoss"),
        ):
            if epoch.get(key) is not None:
                data.append(
                    {
                        "MetricName": metric,
                        "Dimensions": dimensions,
                        "Value": float(epoch[key]),
                        "Timestamp": at,
                    }
                )
    return data


def publish(data: Sequence[dict[str, Any]], *, namespace: str, cloudwatch_client: Any) -> int:
    """PutMetricData in batches; returns the number of data sent."""
    for start in range(0, len(data), _MAX_DATA_PER_CALL):
        cloudwatch_client.put_metric_data(
            Namespace=namespace, MetricData=list(data[start : start + _MAX_DATA_PER_CALL])
        )
    return len(data)


def collect(
    run_id: str,
    *,
    job_arn: str,
    output_s3_uri: str,
    custom_model_arn: str | None,
    base_model: str,
    with_validation: bool,
    artifacts_bucket: str,
    namespace: str,
    at: datetime,
) -> tuple[dict[str, Any], str]:
    """Read the job's metrics, write ``reports/<runId>/metrics.json``, publish to CloudWatch.

    Returns the summary and the report's URI.
    """
    metrics = read_job_metrics(output_s3_uri, job_arn, clients.client("s3"), with_validation=with_validation)
    summary = metrics.summary()
    report = {"runId": run_id, "jobArn": job_arn, "customModelArn": custom_model_arn, **metrics.report()}
    uri = clients.put_report(artifacts_bucket, run_id, "metrics", report)
    data = metric_data(summary, run_id=run_id, base_model=base_model, at=at)
    publish(data, namespace=namespace, cloudwatch_client=clients.client("cloudwatch"))
    return summary, uri
