"""The evaluation stage's functions (one least-privilege role each) and its Distributed Map.

- ``evaluation_stage`` (PrepareEvaluation, ConcludeEvaluation): reads and transitions the run;
  deletes the serving the registry recorded (a temporary one, or after a failed gate) and its
  expiry schedule.
- ``evaluate_batch`` (the Map's EXPRESS children): ``bedrock:InvokeModel`` on this deployment's
  provisioned models and deployments (tag ``bmc:prefix``), on the allowed base models as the
  catalog invokes them in each region (a plain foundation model, or a system inference profile
  and the model in every destination region of that profile) and on the allowed judges; writes
  ``evaluations/<runId>/records/``.
- ``summarize_evaluation``: reads ``evaluations/``, writes ``reports/``, records the summary,
  publishes the metrics in this deployment's namespace.

The Map reads ``evaluations/<runId>/items.json`` (ItemReader, input type JSON) and writes its
child results under ``evaluations/<runId>/results/``: the state machine role gets exactly those
S3 prefixes, not the whole bucket CDK would grant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from bmc.catalog.models import Model
from bmc.evaluation.batch import BATCH_INPUT_KEYS
from bmc.evaluation.store import RECORDS_PREFIX
from bmc.runspec import WORKFLOW_TAG_KEYS
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.functions import METRICS_NAMESPACE, FunctionSpec, RuntimeFunction, RuntimeFunctions

DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_RECORDS_PER_BATCH = 10
DEFAULT_JUDGE_MODELS = ("amazon.nova-pro-v1:0",)
# An EXPRESS child runs at most 5 minutes; the batch function stops starting records before its
# own timeout and records the rest as failed (bmc.evaluation.batch).
BATCH_TIMEOUT = Duration.seconds(270)
# A child's input (BatchInput and Items) may hold 256 KiB; records are at most 128 KiB each.
MAX_INPUT_BYTES_PER_BATCH = 192 * 1024
# US system inference profiles route to these regions (Bedrock user guide, "Supported Regions and
# models for inference profiles"); IAM must allow the model in each of them.
PROFILE_DESTINATIONS = {"us.": ("us-east-1", "us-east-2", "us-west-2")}
PREFIX_TAG = WORKFLOW_TAG_KEYS[1]  # bmc:prefix, on every throughput and deployment the workflow creates
REGISTRY_UPDATE = ("dynamodb:GetItem", "dynamodb:UpdateItem")
DATA_KEY_USE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
DELETE_SERVING = ("bedrock:DeleteProvisionedModelThroughput", "bedrock:DeleteCustomModelDeployment")


@dataclass(frozen=True)
class EvaluationSettings:
    """The deployment's evaluation settings (the ``evaluation`` configuration key)."""

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    records_per_batch: int = DEFAULT_RECORDS_PER_BATCH
    tolerated_failure_percentage: float = 0.0
    judge_models: tuple[str, ...] = DEFAULT_JUDGE_MODELS


@dataclass(frozen=True)
class EvaluationResources:
    registry: dynamodb.ITable
    artifacts_bucket: s3.IBucket
    data_key: kms.IKey
    model_key: kms.IKey
    base_models: Sequence[Model]  # the models this deployment may customize (and so evaluate)
    schedule_group: scheduler.CfnScheduleGroup


def bedrock_arn(resource: str, region: str = Aws.REGION) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{region}:{Aws.ACCOUNT_ID}:{resource}"


def foundation_model_arn(model_id: str, region: str = Aws.REGION) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{region}::foundation-model/{model_id}"


def invocation_arns(model_id: str, region: str = Aws.REGION) -> list[str]:
    """What ``bedrock:InvokeModel`` must allow to call ``model_id`` (a model or system profile id)
    from ``region``: the model, or the profile and its model in every destination region."""
    for prefix, destinations in PROFILE_DESTINATIONS.items():
        if model_id.startswith(prefix):
            target = model_id.removeprefix(prefix)
            return [
                bedrock_arn(f"inference-profile/{model_id}", region),
                *(foundation_model_arn(target, destination) for destination in destinations),
            ]
    return [foundation_model_arn(model_id, region)]


def base_model_arns(models: Sequence[Model]) -> list[str]:
    """Every base model as the catalog invokes it, in each region it names."""
    arns = {
        arn
        for model in models
        if model.inference.evaluable
        for region, model_id in model.inference.base_model_ids.items()
        for arn in invocation_arns(model_id, region)
    }
    return sorted(arns)


class EvaluationFunctions(Construct):
    """The evaluation functions and the grants of each."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        runtime: RuntimeFunctions,
        resources: EvaluationResources,
        settings: EvaluationSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self._resources = resources
        self.settings = settings
        bucket = resources.artifacts_bucket.bucket_name

        self.stage = runtime.add(
            FunctionSpec(
                "evaluation_stage",
                "prepare an evaluation's fan-out; apply its gate and release its temporary serving",
                environment={
                    "EVALUATION_TOLERATED_FAILURE_PERCENTAGE": f"{settings.tolerated_failure_percentage:g}",
                    "EVALUATION_RECORDS_PER_BATCH": str(settings.records_per_batch),
                    "SCHEDULE_GROUP": resources.schedule_group.ref,
                },
            )
        )
        self._registry(self.stage)
        self._allow(self.stage, "DeleteOwnServing", list(DELETE_SERVING), self._serving_arns(), own=prefix)
        self._allow(
            self.stage,
            "DeleteServingExpiry",
            ["scheduler:DeleteSchedule"],
            [
                f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/"
                f"{resources.schedule_group.ref}/*"
            ],
        )

        self.batch = runtime.add(
            FunctionSpec(
                "evaluate_batch",
                "ask the custom model, its base and the judge about a batch of test records",
                timeout=BATCH_TIMEOUT,
                memory_mb=1024,
                environment={"ARTIFACTS_BUCKET": bucket},
                scoring=True,
            )
        )
        self._allow(self.batch, "InvokeOwnServing", ["bedrock:InvokeModel"], self._serving_arns(), own=prefix)
        models = base_model_arns(resources.base_models)
        judges = sorted({arn for judge in settings.judge_models for arn in invocation_arns(judge)})
        self._allow(
            self.batch, "InvokeBaseModelsAndJudges", ["bedrock:InvokeModel"], sorted({*models, *judges})
        )
        # A served custom model is encrypted with the model key: Bedrock decrypts it for the caller.
        self._allow(
            self.batch,
            "UseModelKeyThroughBedrock",
            ["kms:Decrypt", "kms:DescribeKey"],
            [resources.model_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"bedrock.{Aws.REGION}.amazonaws.com"}},
        )
        self._objects(self.batch, ["s3:PutObject"], f"{RECORDS_PREFIX}/*")

        self.summary = runtime.add(
            FunctionSpec(
                "summarize_evaluation",
                "score the evaluated records, write the report, apply the gate, publish the metrics",
                timeout=Duration.minutes(15),
                memory_mb=3008,
                environment={"ARTIFACTS_BUCKET": bucket},
                scoring=True,
            )
        )
        self._registry(self.summary)
        self._objects(self.summary, ["s3:GetObject"], f"{RECORDS_PREFIX}/*")
        self._objects(self.summary, ["s3:PutObject"], "reports/*")
        self._allow(
            self.summary,
            "ListEvaluatedRecords",
            ["s3:ListBucket"],
            [resources.artifacts_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{RECORDS_PREFIX}/*"]}},
        )
        self._allow(
            self.summary,
            "PublishEvaluationMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],  # PutMetricData has no resource-level permissions: scoped by namespace.
            conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        )
        self._acknowledge(prefix)

    @property
    def functions(self) -> list[RuntimeFunction]:
        return [self.stage, self.batch, self.summary]

    def extend_workflow(self, *, prepare_run: RuntimeFunction, validate_datasets: RuntimeFunction) -> None:
        """What the workflow's own functions need for evaluations: PrepareRun checks judges against
        the deployment's list; ValidateDatasets writes the items of a valid test set."""
        prepare_run.function.add_environment("EVALUATION_JUDGE_MODELS", ",".join(self.settings.judge_models))
        self._objects(validate_datasets, ["s3:PutObject"], f"{RECORDS_PREFIX}/*")
        acknowledge_nag(
            validate_datasets.role,
            "AwsSolutions-IAM5",
            "ValidateDatasets writes the evaluation's items under the evaluations/ prefix of the artifacts bucket; "
            "the object names contain the run id, known at run time only.",
            applies_to=[arn_wildcard_finding(self._resources.artifacts_bucket, f"/{RECORDS_PREFIX}/*")],
            apply_to_children=True,
        )

    # --- grants ---------------------------------------------------------------------------------

    def _registry(self, function: RuntimeFunction) -> None:
        self._resources.registry.grant(function.role, *REGISTRY_UPDATE)
        self._resources.data_key.grant(function.role, *DATA_KEY_USE)

    def _objects(self, function: RuntimeFunction, actions: list[str], pattern: str) -> None:
        bucket = self._resources.artifacts_bucket
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(pattern)])
        )
        self._resources.data_key.grant(function.role, *DATA_KEY_USE)

    @staticmethod
    def _allow(
        function: RuntimeFunction,
        sid: str,
        actions: list[str],
        resources: list[str],
        *,
        own: str | None = None,
        conditions: dict[str, Any] | None = None,
    ) -> None:
        if own is not None:
            conditions = {"StringEquals": {f"aws:ResourceTag/{PREFIX_TAG}": own}}
        function.role.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions)
        )

    @staticmethod
    def _serving_arns() -> list[str]:
        return [bedrock_arn("provisioned-model/*"), bedrock_arn("custom-model-deployment/*")]

    def _acknowledge(self, prefix: str) -> None:
        bucket = self._resources.artifacts_bucket
        group = self._resources.schedule_group
        group_id = Stack.of(group).resolve(Stack.of(group).get_logical_id(group))
        for function in self.functions:
            acknowledge_nag(
                function.role,
                "AwsSolutions-IAM5",
                "Throughput and deployment ids are assigned by Bedrock at run time: statements name those "
                f"resource types in this account and region and require this deployment's {PREFIX_TAG} tag; "
                "S3 access is limited to the evaluation's prefixes (evaluations/, reports/); schedules to this "
                "deployment's schedule group; PutMetricData (no resource-level permissions) to this "
                "deployment's namespace; registry access includes its indexes.",
                applies_to=[
                    "Resource::*",
                    arn_wildcard_finding(bucket, f"/{RECORDS_PREFIX}/*"),
                    arn_wildcard_finding(bucket, "/reports/*"),
                    f"Resource::{arn_wildcard_finding(self._resources.registry, '/index/*').removeprefix('Resource::')}",
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:provisioned-model/*",
                    "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model-deployment/*",
                    f"Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<{group_id}>/*",
                ],
                apply_to_children=True,
            )


# --- the Distributed Map's reader and writer, limited to the evaluation's prefix ---------------


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
