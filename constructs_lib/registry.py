"""The registry: one DynamoDB item per run (and per custom model served through the API)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

RUN_ID_ATTRIBUTE = "runId"
JOB_ARN_ATTRIBUTE = "jobArn"
JOB_ARN_INDEX = "byJobArn"
LISTING_PARTITION_ATTRIBUTE = "recordType"
CREATED_AT_ATTRIBUTE = "createdAt"
CREATED_INDEX = "byCreatedAt"
AWAITING_ATTRIBUTE = "awaiting"
AWAITING_INDEX = "byAwaiting"
TEAM_ATTRIBUTE = "team"
TEAM_INDEX = "byTeam"


class RunRegistry(Construct):
    """On-demand, point-in-time recovery, encrypted with the data key.

    Keys: `runId`; `byJobArn` finds the run a Bedrock job event belongs to; `byCreatedAt`
    (constant partition, newest first) pages through runs for listings; `byAwaiting` is sparse:
    only runs whose job is still awaited carry its key, so the reconciler reads just those;
    `byTeam` (the owner's team key, newest first) lists one team's runs without reading the others'.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=RUN_ID_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        self.table.add_global_secondary_index(
            index_name=JOB_ARN_INDEX,
            partition_key=dynamodb.Attribute(name=JOB_ARN_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.table.add_global_secondary_index(
            index_name=CREATED_INDEX,
            partition_key=dynamodb.Attribute(
                name=LISTING_PARTITION_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=CREATED_AT_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.table.add_global_secondary_index(
            index_name=AWAITING_INDEX,
            partition_key=dynamodb.Attribute(name=AWAITING_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.table.add_global_secondary_index(
            index_name=TEAM_INDEX,
            partition_key=dynamodb.Attribute(name=TEAM_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=CREATED_AT_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
