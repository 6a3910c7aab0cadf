"""Saved CloudWatch Logs Insights queries over every function's log group and the platform's
other log groups: one run's logs, and recent errors."""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.monitoring.sources import MonitoredResources


def saved_queries(
    scope: Construct, *, prefix: str, resources: MonitoredResources
) -> list[logs.CfnQueryDefinition]:
    groups = [f.log_group.log_group_name for f in resources.functions]
    groups += [group.log_group_name for group in resources.log_groups]
    run_logs = logs.CfnQueryDefinition(
        scope,
        "RunLogsQuery",
        name=f"{prefix}/one-run-across-all-functions",
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
        scope,
        "ErrorsQuery",
        name=f"{prefix}/errors (set the time range to the last day)",
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
