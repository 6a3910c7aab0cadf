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
from bmc.evaluation.estimate import evaluation_estimate
from bmc.handlers._task import TaskEvent, task_handler
from bmc.runspec import describe_findings
from bmc.validation import validate_datasets
from bmc.workflow.evaluation import check_test_set, write_items

logger = Logger()
tracer = Tracer()


@task_handler(logger, tracer)
def handler(task: TaskEvent, context: LambdaContext) -> dict[str, Any]:
    spec = task.spec()
    registry = Registry.from_environment()
    registry.transition(task.run_id, VALIDATING, detail="validating the datasets")
    s3 = clients.client("s3")
    report = validate_datasets(
        model_id=spec.base_model,
        customization_type=spec.customization_type,
        training=spec.training_data,
        validation=spec.validation_data,
        hyperparameters=spec.hyperparameters,
        s3_client=s3,
        region=settings.region(),
        allow=spec.validation_allow,
        serving=spec.serving.to_dict(),
    )
    document = report.to_dict()
    errors, total = list(report.errors), sum(report.error_counts.values())
    checked = None
    if spec.evaluation is not None:
        checked = check_test_set(spec.evaluation, s3_client=s3)
        document["evaluation"] = {
            **checked.test_set.to_dict(),
            "estimate": evaluation_estimate(spec, checked.test_set),
        }
        errors += checked.test_set.errors.listed
        total += checked.test_set.errors.total
    report_uri = clients.put_report(settings.artifacts_bucket(), task.run_id, "validation", document)
    fields: dict[str, Any] = {"reports.validation": report_uri}
    if total:
        registry.update(task.run_id, fields=fields)
        logger.warning("datasets refused", extra={"errorCounts": report.error_counts, "report": report_uri})
        raise DatasetInvalid(describe_findings(errors, f"the datasets (report: {report_uri})", total=total))
    if checked is not None:
        write_items(checked, bucket=settings.artifacts_bucket(), run_id=task.run_id, s3_client=s3)
        fields.update(checked.registry_fields(task.run_id))
    registry.update(task.run_id, fields=fields)
    return {
        "valid": True,
        "reportUri": report_uri,
        "stats": report.stats,
        "estimate": document["estimate"],
        "evaluation": None if checked is None else document["evaluation"]["estimate"],
        "warningCount": sum(report.warning_counts.values())
        + (0 if checked is None else checked.test_set.warnings.total),
    }
