"""Dashboard, alarms, the CloudTrail alert rule, the budget and saved Logs Insights queries."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.monitoring import MonitoredResources, PlatformMonitoring
from stacks.api_stack import ApiStack
from stacks.config import AppConfig
from stacks.foundation_stack import FoundationStack
from stacks.workflow_stack import WorkflowStack


class OperationsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        foundation: FoundationStack,
        workflow: WorkflowStack,
        api: ApiStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Every queue of the watched stacks is a dead-letter queue: each gets an alarm.
        queues = [c for stack in (workflow, api) for c in stack.node.find_all() if isinstance(c, sqs.Queue)]
        self.monitoring = PlatformMonitoring(
            self,
            "Monitoring",
            prefix=config.prefix,
            resources=MonitoredResources(
                state_machine=workflow.workflow.state_machine,
                functions=[*workflow.lambdas.all_functions(), api.api.function],
                dead_letter_queues=queues,
                rest_api=api.api.rest_api,
                log_groups=[workflow.workflow.log_group, api.api.access_logs],
                topic=workflow.notifications_topic,
                data_key=foundation.keys.data_key,
                serving_roles=[workflow.lambdas.serving.serve.role, api.api.function.role],
            ),
            sweeper_interval_minutes=config.sweeper.interval_minutes,
            monthly_budget_usd=config.monthly_budget_usd,
        )
        CfnOutput(
            self,
            "DashboardName",
            value=self.monitoring.dashboard.dashboard_name,
            description="CloudWatch dashboard of the deployment",
            export_name=f"{config.prefix}-DashboardName",
        )
