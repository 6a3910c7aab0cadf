"""What the platform's monitoring watches: the other stacks' resources, and the sweeper's
figures (published as metrics), which both the alarms and the dashboard read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from bmc.guardrails.report import DEPLOYMENT_DIMENSION, METRICS_SERVICE

from constructs_lib.functions import METRICS_NAMESPACE, RuntimeFunction

ALARM_PERIOD = Duration.minutes(5)


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


def sweeper_metric(name: str, statistic: str, *, prefix: str, sweep_period: Duration) -> cloudwatch.Metric:
    """One figure the sweeper publishes after each sweep, for this deployment."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={DEPLOYMENT_DIMENSION: prefix, "service": METRICS_SERVICE},
        statistic=statistic,
        period=sweep_period,
    )
