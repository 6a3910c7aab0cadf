"""PrepareRun: validate the run spec, derive the run's names, register the run.

Returns ``{"runId", "spec", "names", "source"}``, which replaces the state. A malformed spec
is still registered (FAILED, with the error and its findings) before RunSpecInvalid is raised,
so the cleanup path and the failure notification have a record to work with.

The record is bound to this execution (its ARN and start time): a run id whose record belongs
to another execution raises RunIdInUse and writes nothing, so an earlier run's record, and
everything cleanup would find through it, stays as it is. The execution input arrives as text
(``input``) and is parsed here, so a number Python cannot read or a nesting too deep for its
parser is the run's located error, not a crash before the record exists.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import runspec, settings
from bmc.aws import clients
from bmc.aws.registry import Registry, belongs_to
from bmc.errors import InvalidTaskInput, RunIdInUse, RunSpecInvalid
from bmc.findings import Finding
from bmc.handlers._task import TaskEvent, task_handler
from bmc.lineage.parents import initial_lineage, registry_resolver
from bmc.runspec.bounds import load_json_text
from bmc.tenancy import Tenancy

logger = Logger()
tracer = Tracer()

MAX_RECORDED_FINDINGS = 20


def _read_manifest(ref: runspec.ManifestRef) -> bytes:
    return runspec.read_manifest_from_s3(ref, clients.client("s3"))


def _refuse(findings: list[Finding]) -> RunSpecInvalid:
    return RunSpecInvalid(runspec.describe_findings(findings, runspec.EXECUTION_INPUT), findings)


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    registry = Registry.from_environment()
    tenancy = Tenancy.from_environment()
    if task.started_at is None:
        raise InvalidTaskInput(
            "the task payload lacks execution.startTime, which binds the run to its execution"
        )
    record = registry.get(task.run_id)
    if record is not None and not belongs_to(record, task.execution_arn, task.started_at):
        logger.error(
            "the run id is recorded for another execution: nothing is touched",
            extra={
                "recordedExecution": record.get("executionArn"),
                "recordedStart": record.get("executionStartedAt"),
            },
        )
        raise RunIdInUse(
            f"run id {task.run_id} belongs to an execution started at {record.get('executionStartedAt')}; "
            "start this run under a new name"
        )
    state: Any = task.state
    input_problem: Finding | None = None
    if task.state_text is not None:
        state, input_problem = load_json_text(task.state_text, runspec.EXECUTION_INPUT)
    api_record = record if record is not None and (record.get("source") or {}).get("type") == "api" else None
    run_input = runspec.classify_input(
        state,
        task.run_id,
        api_record=api_record,
        tenancy=tenancy,
        datasets_bucket=settings.datasets_bucket(),
        deployment_models=settings.allowed_base_models(),
    )
    try:
        problem = runspec.run_id_problem(task.run_id)
        if problem is not None:
            raise _refuse(
                [Finding(runspec.EXECUTION_INPUT, None, "execution.name", runspec.INVALID_RUN_ID, problem)]
            )
        if input_problem is not None:
            raise _refuse([input_problem])
        spec = runspec.load_run_spec(
            run_input,
            read_manifest=_read_manifest,
            default_serving=settings.default_serving(),
            allowed_base_models=settings.allowed_base_models(),
            region=settings.region(),
            datasets_bucket=settings.datasets_bucket(),
            allowed_judge_models=settings.evaluation_judge_models(),
            # run:<runId> and custom model ARN bases: earlier runs of this run's owner only.
            resolve_parent=registry_resolver(registry, run_input.owner.team),
        )
    except RunSpecInvalid as exc:
        logger.warning("run spec refused", extra={"findings": [f.to_dict() for f in exc.findings]})
        error = {
            "error": exc.name,
            "cause": str(exc),
            "findings": [f.to_dict() for f in exc.findings[:MAX_RECORDED_FINDINGS]],
        }
        try:
            registry.record_rejected_run(
                task.run_id,
                source=run_input.source,
                execution_arn=task.execution_arn,
                execution_started_at=task.started_at,
                owner=run_input.owner,
                error=error,
            )
        except Exception:  # the refusal, not a registry outage, must be the run's error
            logger.exception("could not record the refused run")
        raise
    names = runspec.derive_names(settings.prefix(), task.run_id, spec.run_name)
    created = registry.create_run(
        task.run_id,
        spec=spec.to_dict(),
        source=run_input.source,
        names=names.to_dict(),
        execution_arn=task.execution_arn,
        owner=run_input.owner,
        execution_started_at=task.started_at,
        lineage=initial_lineage(task.run_id, spec.to_dict()),
    )
    if not registry.bind_execution(task.run_id, task.execution_arn, task.started_at):
        raise RunIdInUse(f"run id {task.run_id} was taken by another execution while this one started")
    logger.info(
        "run registered" if created else "run was registered already", extra={"jobName": names.job_name}
    )
    return {
        "runId": task.run_id,
        "spec": spec.to_dict(),
        "names": names.to_dict(),
        "source": run_input.source,
    }
