"""sweep (scheduled): the orphan sweeper, the TTL second line and the idle-serving guard.

The scheduled event's ``time`` is the sweep's "now" (the wall clock when the event has none).
Figures go to the log, to CloudWatch (embedded metric format, dimension ``Deployment``) for the
alarms, and to the topic when the sweep has news (``bmc.guardrails.report``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.aws.bedrock_ops import BedrockOps
from bmc.aws.registry import Registry, utc_now
from bmc.guardrails import report as rpt
from bmc.guardrails.idle import InvocationCounter
from bmc.guardrails.sweep import Sweeper, SweepSettings, execution_probe
from bmc.handlers._task import traced_handler
from bmc.workflow import notifications

logger = Logger()
tracer = Tracer()
# The service dimension is fixed (not read from the environment at import): the alarms match it.
metrics = Metrics(service=rpt.METRICS_SERVICE)


def event_time(event: dict[str, Any]) -> datetime:
    text = event.get("time")
    if isinstance(text, str) and text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            logger.warning("unreadable event time; using the clock", extra={"time": text})
    return utc_now()


def publish_runs_by_status(registry: Registry, prefix: str) -> None:
    """The dashboard's "runs by status": one metric per status, dimension ``Status``."""
    try:
        counts = registry.count_by_status()
    except Exception:  # the sweep's own work is done; a missed gauge is only a gap in a graph
        logger.exception("runs could not be counted by status")
        return
    for status, count in counts.items():  # one flush per status: its own dimension value
        metrics.add_dimension(rpt.DEPLOYMENT_DIMENSION, prefix)
        metrics.add_dimension("Status", status)
        metrics.add_metric(name=rpt.RUNS_METRIC, unit=MetricUnit.Count, value=count)
        metrics.flush_metrics()
        # With metrics disabled (the local cloud, tests) flushing keeps the set: empty it, or the
        # next status's dimension would overwrite this one with a warning.
        metrics.clear_metrics()


@metrics.log_metrics
@traced_handler(logger, tracer)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sweep_settings = SweepSettings.from_environment(event_time(event))
    registry = Registry.from_environment()
    state = registry.read_state(rpt.STATE_KEY)
    sweeper = Sweeper(
        sweep_settings,
        registry=registry,
        bedrock=BedrockOps(),
        execution_running=execution_probe(clients.client("stepfunctions")),
        invocations=InvocationCounter(
            clients.client("cloudwatch"), sweep_settings.now, timedelta(hours=sweep_settings.idle_hours)
        ),
        reported_before=state,
    )
    report = sweeper.run()
    figures = report.figures()
    logger.info(
        f"sweep finished: {rpt.summary_line(figures)}", extra={"figures": figures, "mode": report.mode}
    )
    publish_runs_by_status(registry, sweep_settings.prefix)
    metrics.add_dimension(rpt.DEPLOYMENT_DIMENSION, sweep_settings.prefix)
    for figure, name in rpt.METRIC_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=figures[figure])
    message = rpt.compose(report, prefix=sweep_settings.prefix, region=settings.region())
    message_id = None
    if message is not None:
        message_id = notifications.publish(
            message, topic_arn=settings.topic_arn(), sns_client=clients.client("sns")
        )
    registry.write_state(rpt.STATE_KEY, rpt.next_state(state, report))
    return {**report.to_dict(), "messageId": message_id}
