"""ValidateDatasets: stream-validate the training and validation files before any spending.

The report goes to ``reports/<runId>/validation.json`` in the artifacts bucket either way;
invalid datasets raise DatasetInvalid listing the first errors. Every dataset's version,
ETag, size, record count and SHA-256 (read in the validator's one pass) are recorded on the
run's ``lineage.datasets``, with the snapshot each will be trained from, and shown in the report.
An evaluation's test set is checked too, line by line, and written as the Distributed Map's
items (``evaluations/<runId>/items.json``) with its estimate in the report.
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
from bmc.lineage.datasets import RunDatasets, evaluation_test_data
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
    checked = None if spec.evaluation is None else check_test_set(spec.evaluation, s3_client=s3)
    stats = dict(report.stats)
    test_set = evaluation_test_data(task.section("spec"))
    if checked is not None and test_set is not None and not (stats.get("evaluation") or {}).get("sources"):
        # Not read by the dataset validator: the version its own check read (the records the
        # evaluation runs on); the snapshot copies that version and S3 digests the copy.
        stats["evaluation"] = {"sources": [checked.test_set.source()]}
    datasets = RunDatasets.from_validation(
        stats,
        training=spec.training_data,
        validation=spec.validation_data,
        evaluation=test_set,
        bucket=settings.required_datasets_bucket(),
        run_id=task.run_id,
    )
    document = {**report.to_dict(), "lineage": {"datasets": datasets.to_dict()}}
    errors, total = list(report.errors), sum(report.error_counts.values())
    if checked is not None:
        document["evaluation"] = {
            **checked.test_set.to_dict(),
            "estimate": evaluation_estimate(spec, checked.test_set),
        }
        errors += checked.test_set.errors.listed
        total += checked.test_set.errors.total
    report_uri = clients.put_report(settings.artifacts_bucket(), task.run_id, "validation", document)
    fields: dict[str, Any] = {"reports.validation": report_uri}
    registry.update_lineage(task.run_id, {"datasets": datasets.to_dict()})
    if not report.valid or (checked is not None and checked.test_set.errors.total):
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
        "estimate": report.estimate,
        "evaluation": None if checked is None else document["evaluation"]["estimate"],
        "warningCount": sum(report.warning_counts.values())
        + (0 if checked is None else checked.test_set.warnings.total),
    }
