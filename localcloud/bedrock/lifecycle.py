"""What happens to simulated resources as time passes: jobs train and end (writing their
metrics and custom model, emitting their events), throughputs and deployments come up."""

from __future__ import annotations

from datetime import datetime, timedelta

from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localcloud.bedrock.account import BedrockAccount
from localcloud.bedrock.resources import (
    COMMITMENT_DAYS,
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    PHASE_WEIGHTS,
    BedrockEvent,
    JobPhase,
    JobScript,
    SimCustomModel,
    SimJob,
    compact,
    epoch_count,
    iso,
    metrics_csv,
    training_curves,
)


def process(backend: BedrockAccount, now: datetime) -> None:
    """Apply every transition due at ``now``, in time order within each resource."""
    for job in list(backend.jobs.values()):
        process_job(backend, job, now)
    for throughput in backend.throughputs.values():
        if throughput.status == "Creating" and now >= throughput.due_time:
            throughput.last_modified_time = throughput.due_time
            if throughput.script.fail:
                throughput.status = "Failed"
                throughput.failure_message = throughput.script.failure_message
            else:
                throughput.status = "InService"
                if throughput.commitment_duration:
                    days = COMMITMENT_DAYS[throughput.commitment_duration]
                    throughput.commitment_expiration_time = throughput.due_time + timedelta(days=days)
    for deployment in backend.deployments.values():
        if deployment.status == "Creating" and now >= deployment.due_time:
            deployment.last_updated_time = deployment.due_time
            if deployment.script.fail:
                deployment.status = "Failed"
                deployment.failure_message = deployment.script.failure_message
            else:
                deployment.status = "Active"


def process_job(backend: BedrockAccount, job: SimJob, now: datetime) -> None:
    if job.status == "Stopping" and job.stop_due_time is not None and now >= job.stop_due_time:
        finish_job(backend, job, "Stopped", job.stop_due_time)
    elif job.status == "InProgress":
        validation_end = phase_windows(job)[0][2]
        if backend.sim.check_s3_inputs and not job.inputs_checked and now >= validation_end:
            job.inputs_checked = True
            missing = missing_inputs(backend, job)
            if missing:
                finish_job(
                    backend,
                    job,
                    "Failed",
                    min(validation_end, job.due_time),
                    phase="validation",
                    message=f"Unable to access the data at {missing}. Check that the object exists "
                    "and that the service role can read it.",
                )
                return
        if now >= job.due_time:
            outcome = job.script.outcome
            finish_job(
                backend,
                job,
                outcome,
                job.due_time,
                phase=job.script.failure_phase if outcome == "Failed" else None,
                message=job.script.failure_message if outcome == "Failed" else None,
            )


def phase_windows(job: SimJob) -> list[tuple[JobPhase, datetime, datetime]]:
    """Start and end of each phase that runs, scaled to end at the job's due time."""
    phases = list(PHASE_WEIGHTS)
    if job.script.outcome == "Failed":
        names = [name for name, _ in phases]
        phases = phases[: names.index(job.script.failure_phase) + 1]
    total_weight = sum(weight for _, weight in phases)
    span = job.due_time - job.creation_time
    windows = []
    start = job.creation_time
    for name, weight in phases:
        end = start + span * (weight / total_weight)
        windows.append((name, start, end))
        start = end
    return windows


def missing_inputs(backend: BedrockAccount, job: SimJob) -> str | None:
    uris: list[str | None] = [job.training_data_config.get("s3Uri")] + [
        v.get("s3Uri") for v in (job.validation_data_config or {}).get("validators", [])
    ]
    s3 = s3_backends[backend.account_id][get_partition(backend.region_name)]
    for uri in uris:
        if not uri:
            continue
        bucket_name, _, key = uri[len("s3://") :].partition("/")
        try:
            bucket = s3.get_bucket(bucket_name)
        except Exception:
            return uri
        keys, _, _, _ = s3.list_objects(bucket, key or None, None, None, None)
        if not keys:
            return uri
    return None


def finish_job(
    backend: BedrockAccount,
    job: SimJob,
    status: str,
    at: datetime,
    *,
    phase: JobPhase | None = None,
    message: str | None = None,
) -> None:
    if status == "Completed":
        try:
            write_artifacts(backend, job)
        except Exception as exc:  # missing or unwritable output bucket
            status, phase = "Failed", "training"
            message = f"Unable to write the output to {job.output_data_config['s3Uri']}: {exc}"
        else:
            create_custom_model(backend, job, at)
    job.status = status
    job.end_time = at
    job.last_modified_time = at
    if status == "Failed":
        job.failure_message = message
        job.failure_phase = phase
        # The job fails where it was, so the phases are laid out up to that moment.
        job.script = JobScript(
            outcome="Failed",
            duration_seconds=job.script.duration_seconds,
            failure_message=message or "",
            failure_phase=phase or "training",
            lose_event=job.script.lose_event,
        )
        job.due_time = at
    backend.sim._emit(job_event(backend, job), lose=job.script.lose_event)


def write_artifacts(backend: BedrockAccount, job: SimJob) -> None:
    epochs = epoch_count(job.hyper_parameters)
    training, validation = training_curves(job.job_id, epochs, backend.sim.steps_per_epoch)
    bucket, prefix = job.output_prefix
    s3 = s3_backends[backend.account_id][get_partition(backend.region_name)]
    files = {
        f"{prefix}/training_artifacts/step_wise_training_metrics.csv": metrics_csv(
            ("step_number", "epoch_number", "training_loss", "perplexity"), training
        )
    }
    if job.validation_data_config and job.validation_data_config.get("validators"):
        files[f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"] = (
            metrics_csv(("step_number", "epoch_number", "validation_loss", "perplexity"), validation)
        )
        job.validation_loss = validation[-1][2]
    for key, body in files.items():
        s3.put_object(bucket, key, body)
    job.artifact_keys = list(files)
    job.training_loss = training[-1][2]


def create_custom_model(backend: BedrockAccount, job: SimJob, at: datetime) -> None:
    model_id = backend.sim._new_id()
    model = SimCustomModel(
        model_id=model_id,
        model_arn=backend._arn(f"custom-model/{job.base_model_id}/{model_id}"),
        model_name=job.custom_model_name,
        job=job,
        model_kms_key_arn=backend._kms_key_arn(job.custom_model_kms_key_id),
        creation_time=at,
    )
    backend.models[model_id] = model
    job.output_model_arn = model.model_arn
    backend._tag(model.model_arn, job.custom_model_tags)


def job_event(backend: BedrockAccount, job: SimJob) -> BedrockEvent:
    return {
        "version": "0",
        "id": backend.sim._new_uuid(),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": backend.account_id,
        "time": iso(job.last_modified_time or backend.sim.clock.now()),
        "region": backend.region_name,
        "resources": [job.job_arn],
        "detail": compact(
            {
                "version": "0.0",
                "jobName": job.job_name,
                "jobArn": job.job_arn,
                "outputModelName": job.custom_model_name,
                "outputModelArn": job.output_model_arn,
                "roleArn": job.role_arn,
                "jobStatus": job.status,
                "failureMessage": job.failure_message,
                "creationTime": iso(job.creation_time),
                "lastModifiedTime": iso(job.last_modified_time),
                "endTime": iso(job.end_time),
                "baseModelArn": job.base_model_arn,
                "hyperParameters": job.hyper_parameters,
                "trainingDataConfig": job.training_data_config,
                "validationDataConfig": job.validation_data_config,
                "outputDataConfig": job.output_data_config,
            }
        ),
    }
