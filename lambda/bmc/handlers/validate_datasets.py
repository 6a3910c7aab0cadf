"""ValidateDatasets: stream-validate the training and validation files before any spending.

The report goes to ``reports/<runId>/validation.json`` in the artifacts bucket either way;
invalid datasets raise DatasetInvalid listing the first errors.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.registry import VALIDATING, Registry
from bmc.errors import DatasetInvalid
from bmc.handlers._task import TaskEvent, task_handler
from bmc.runspec import describe_findings
from bmc.validation import validate_datasets

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    spec = task.spec()
    registry = Registry.from_environment()
    registry.transition(task.run_id, VALIDATING, detail="validating the datasets")
    report = validate_datasets(
        model_id=spec.base_model,
        customization_type=spec.customization_type,
        training=spec.training_data,
        validation=spec.validation_data,
        hyperparameters=spec.hyperparameters,
        s3_client=clients.client("s3"),
        region=settings.region(),
        allow=spec.validation_allow,
        serving=spec.serving.to_dict(),
    )
    report_uri = clients.put_report(settings.artifacts_bucket(), task.run_id, "validation", report.to_dict())
    registry.update(task.run_id, fields={"reports.validation": report_uri})
    if not report.valid:
        total = sum(report.error_counts.values())
        logger.warning("datasets refused", extra={"errorCounts": report.error_counts, "report": report_uri})
        raise DatasetInvalid(
            describe_findings(report.errors, f"the datasets (report: {report_uri})", total=total)
        )
    return {
        "valid": True,
        "reportUri": report_uri,
        "stats": report.stats,
        "estimate": report.estimate,
        "warningCount": sum(report.warning_counts.values()),
    }
