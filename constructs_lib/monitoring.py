"""One place to see the platform's health and to hear when it needs a person.

- A CloudWatch dashboard: executions, runs by status, every function, the dead-letter queues,
  the API, training metrics, serving (a SEARCH over ``AWS/Bedrock``, so servings created
  after the deployment appear without a redeploy) and the sweeper.
- Alarms to the notification topic: failed and timed-out executions, any message in a
  dead-letter queue, API 5XX, each function's errors, an orphaned or idle serving found.
- An EventBridge rule on CloudTrail management events: serving created or changed by anyone
  but this deployment's roles (needs a CloudTrail trail in the account).
- Optionally an AWS Budgets budget on Amazon Bedrock cost, notifying the topic at 80 and 100%.
- Saved CloudWatch Logs Insights queries: one run's logs across every log group; recent errors.

The dashboard is written with CDK's own CloudWatch constructs rather than
cdk-monitoring-constructs: see docs/decisions.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import Aws, Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.interfaces import aws_events as events_refs
from bmc.aws.registry import STATUSES
from bmc.guardrails.report import (
    DEPLOYMENT_DIMENSION,
    IDLE_METRIC,
    METRIC_NAMES,
    METRICS_SERVICE,
    ORPHANED_METRIC,
    RUNS_METRIC,
)
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag
from constructs_lib.functions import METRICS_NAMESPACE, RuntimeFunction
from constructs_lib.keys import grant_key_use

# CloudTrail management events that create or change serving (BEDROCK-NEXT.md, "Monitoring").
SERVING_EVENTS = (
    "CreateProvisionedModelThroughput",
    "UpdateProvisionedModelThroughput",
    "CreateCustomModelDeployment",
)
BEDROCK_SERVICE_COST = "Amazon Bedrock"  # the Cost Explorer SERVICE value
BUDGET_THRESHOLDS = (80, 100)
ALARM_PERIOD = Duration.minutes(5)
WIDGET_WIDTH = 8


@dataclass(frozen=True)
class MonitoredResources:
    """What the operations stack watches, from the other stacks."""

    state_machine: sfn.IStateMachine
    functions: Sequence[RuntimeFunction]
    dead_letter_queues: Sequence[sqs.IQueue]
    rest_api: apigateway.RestApi
    log_groups: Sequence[logs.ILogGroup]  # besides the functions' own
    topic: sns.Topic
    data_key: kms.IKey
    serving_roles: Sequence[iam.IRole]  # the roles that may create serving


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


class PlatformMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        resources: MonitoredResources,
        sweeper_interval_minutes: int,
        monthly_budget_usd: float | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = prefix
        self._resources = resources
        self._sweep_period = Duration.minutes(sweeper_interval_minutes)
        self._allow_service_publishers(budget=monthly_budget_usd is not None)
        self.undelivered = sqs.Queue(
            self,
            "UndeliveredAlerts",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=resources.data_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge_nag(
            self.undelivered,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the CloudTrail alert rule's target; a DLQ of a DLQ would "
            "only move the same undelivered events again.",
        )
        self.alarms = self._alarms()
        self.outside_serving_rule = self._outside_serving_rule()
        self.budget = self._budget(monthly_budget_usd) if monthly_budget_usd is not None else None
        self.queries = self._queries()
        self.dashboard = self._dashboard()

    # --- alarms -------------------------------------------------------------------------------

    def _alarm(
        self,
        construct_id: str,
        name: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 0,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        """An alarm when ``metric`` goes above ``threshold``; missing data is not a breach."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=f"{self._prefix}: {description}",
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._resources.topic))
        return alarm

    def _alarms(self) -> list[cloudwatch.Alarm]:
        resources = self._resources
        machine = resources.state_machine
        api = resources.rest_api
        alarms = [
            self._alarm(
                "ExecutionsFailed",
                "executions-failed",
                machine.metric_failed(period=ALARM_PERIOD, statistic="Sum"),
                "a run's workflow execution failed (its notification says why)",
            ),
            self._alarm(
                "ExecutionsTimedOut",
                "executions-timed-out",
                machine.metric_timed_out(period=ALARM_PERIOD, statistic="Sum"),
                "a run's workflow execution timed out",
            ),
            self._alarm(
                "Api5xx",
                "api-5xx",
                api.metric_server_error(period=ALARM_PERIOD, statistic="Sum"),
                "the /custom-models API answered 5XX",
            ),
            self._alarm(
                "OrphanedServing",
                "orphaned-serving",
                self._sweeper_metric(ORPHANED_METRIC, "Maximum"),
                "the sweeper found serving no run owns (deleted it or reported it: see its notification)",
            ),
            self._alarm(
                "IdleServing",
                "idle-serving",
                self._sweeper_metric(IDLE_METRIC, "Maximum"),
                "the idle guard found serving without invocations for idleHours",
            ),
        ]
        for function in resources.functions:
            name = function.node.id.replace("_", "-")
            alarms.append(
                self._alarm(
                    f"Errors{function.node.id}",
                    f"{name}-errors",
                    function.function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
                    f"the {function.node.id} function failed",
                )
            )
        for queue in [*resources.dead_letter_queues, self.undelivered]:
            where = "-".join(queue.node.path.split("/")[1:])  # the queue's path in its stack
            alarms.append(
                self._alarm(
                    f"DeadLetters{re.sub('[^A-Za-z0-9]', '', where)}",
                    f"dead-letters-{where}"[:200],
                    queue.metric_approximate_number_of_messages_visible(
                        period=ALARM_PERIOD, statistic="Maximum"
                    ),
                    f"messages wait in the dead-letter queue {queue.node.path}: an event or invocation was lost",
                )
            )
        return alarms

    def _sweeper_metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={DEPLOYMENT_DIMENSION: self._prefix, "service": METRICS_SERVICE},
            statistic=statistic,
            period=self._sweep_period,
        )

    # --- serving created outside the platform --------------------------------------------------

    def _outside_serving_rule(self) -> events.Rule:
        roles = [role.role_arn for role in self._resources.serving_roles]
        rule = events.Rule(
            self,
            "ServingCreatedOutside",
            description=f"{self._prefix}: Bedrock serving created or changed outside the platform (CloudTrail)",
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
                self._resources.topic,
                role=self._alert_role(),
                dead_letter_queue=self.undelivered,
                message=events.RuleTargetInput.from_text(
                    f"[{self._prefix}] Bedrock serving created outside the platform: "
                    f"{field('$.detail.eventName')} by {field('$.detail.userIdentity.arn')} "
                    f"at {field('$.detail.eventTime')} in {field('$.region')} "
                    f"(request {field('$.detail.requestID')}). It is not in the registry: no TTL, no "
                    "cleanup, no idle guard. Review it in the Bedrock console and delete it if nobody owns it."
                ),
            )
        )
        return rule

    def _alert_role(self) -> iam.Role:
        """EventBridge publishes as this role: the topic needs no statement for the service at large."""
        role = iam.Role(
            self,
            "AlertPublisherRole",
            description=f"{self._prefix}: EventBridge publishes serving-created-outside alerts to the topic",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self._resources.topic.topic_arn])
        )
        # SNS encrypts the message with the data key on the publisher's behalf.
        grant_key_use(
            role, self._resources.data_key, services=["sns"], actions=("kms:GenerateDataKey", "kms:Decrypt")
        )
        return role

    # --- budget ----------------------------------------------------------------------------------

    def _budget(self, monthly_budget_usd: float) -> budgets.CfnBudget:
        topic_arn = self._resources.topic.topic_arn
        return budgets.CfnBudget(
            self,
            "BedrockBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{self._prefix}-bedrock-monthly",
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
                        budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic_arn)
                    ],
                )
                for threshold in BUDGET_THRESHOLDS
            ],
        )

    def _allow_service_publishers(self, *, budget: bool) -> None:
        """Let CloudWatch alarms and Budgets publish to the encrypted topic (the CloudTrail rule
        publishes with a role of its own).

        SNS encrypts each message with the data key on the publisher's behalf, so each service
        needs the topic policy and the key. The key statements are bound to this deployment's
        topics through SNS's encryption context (``aws:sns:topicArn``), CloudWatch's also to
        this deployment's alarms. The topic ARN is matched by the name CloudFormation gives it
        (``<stack>-<logical id>-<suffix>``): naming the topic itself would make the foundation
        stack, which holds the key, depend on the workflow stack.
        """
        resources = self._resources
        topic_arn = resources.topic.topic_arn
        account_topics = f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{self._prefix}-workflow-*"
        alarms = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{self._prefix}-*"
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
                sid=f"Allow{self._prefix.title().replace('-', '')}TopicPublishers",
                principals=[iam.ServicePrincipal(service) for service in key_users],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:sns:topicArn": account_topics}},
            )
        )

    # --- saved Logs Insights queries ---------------------------------------------------------------

    def _queries(self) -> list[logs.CfnQueryDefinition]:
        groups = [f.log_group.log_group_name for f in self._resources.functions]
        groups += [group.log_group_name for group in self._resources.log_groups]
        run_logs = logs.CfnQueryDefinition(
            self,
            "RunLogsQuery",
            name=f"{self._prefix}/one-run-across-all-functions",
            log_group_names=groups,
            parameters=[
                logs.CfnQueryDefinition.QueryParameterProperty(
                    name="runId", description="The run id (execution name, API model Id)"
                )
            ],
            query_string=(
                "fields @timestamp, @log, level, service, function_name, message, runId, xray_trace_id\n"
                '| filter runId = "{{runId}}" or @message like "{{runId}}"\n'
                "| sort @timestamp asc\n"
                "| limit 10000"
            ),
        )
        errors = logs.CfnQueryDefinition(
            self,
            "ErrorsQuery",
            name=f"{self._prefix}/errors (set the time range to the last day)",
            log_group_names=groups,
            query_string=(
                "fields @timestamp, @log, level, service, runId, message, exception_name, exception\n"
                '| filter level = "ERROR" or level = "CRITICAL" or type = "ExecutionFailed" '
                'or type = "TaskFailed" or status >= 500\n'
                "| sort @timestamp desc\n"
                "| limit 1000"
            ),
        )
        return [run_logs, errors]

    # --- dashboard ---------------------------------------------------------------------------------

    def _dashboard(self) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{self._prefix}-model-customization",
            default_interval=Duration.days(7),
        )
        for row in (
            self._workflow_row(),
            self._function_row(),
            self._queue_and_api_row(),
            self._training_row(),
            self._serving_row(),
            self._sweeper_row(),
        ):
            dashboard.add_widgets(*row)
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=6)
        )
        return dashboard

    @staticmethod
    def _graph(
        title: str, metrics: Sequence[cloudwatch.IMetric], *, stacked: bool = False
    ) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=title, left=list(metrics), width=WIDGET_WIDTH, height=6, stacked=stacked
        )

    def _workflow_row(self) -> list[cloudwatch.IWidget]:
        machine = self._resources.state_machine
        hour = Duration.hours(1)
        executions = [
            machine.metric_started(period=hour, statistic="Sum", label="started"),
            machine.metric_succeeded(period=hour, statistic="Sum", label="succeeded"),
            machine.metric_failed(period=hour, statistic="Sum", label="failed"),
            machine.metric_aborted(period=hour, statistic="Sum", label="aborted"),
            machine.metric_timed_out(period=hour, statistic="Sum", label="timed out"),
        ]
        duration = [
            machine.metric_time(period=hour, statistic="Average", label="average"),
            machine.metric_time(period=hour, statistic="p90", label="p90"),
        ]
        runs = [
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=RUNS_METRIC,
                dimensions_map={
                    DEPLOYMENT_DIMENSION: self._prefix,
                    "Status": status,
                    "service": METRICS_SERVICE,
                },
                statistic="Maximum",
                period=self._sweep_period,
                label=status,
            )
            for status in STATUSES
        ]
        return [
            self._graph("Executions", executions),
            self._graph("Execution duration (ms)", duration),
            self._graph("Runs by status (counted by the sweeper)", runs, stacked=True),
        ]

    def _function_row(self) -> list[cloudwatch.IWidget]:
        functions = self._resources.functions
        period = ALARM_PERIOD

        def each(kind: str, statistic: str) -> list[cloudwatch.IMetric]:
            return [
                getattr(f.function, f"metric_{kind}")(period=period, statistic=statistic, label=f.node.id)
                for f in functions
            ]

        return [
            self._graph("Lambda errors", each("errors", "Sum")),
            self._graph("Lambda throttles", each("throttles", "Sum")),
            self._graph("Lambda duration p90 (ms)", each("duration", "p90")),
        ]

    def _queue_and_api_row(self) -> list[cloudwatch.IWidget]:
        api = self._resources.rest_api
        queues = [*self._resources.dead_letter_queues, self.undelivered]
        depths = [
            queue.metric_approximate_number_of_messages_visible(statistic="Maximum", label=queue.node.path)
            for queue in queues
        ]
        return [
            self._graph("Dead-letter queue depth", depths),
            self._graph(
                "API requests and errors",
                [
                    api.metric_count(statistic="Sum", label="requests"),
                    api.metric_client_error(statistic="Sum", label="4XX"),
                    api.metric_server_error(statistic="Sum", label="5XX"),
                ],
            ),
            self._graph(
                "API latency (ms)",
                [
                    api.metric_latency(statistic="p50", label="p50"),
                    api.metric_latency(statistic="p90", label="p90"),
                    api.metric_integration_latency(statistic="p90", label="integration p90"),
                ],
            ),
        ]

    def _training_row(self) -> list[cloudwatch.IWidget]:
        def search(expression: str, label: str) -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression=expression, using_metrics={}, label=label, period=Duration.hours(1)
            )

        namespace = METRICS_NAMESPACE
        return [
            self._graph(
                "Training loss per run",
                [
                    search(
                        f"SEARCH('{{{namespace},BaseModel,RunId}} MetricName=\"TrainingLoss\"', 'Average', 3600)",
                        "",
                    )
                ],
            ),
            self._graph(
                "Validation loss per run",
                [
                    search(
                        f"SEARCH('{{{namespace},BaseModel,RunId}} MetricName=\"ValidationLoss\"', 'Average', 3600)",
                        "",
                    )
                ],
            ),
            self._graph(
                "Evaluation deltas per run (custom minus base)",
                [search(f"SEARCH('{{{namespace},RunId}} Delta', 'Average', 3600)", "")],
            ),
        ]

    def _serving_row(self) -> list[cloudwatch.IWidget]:
        def bedrock(metrics: str, statistic: str) -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression=f"SEARCH('{{AWS/Bedrock,ModelId}} {metrics}', '{statistic}', 300)",
                using_metrics={},
                label="",
                period=Duration.minutes(5),
            )

        return [
            self._graph(
                "Serving invocations and throttles, per model id",
                [
                    bedrock('MetricName="Invocations"', "Sum"),
                    bedrock('MetricName="InvocationThrottles"', "Sum"),
                ],
            ),
            self._graph(
                "Serving latency p90 (ms), per model id", [bedrock('MetricName="InvocationLatency"', "p90")]
            ),
            self._graph(
                "Serving tokens, per model id",
                [bedrock('(MetricName="InputTokenCount" OR MetricName="OutputTokenCount")', "Sum")],
            ),
        ]

    def _sweeper_row(self) -> list[cloudwatch.IWidget]:
        metrics = [
            self._sweeper_metric(name, "Maximum").with_(label=figure) for figure, name in METRIC_NAMES.items()
        ]
        return [
            cloudwatch.GraphWidget(title="Sweeper (each sweep's figures)", left=metrics, width=24, height=6),
        ]
