"""PrepareRun: validate the run spec, derive the run's names, register the run.

Returns ``{"runId", "spec", "names", "source"}``, which replaces the state. A malformed spec
is still registered (FAILED, with the error and its findings) before RunSpecInvalid is raised,
so the cleanup path and the failure notification have a record to work with.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import runspec, settings
from bmc.aws import clients
from bmc.aws.registry import Registry
from bmc.errors import RunSpecInvalid
from bmc.findings import Finding
from bmc.handlers._task import TaskEvent, task_handler

logger = Logger()
tracer = Tracer()

MAX_RECORDED_FINDINGS = 20


def _read_manifest(ref: runspec.ManifestRef) -> bytes:
    return runspec.read_manifest_from_s3(ref, clients.client("s3"))


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    registry = Registry.from_environment()
    run_input = runspec.classify_input(task.state, task.run_id)
    try:
        problem = runspec.run_id_problem(task.run_id)
        if problem is not None:
            finding = Finding(
                runspec.EXECUTION_INPUT, None, "execution.name", runspec.INVALID_RUN_ID, problem
            )
            raise RunSpecInvalid(runspec.describe_findings([finding], runspec.EXECUTION_INPUT), [finding])
        spec = runspec.load_run_spec(
            run_input,
            read_manifest=_read_manifest,
            default_serving=settings.default_serving(),
            allowed_base_models=settings.allowed_base_models(),
            region=settings.region(),
            datasets_bucket=settings.datasets_bucket(),
            allowed_judge_models=settings.evaluation_judge_models(),
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
                task.run_id, source=run_input.source, execution_arn=task.execution_arn, error=error
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
    )
    logger.info(
        "run registered" if created else "run was registered already", extra={"jobName": names.job_name}
    )
    return {
        "runId": task.run_id,
        "spec": spec.to_dict(),
        "names": names.to_dict(),
        "source": run_input.source,
    }
