"""One place to see the platform's health and to hear when it needs a person.

- A CloudWatch dashboard: executions, runs by status, every function, the dead-letter queues,
  the API, training metrics, serving (a SEARCH over ``AWS/Bedrock``, so servings created
  after the deployment appear without a redeploy) and the sweeper (``dashboard``).
- Alarms to the notification topic: failed and timed-out executions, any message in a
  dead-letter queue, API 5XX, each function's errors, an orphaned or idle serving found
  (``alarms``).
- An EventBridge rule on CloudTrail management events: serving created or changed by anyone
  but this deployment's roles (needs a CloudTrail trail in the account) (``alerts``).
- Optionally an AWS Budgets budget on Amazon Bedrock cost, notifying the topic at 80 and 100%
  (``alerts``).
- Saved CloudWatch Logs Insights queries: one run's logs across every log group; recent errors
  (``queries``).

``PlatformMonitoring`` is the construct; every part is created directly in it, so each keeps
its construct id. The dashboard is written with CDK's own CloudWatch constructs rather than
cdk-monitoring-constructs: see docs/decisions.md.
"""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from constructs_lib.monitoring.alarms import platform_alarms
from constructs_lib.monitoring.alerts import allow_service_publishers, bedrock_budget, outside_serving_rule
from constructs_lib.monitoring.dashboard import platform_dashboard
from constructs_lib.monitoring.queries import saved_queries
from constructs_lib.monitoring.sources import MonitoredResources
from constructs_lib.queues import dead_letter_queue

__all__ = ["MonitoredResources", "PlatformMonitoring"]


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
        sweep_period = Duration.minutes(sweeper_interval_minutes)
        allow_service_publishers(prefix=prefix, resources=resources, budget=monthly_budget_usd is not None)
        self.undelivered = dead_letter_queue(
            self,
            "UndeliveredAlerts",
            key=resources.data_key,
            reason="This queue is the dead-letter queue of the CloudTrail alert rule's target; a DLQ of a DLQ "
            "would only move the same undelivered events again.",
        )
        self.alarms = platform_alarms(
            self, prefix=prefix, resources=resources, undelivered=self.undelivered, sweep_period=sweep_period
        )
        self.outside_serving_rule = outside_serving_rule(
            self, prefix=prefix, resources=resources, undelivered=self.undelivered
        )
        self.budget = (
            bedrock_budget(self, prefix=prefix, topic=resources.topic, monthly_budget_usd=monthly_budget_usd)
            if monthly_budget_usd is not None
            else None
        )
        self.queries = saved_queries(self, prefix=prefix, resources=resources)
        self.dashboard = platform_dashboard(
            self,
            prefix=prefix,
            resources=resources,
            undelivered=self.undelivered,
            sweep_period=sweep_period,
            alarms=self.alarms,
        )
