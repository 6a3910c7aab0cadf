"""The CloudWatch alarms that call a person through the notification topic: failed and
timed-out executions, API 5XX, an orphaned or idle serving found by the sweeper, each
function's errors and any message waiting in a dead-letter queue."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sqs as sqs
from bmc.guardrails.report import IDLE_METRIC, ORPHANED_METRIC
from constructs import Construct

from constructs_lib.monitoring.sources import ALARM_PERIOD, MonitoredResources, sweeper_metric


def platform_alarms(
    scope: Construct,
    *,
    prefix: str,
    resources: MonitoredResources,
    undelivered: sqs.IQueue,
    sweep_period: Duration,
) -> list[cloudwatch.Alarm]:
    """Every alarm, created in ``scope``; ``undelivered`` is watched with the dead-letter queues."""
    machine = resources.state_machine
    api = resources.rest_api

    def alarm(construct_id: str, name: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        """An alarm when ``metric`` goes above zero; missing data is not a breach."""
        created = cloudwatch.Alarm(
            scope,
            construct_id,
            alarm_name=f"{prefix}-{name}",
            alarm_description=f"{prefix}: {description}",
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        created.add_alarm_action(cloudwatch_actions.SnsAction(resources.topic))
        return created

    alarms = [
        alarm(
            "ExecutionsFailed",
            "executions-failed",
            machine.metric_failed(period=ALARM_PERIOD, statistic="Sum"),
            "a run's workflow execution failed (its notification says why)",
        ),
        alarm(
            "ExecutionsTimedOut",
            "executions-timed-out",
            machine.metric_timed_out(period=ALARM_PERIOD, statistic="Sum"),
            "a run's workflow execution timed out",
        ),
        alarm(
            "Api5xx",
            "api-5xx",
            api.metric_server_error(period=ALARM_PERIOD, statistic="Sum"),
            "the /custom-models API answered 5XX",
        ),
        alarm(
            "OrphanedServing",
            "orphaned-serving",
            sweeper_metric(ORPHANED_METRIC, "Maximum", prefix=prefix, sweep_period=sweep_period),
            "the sweeper found serving no run owns (deleted it or reported it: see its notification)",
        ),
        alarm(
            "IdleServing",
            "idle-serving",
            sweeper_metric(IDLE_METRIC, "Maximum", prefix=prefix, sweep_period=sweep_period),
            "the idle guard found serving without invocations for idleHours",
        ),
    ]
    for function in resources.functions:
        name = function.node.id.replace("_", "-")
        alarms.append(
            alarm(
                f"Errors{function.node.id}",
                f"{name}-errors",
                function.function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
                f"the {function.node.id} function failed",
            )
        )
    queues: Sequence[sqs.IQueue] = [*resources.dead_letter_queues, undelivered]
    for queue in queues:
        where = "-".join(queue.node.path.split("/")[1:])  # the queue's path in its stack
        alarms.append(
            alarm(
                f"DeadLetters{re.sub('[^A-Za-z0-9]', '', where)}",
                f"dead-letters-{where}"[:200],
                queue.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, statistic="Maximum"),
                f"messages wait in the dead-letter queue {queue.node.path}: an event or invocation was lost",
            )
        )
    return alarms
