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

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from bmc.catalog.models import Model
from bmc.evaluation.store import RECORDS_PREFIX
from constructs import Construct

from constructs_lib.bedrock_scope import (
    PREFIX_TAG,
    base_model_invocation_arns,
    invocation_arns,
    own_resources,
)
from constructs_lib.buckets import read_objects
from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.evaluation_map import EvaluationSettings
from constructs_lib.functions import METRICS_NAMESPACE, FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use
from constructs_lib.workflow_functions.grants import (
    DELETE_SERVING,
    REGISTRY_UPDATE,
    schedule_arn,
    serving_arns,
)

# An EXPRESS child runs at most 5 minutes; the batch function stops starting records before its
# own timeout and records the rest as failed (bmc.evaluation.batch).
BATCH_TIMEOUT = Duration.seconds(270)


@dataclass(frozen=True)
class EvaluationResources:
    registry: dynamodb.ITable
    artifacts_bucket: s3.IBucket
    data_key: kms.IKey
    model_key: kms.IKey
    base_models: list[Model]  # the models this deployment may customize (and so evaluate)
    schedule_group: scheduler.CfnScheduleGroup


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
        self._allow(
            self.stage, "DeleteOwnServing", list(DELETE_SERVING), serving_arns(), own_resources(prefix)
        )
        self._allow(
            self.stage,
            "DeleteServingExpiry",
            ["scheduler:DeleteSchedule"],
            [schedule_arn(resources.schedule_group.ref)],
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
        self._allow(
            self.batch,
            "InvokeOwnServing",
            ["bedrock:InvokeModel"],
            serving_arns(),
            own_resources(prefix),
        )
        models = base_model_invocation_arns(resources.base_models)
        judges = sorted({arn for judge in settings.judge_models for arn in invocation_arns(judge)})
        self._allow(
            self.batch, "InvokeBaseModelsAndJudges", ["bedrock:InvokeModel"], sorted({*models, *judges})
        )
        # A served custom model is encrypted with the model key: Bedrock decrypts it for the caller.
        grant_key_use(
            self.batch.role,
            resources.model_key,
            services=["bedrock"],
            actions=("kms:Decrypt", "kms:DescribeKey"),
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
        read_objects(self.summary.role, resources.artifacts_bucket, f"{RECORDS_PREFIX}/")
        grant_key_use(self.summary.role, resources.data_key, services=["s3"])
        self._objects(self.summary, ["s3:PutObject"], "reports/*")
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
        grant_key_use(function.role, self._resources.data_key, services=["dynamodb"])

    def _objects(self, function: RuntimeFunction, actions: list[str], pattern: str) -> None:
        bucket = self._resources.artifacts_bucket
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(pattern)])
        )
        grant_key_use(function.role, self._resources.data_key, services=["s3"])

    @staticmethod
    def _allow(
        function: RuntimeFunction,
        sid: str,
        actions: list[str],
        resources: list[str],
        conditions: dict[str, Any] | None = None,
    ) -> None:
        function.role.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions)
        )

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
