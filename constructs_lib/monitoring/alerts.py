"""What reaches the notification topic besides the alarms, and who may publish to it.

- An EventBridge rule on CloudTrail management events: serving created or changed by anyone
  but this deployment's roles (needs a CloudTrail trail in the account), published by a role
  of its own, with a dead-letter queue for what cannot be delivered.
- An AWS Budgets budget on Amazon Bedrock cost, notifying the topic at 80 and 100%.
- The topic and key policy statements that let CloudWatch alarms and Budgets publish to the
  encrypted topic.
"""

from __future__ import annotations

import jsii
from aws_cdk import Aws, Duration
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from constructs_lib.keys import grant_key_use
from constructs_lib.monitoring.sources import MonitoredResources

# CloudTrail management events that create or change serving (BEDROCK-NEXT.md, "Monitoring").
SERVING_EVENTS = (
    "CreateProvisionedModelThroughput",
    "UpdateProvisionedModelThroughput",
    "CreateCustomModelDeployment",
)
BEDROCK_SERVICE_COST = "Amazon Bedrock"  # the Cost Explorer SERVICE value
BUDGET_THRESHOLDS = (80, 100)


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """An SNS topic as a rule target, published to with ``role`` (CDK's SnsTopic target would
    grant the role ``kms:GenerateDataKey*`` and open the topic to the EventBridge service)."""

    def __init__(
        self,
        topic: sns.ITopic,
        *,
        role: iam.IRole,
        dead_letter_queue: sqs.IQueue,
        message: events.RuleTargetInput,
    ) -> None:
        self._topic = topic
        self._role = role
        self._dead_letter_queue = dead_letter_queue
        self._message = message

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        self._dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="UndeliveredAlertsFromTheRule",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self._dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn,
            role=self._role,
            input=self._message,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letter_queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=8, maximum_event_age_in_seconds=int(Duration.hours(6).to_seconds())
            ),
            target_resource=self._topic,
        )


def outside_serving_rule(
    scope: Construct, *, prefix: str, resources: MonitoredResources, undelivered: sqs.IQueue
) -> events.Rule:
    """The rule that alerts on serving created or changed outside the platform, in ``scope``."""
    roles = [role.role_arn for role in resources.serving_roles]
    rule = events.Rule(
        scope,
        "ServingCreatedOutside",
        description=f"{prefix}: Bedrock serving created or changed outside the platform (CloudTrail)",
        event_pattern=events.EventPattern(
            source=["aws.bedrock"],
            detail_type=["AWS API Call via CloudTrail"],
            detail={
                "eventSource": ["bedrock.amazonaws.com"],
                "eventName": list(SERVING_EVENTS),
                "errorCode": [{"exists": False}],
                # A role other than the platform's, or no role at all (an IAM user, root).
                "$or": [
                    {
                        "userIdentity": {
                            "sessionContext": {"sessionIssuer": {"arn": [{"anything-but": roles}]}}
                        }
                    },
                    {"userIdentity": {"type": [{"anything-but": ["AssumedRole"]}]}},
                ],
            },
        ),
    )
    field = events.EventField.from_path
    rule.add_target(
        TopicTarget(
            resources.topic,
            role=_alert_role(scope, prefix=prefix, topic=resources.topic, data_key=resources.data_key),
            dead_letter_queue=undelivered,
            message=events.RuleTargetInput.from_text(
                f"[{prefix}] Bedrock serving created outside the platform: "
                f"{field('$.detail.eventName')} by {field('$.detail.userIdentity.arn')} "
                f"at {field('$.detail.eventTime')} in {field('$.region')} "
                f"(request {field('$.detail.requestID')}). It is not in the registry: no TTL, no "
                "cleanup, no idle guard. Review it in the Bedrock console and delete it if nobody owns it."
            ),
        )
    )
    return rule


def _alert_role(scope: Construct, *, prefix: str, topic: sns.ITopic, data_key: kms.IKey) -> iam.Role:
    """EventBridge publishes as this role: the topic needs no statement for the service at large."""
    role = iam.Role(
        scope,
        "AlertPublisherRole",
        description=f"{prefix}: EventBridge publishes serving-created-outside alerts to the topic",
        assumed_by=iam.ServicePrincipal(
            "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        ),
    )
    role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
    # SNS encrypts the message with the data key on the publisher's behalf.
    grant_key_use(role, data_key, services=["sns"], actions=("kms:GenerateDataKey", "kms:Decrypt"))
    return role


def bedrock_budget(
    scope: Construct, *, prefix: str, topic: sns.ITopic, monthly_budget_usd: float
) -> budgets.CfnBudget:
    """A monthly budget on Amazon Bedrock cost that notifies ``topic`` at each threshold."""
    return budgets.CfnBudget(
        scope,
        "BedrockBudget",
        budget=budgets.CfnBudget.BudgetDataProperty(
            budget_name=f"{prefix}-bedrock-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_budget_usd, unit="USD"),
            # AWS recommends FilterExpression and Metrics over the older CostFilters and CostTypes.
            filter_expression=budgets.CfnBudget.ExpressionProperty(
                dimensions=budgets.CfnBudget.ExpressionDimensionValuesProperty(
                    key="SERVICE", values=[BEDROCK_SERVICE_COST]
                )
            ),
            metrics=["UnblendedCost"],
        ),
        notifications_with_subscribers=[
            budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type="ACTUAL",
                    comparison_operator="GREATER_THAN",
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[
                    budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)
                ],
            )
            for threshold in BUDGET_THRESHOLDS
        ],
    )


def allow_service_publishers(*, prefix: str, resources: MonitoredResources, budget: bool) -> None:
    """Let CloudWatch alarms and Budgets publish to the encrypted topic (the CloudTrail rule
    publishes with a role of its own).

    SNS encrypts each message with the data key on the publisher's behalf, so each service
    needs the topic policy and the key. The key statements are bound to this deployment's
    topics through SNS's encryption context (``aws:sns:topicArn``), CloudWatch's also to
    this deployment's alarms. The topic ARN is matched by the name CloudFormation gives it
    (``<stack>-<logical id>-<suffix>``): naming the topic itself would make the foundation
    stack, which holds the key, depend on the workflow stack.
    """
    topic_arn = resources.topic.topic_arn
    account_topics = f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{prefix}-workflow-*"
    alarms = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{prefix}-*"
    this_account = {"aws:SourceAccount": Aws.ACCOUNT_ID}
    publishers: list[tuple[str, str, dict[str, dict[str, str]]]] = [
        (
            "AlarmsPublish",
            "cloudwatch.amazonaws.com",
            {"StringEquals": this_account, "ArnLike": {"aws:SourceArn": alarms}},
        ),
    ]
    if budget:
        budgets_arns = f"arn:{Aws.PARTITION}:budgets::{Aws.ACCOUNT_ID}:*"
        publishers.append(
            (
                "BudgetsPublish",
                "budgets.amazonaws.com",
                {"StringEquals": this_account, "ArnLike": {"aws:SourceArn": budgets_arns}},
            )
        )
    for sid, service, conditions in publishers:
        resources.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[topic_arn],
                conditions=conditions,
            )
        )
    key_users = ["cloudwatch.amazonaws.com"] + (["budgets.amazonaws.com"] if budget else [])
    resources.data_key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"Allow{prefix.title().replace('-', '')}TopicPublishers",
            principals=[iam.ServicePrincipal(service) for service in key_users],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:sns:topicArn": account_topics}},
        )
    )
