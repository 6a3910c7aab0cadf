"""The orphan sweeper: a scheduled function with a role that can delete only what is tagged
for this deployment (README, "Operations: costs and alerts"; lambda/bmc/guardrails)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.bedrock_scope import bedrock_arn, own_resources
from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.functions import FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use

# No Bedrock List call and neither CloudWatch read has resource-level permissions.
LIST_ACTIONS = (
    "bedrock:ListProvisionedModelThroughputs",
    "bedrock:ListCustomModelDeployments",
    "bedrock:ListModelCustomizationJobs",
    "bedrock:ListCustomModels",
)
METRIC_READS = ("cloudwatch:ListMetrics", "cloudwatch:GetMetricData")


class OrphanSweeper(Construct):
    """``bmc.handlers.sweep`` every ``interval_minutes``; what it may do, and nothing more."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        runtime: RuntimeFunctions,
        mode: str,
        interval_minutes: int,
        idle_hours: int,
        default_idle_action: str,
        registry: dynamodb.ITable,
        data_key: kms.IKey,
        topic: sns.ITopic,
        state_machine_arn: str,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function: RuntimeFunction = runtime.add(
            FunctionSpec(
                "sweep",
                "delete or report billed Bedrock resources no run owns; expire TTLs; find idle serving",
                timeout=Duration.minutes(5),
                asynchronous=True,  # invoked by its schedule: a failed sweep is kept
                environment={
                    "SWEEPER_MODE": mode,
                    "IDLE_HOURS": str(idle_hours),
                    "DEFAULT_IDLE_ACTION": default_idle_action,
                    "TOPIC_ARN": topic.topic_arn,
                },
            )
        )
        self._grant(prefix, registry, data_key, topic, state_machine_arn)
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"{prefix}: sweep orphaned and idle Bedrock resources",
            schedule=events.Schedule.rate(Duration.minutes(interval_minutes)),
            targets=[
                targets.LambdaFunction(
                    self.function.function,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.minutes(min(interval_minutes, 60)),
                )
            ],
        )

    def _grant(
        self,
        prefix: str,
        registry: dynamodb.ITable,
        data_key: kms.IKey,
        topic: sns.ITopic,
        state_machine_arn: str,
    ) -> None:
        role = self.function.role
        # Read runs, claim and record actions, count runs by status (byCreatedAt).
        registry.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query")
        grant_key_use(role, data_key, services=["dynamodb", "sns"])
        serving = [bedrock_arn("provisioned-model/*"), bedrock_arn("custom-model-deployment/*")]
        jobs = [bedrock_arn("model-customization-job/*")]
        own_tag = own_resources(prefix)
        executions = state_machine_arn.replace(":stateMachine:", ":execution:") + ":*"
        for statement in (
            iam.PolicyStatement(sid="ListBedrockResources", actions=list(LIST_ACTIONS), resources=["*"]),
            iam.PolicyStatement(
                sid="ReadBedrockTags",
                actions=["bedrock:ListTagsForResource"],
                resources=[*serving, *jobs, bedrock_arn("custom-model/*")],
            ),
            # Only resources tagged for this deployment, whatever a run record or a tag value says.
            iam.PolicyStatement(
                sid="DeleteOwnServing",
                actions=["bedrock:DeleteProvisionedModelThroughput", "bedrock:DeleteCustomModelDeployment"],
                resources=serving,
                conditions=own_tag,
            ),
            iam.PolicyStatement(
                sid="StopOwnJobs",
                actions=["bedrock:StopModelCustomizationJob"],
                resources=jobs,
                conditions=own_tag,
            ),
            iam.PolicyStatement(
                sid="CheckExecutions", actions=["states:DescribeExecution"], resources=[executions]
            ),
            iam.PolicyStatement(sid="ReadInvocationMetrics", actions=list(METRIC_READS), resources=["*"]),
            iam.PolicyStatement(sid="PublishFindings", actions=["sns:Publish"], resources=[topic.topic_arn]),
        ):
            role.add_to_principal_policy(statement)
        acknowledge_nag(
            role,
            "AwsSolutions-IAM5",
            "Bedrock's List calls and CloudWatch ListMetrics/GetMetricData have no resource-level permissions; "
            "tags are read on this account's job, model, throughput and deployment ARNs (ids assigned by "
            "Bedrock); deleting and stopping is limited to resources tagged bmc:prefix for this deployment; "
            "executions are this deployment's state machine's; registry access includes its indexes.",
            applies_to=[
                "Resource::*",
                arn_wildcard_finding(registry, "/index/*"),
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model/*",
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:model-customization-job/*",
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:provisioned-model/*",
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model-deployment/*",
                f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"{prefix}-customization:*",
            ],
            apply_to_children=True,
        )
