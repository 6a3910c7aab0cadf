"""The evaluation's Distributed Map and its settings: items read from S3, batches of records per
EXPRESS child, bounded concurrency, tolerated failures and child results written to S3.

The reader and the writer name the evaluation's prefix of the artifacts bucket only: CDK's own
would grant every object of the bucket to the state machine role.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from bmc.evaluation.batch import BATCH_INPUT_KEYS
from bmc.evaluation.store import RECORDS_PREFIX
from constructs import Construct

DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_RECORDS_PER_BATCH = 10
DEFAULT_JUDGE_MODELS = ("amazon.nova-pro-v1:0",)


@dataclass(frozen=True)
class EvaluationSettings:
    """The deployment's evaluation settings (the ``evaluation`` configuration key)."""

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    records_per_batch: int = DEFAULT_RECORDS_PER_BATCH
    tolerated_failure_percentage: float = 0.0
    judge_models: tuple[str, ...] = DEFAULT_JUDGE_MODELS


# A child's input (BatchInput and Items) may hold 256 KiB; records are at most 128 KiB each.
MAX_INPUT_BYTES_PER_BATCH = 192 * 1024


def _object_statements(bucket: s3.IBucket, actions: list[str]) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{RECORDS_PREFIX}/*")])]


class EvaluationItemReader(sfn.S3JsonItemReader):
    """The items file (JSON) under ``evaluations/``; CDK would grant every object of the bucket."""

    def __init__(self, *, bucket: s3.IBucket, key: str) -> None:
        super().__init__(bucket=bucket, key=key)
        self._evaluation_bucket = bucket

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _object_statements(self._evaluation_bucket, ["s3:GetObject"])


class EvaluationResultWriter(sfn.ResultWriterV2):
    """Child results under ``evaluations/<runId>/results``; CDK would grant every object."""

    def __init__(self, *, bucket: s3.IBucket, prefix: str) -> None:
        super().__init__(bucket=bucket, prefix=prefix)
        self._evaluation_bucket = bucket

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _object_statements(
            self._evaluation_bucket,
            ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        )


def batch_input() -> dict[str, str]:
    """Each child's ``BatchInput``: what PrepareEvaluation built from the registry."""
    return {f"{key}.$": f"$.evaluation.batch.{key}" for key in BATCH_INPUT_KEYS}


def evaluation_map(
    scope: Construct, *, bucket: s3.IBucket, settings: EvaluationSettings
) -> sfn.DistributedMap:
    """The fan-out: items from S3, batches of records per EXPRESS child, bounded concurrency."""
    return sfn.DistributedMap(
        scope,
        "EvaluateRecords",
        comment="Ask both models about every test record, a batch per child execution",
        item_reader=EvaluationItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.evaluation.itemsKey")),
        item_batcher=sfn.ItemBatcher(
            max_items_per_batch_path="$.evaluation.recordsPerBatch",
            max_input_bytes_per_batch=MAX_INPUT_BYTES_PER_BATCH,
            batch_input=batch_input(),
        ),
        max_concurrency=settings.max_concurrency,
        tolerated_failure_percentage_path="$.evaluation.toleratedFailurePercentage",
        map_execution_type=sfn.StateMachineType.EXPRESS,
        label="EvaluateRecords",
        result_writer_v2=EvaluationResultWriter(
            bucket=bucket,
            prefix=sfn.JsonPath.format(f"{RECORDS_PREFIX}/{{}}/results", sfn.JsonPath.string_at("$.runId")),
        ),
        result_path="$.evaluationRun",
    )
