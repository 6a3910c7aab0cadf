"""The CloudWatch dashboard: executions, runs by status, every function, the dead-letter queues,
the API, training metrics, serving (a SEARCH over ``AWS/Bedrock``, so servings created after
the deployment appear without a redeploy), the sweeper, and the alarms' states."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from bmc.aws.registry import STATUSES
from bmc.guardrails.report import DEPLOYMENT_DIMENSION, METRIC_NAMES, METRICS_SERVICE, RUNS_METRIC
from constructs import Construct

from constructs_lib.functions import METRICS_NAMESPACE, RuntimeFunction
from constructs_lib.monitoring.sources import ALARM_PERIOD, MonitoredResources, sweeper_metric

WIDGET_WIDTH = 8


def platform_dashboard(
    scope: Construct,
    *,
    prefix: str,
    resources: MonitoredResources,
    undelivered: sqs.IQueue,
    sweep_period: Duration,
    alarms: Sequence[cloudwatch.Alarm],
) -> cloudwatch.Dashboard:
    """The dashboard, created in ``scope``, one row per concern and the alarms last."""
    dashboard = cloudwatch.Dashboard(
        scope,
        "Dashboard",
        dashboard_name=f"{prefix}-model-customization",
        default_interval=Duration.days(7),
    )
    for row in (
        _workflow_row(resources.state_machine, prefix=prefix, sweep_period=sweep_period),
        _function_row(resources.functions),
        _queue_and_api_row(resources, undelivered),
        _training_row(),
        _serving_row(),
        _sweeper_row(prefix=prefix, sweep_period=sweep_period),
    ):
        dashboard.add_widgets(*row)
    dashboard.add_widgets(
        cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24, height=6)
    )
    return dashboard


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], *, stacked: bool = False
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title, left=list(metrics), width=WIDGET_WIDTH, height=6, stacked=stacked
    )


def _workflow_row(
    machine: sfn.IStateMachine, *, prefix: str, sweep_period: Duration
) -> list[cloudwatch.IWidget]:
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
                DEPLOYMENT_DIMENSION: prefix,
                "Status": status,
                "service": METRICS_SERVICE,
            },
            statistic="Maximum",
            period=sweep_period,
            label=status,
        )
        for status in STATUSES
    ]
    return [
        _graph("Executions", executions),
        _graph("Execution duration (ms)", duration),
        _graph("Runs by status (counted by the sweeper)", runs, stacked=True),
    ]


def _function_row(functions: Sequence[RuntimeFunction]) -> list[cloudwatch.IWidget]:
    period = ALARM_PERIOD

    def each(kind: str, statistic: str) -> list[cloudwatch.IMetric]:
        return [
            getattr(f.function, f"metric_{kind}")(period=period, statistic=statistic, label=f.node.id)
            for f in functions
        ]

    return [
        _graph("Lambda errors", each("errors", "Sum")),
        _graph("Lambda throttles", each("throttles", "Sum")),
        _graph("Lambda duration p90 (ms)", each("duration", "p90")),
    ]


def _queue_and_api_row(resources: MonitoredResources, undelivered: sqs.IQueue) -> list[cloudwatch.IWidget]:
    api = resources.rest_api
    queues = [*resources.dead_letter_queues, undelivered]
    depths = [
        queue.metric_approximate_number_of_messages_visible(statistic="Maximum", label=queue.node.path)
        for queue in queues
    ]
    return [
        _graph("Dead-letter queue depth", depths),
        _graph(
            "API requests and errors",
            [
                api.metric_count(statistic="Sum", label="requests"),
                api.metric_client_error(statistic="Sum", label="4XX"),
                api.metric_server_error(statistic="Sum", label="5XX"),
            ],
        ),
        _graph(
            "API latency (ms)",
            [
                api.metric_latency(statistic="p50", label="p50"),
                api.metric_latency(statistic="p90", label="p90"),
                api.metric_integration_latency(statistic="p90", label="integration p90"),
            ],
        ),
    ]


def _training_row() -> list[cloudwatch.IWidget]:
    def search(expression: str, label: str) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=expression, using_metrics={}, label=label, period=Duration.hours(1)
        )

    namespace = METRICS_NAMESPACE
    return [
        _graph(
            "Training loss per run",
            [
                search(
                    f"SEARCH('{{{namespace},BaseModel,RunId}} MetricName=\"TrainingLoss\"', 'Average', 3600)",
                    "",
                )
            ],
        ),
        _graph(
            "Validation loss per run",
            [
                search(
                    f"SEARCH('{{{namespace},BaseModel,RunId}} MetricName=\"ValidationLoss\"', 'Average', 3600)",
                    "",
                )
            ],
        ),
        _graph(
            "Evaluation deltas per run (custom minus base)",
            [search(f"SEARCH('{{{namespace},RunId}} Delta', 'Average', 3600)", "")],
        ),
    ]


def _serving_row() -> list[cloudwatch.IWidget]:
    def bedrock(metrics: str, statistic: str) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{AWS/Bedrock,ModelId}} {metrics}', '{statistic}', 300)",
            using_metrics={},
            label="",
            period=Duration.minutes(5),
        )

    return [
        _graph(
            "Serving invocations and throttles, per model id",
            [
                bedrock('MetricName="Invocations"', "Sum"),
                bedrock('MetricName="InvocationThrottles"', "Sum"),
            ],
        ),
        _graph("Serving latency p90 (ms), per model id", [bedrock('MetricName="InvocationLatency"', "p90")]),
        _graph(
            "Serving tokens, per model id",
            [bedrock('(MetricName="InputTokenCount" OR MetricName="OutputTokenCount")', "Sum")],
        ),
    ]


def _sweeper_row(*, prefix: str, sweep_period: Duration) -> list[cloudwatch.IWidget]:
    metrics = [
        sweeper_metric(name, "Maximum", prefix=prefix, sweep_period=sweep_period).with_(label=figure)
        for figure, name in METRIC_NAMES.items()
    ]
    return [
        cloudwatch.GraphWidget(title="Sweeper (each sweep's figures)", left=metrics, width=24, height=6),
    ]
