"""Cost guardrails and observability: the operations stack, the sweeper and the PrivateLink option.

The default app (shared synthesis) has no budget and no endpoint; one more synthesis turns on
every option (budget, both endpoints, report-mode sweeper every 30 minutes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import Synthesized, synthesize

pytestmark = pytest.mark.infra

CONFIGURED = {
    "prefix": "ops",
    "monthlyBudgetUsd": 750,
    "privateEndpoints": ["bedrock", "bedrock-runtime"],
    "sweeper": {"mode": "report", "intervalMinutes": 30, "idleHours": 12},
    "serving": {"mode": "provisioned", "idleAction": "delete"},
}


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk.out"), CONFIGURED)


def resources(app: Synthesized, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
    template = app.templates[f"{app.config.prefix}-{stack}"]
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def one(app: Synthesized, stack: str, resource_type: str, prefix: str) -> dict[str, Any]:
    [found] = [v for k, v in resources(app, stack, resource_type).items() if k.startswith(prefix)]
    return found


def text(value: Any) -> str:
    return json.dumps(value)


# --- alarms ------------------------------------------------------------------------------------

TOPIC_IMPORT = "ExportsOutputRefNotificationsTopic"


def alarms(app: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in resources(app, "operations", "AWS::CloudWatch::Alarm").values()
    }


@pytest.mark.parametrize(
    ("name", "namespace", "metric", "statistic"),
    [
        ("bmc-executions-failed", "AWS/States", "ExecutionsFailed", "Sum"),
        ("bmc-executions-timed-out", "AWS/States", "ExecutionsTimedOut", "Sum"),
        ("bmc-api-5xx", "AWS/ApiGateway", "5XXError", "Sum"),
        ("bmc-orphaned-serving", "BedrockModelCustomization", "OrphanedServings", "Maximum"),
        ("bmc-idle-serving", "BedrockModelCustomization", "IdleServings", "Maximum"),
        ("bmc-sweep-errors", "AWS/Lambda", "Errors", "Sum"),
        (
            "bmc-dead-letters-Triggers-UndeliveredEvents",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        ),
    ],
)
def test_each_alarm_watches_its_metric_above_zero_and_notifies_the_topic(
    app_default: Synthesized, name: str, namespace: str, metric: str, statistic: str
) -> None:
    alarm = alarms(app_default)[name]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (namespace, metric, statistic)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    [action] = alarm["AlarmActions"]
    assert TOPIC_IMPORT in text(action)


def test_every_function_and_every_dead_letter_queue_has_an_alarm(app_default: Synthesized) -> None:
    names = set(alarms(app_default))
    functions = [
        f["Properties"]["Handler"].split(".")[2].replace("_", "-")
        for stack in ("workflow", "api")
        for f in resources(app_default, stack, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].startswith("bmc.handlers.")
    ]
    assert len(functions) == 21
    assert {f"bmc-{function}-errors" for function in functions} <= names
    queues = len(resources(app_default, "workflow", "AWS::SQS::Queue")) + len(
        resources(app_default, "operations", "AWS::SQS::Queue")
    )
    dead_letter_alarms = [
        a for a in alarms(app_default).values() if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert len(dead_letter_alarms) == queues == 3  # undelivered events, failed invocations, alerts


def test_sweeper_alarms_match_the_dimensions_the_sweeper_publishes(app_default: Synthesized) -> None:
    alarm = alarms(app_default)["bmc-orphaned-serving"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"Deployment": "bmc", "service": "sweep"}
    assert alarm["Period"] == 3600  # one sweep


# --- dashboard ---------------------------------------------------------------------------------


def test_one_dashboard_shows_workflow_functions_queues_api_training_serving_and_sweeper(
    app_default: Synthesized,
) -> None:
    [dashboard] = resources(app_default, "operations", "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "bmc-model-customization"
    # The body is a Fn::Join of text and references: references become a placeholder.
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "REF" for part in parts))
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    for title in (
        "Executions",
        "Execution duration (ms)",
        "Runs by status (counted by the sweeper)",
        "Lambda errors",
        "Lambda throttles",
        "Lambda duration p90 (ms)",
        "Dead-letter queue depth",
        "API requests and errors",
        "API latency (ms)",
        "Training loss per run",
        "Validation loss per run",
        "Evaluation deltas per run (custom minus base)",
        "Serving invocations and throttles, per model id",
        "Serving latency p90 (ms), per model id",
        "Serving tokens, per model id",
        "Sweeper (each sweep's figures)",
        "Alarms",
    ):
        assert title in widgets, title
    assert len(widgets["Lambda errors"]["metrics"]) == 21  # the 20 workflow functions and the API's
    # Every registry status, EVALUATING and REJECTED included.
    assert len(widgets["Runs by status (counted by the sweeper)"]["metrics"]) == 13
    # New throughputs and deployments appear without a redeploy: a SEARCH, not fixed metrics.
    [[invocations], _] = widgets["Serving invocations and throttles, per model id"]["metrics"]
    assert (
        invocations["expression"] == "SEARCH('{AWS/Bedrock,ModelId} MetricName=\"Invocations\"', 'Sum', 300)"
    )
    assert len(widgets["Alarms"]["alarms"]) == len(alarms(app_default))


# --- CloudTrail alert rule ---------------------------------------------------------------------


def test_serving_created_outside_the_platform_is_alerted(app_default: Synthesized) -> None:
    rule = one(app_default, "operations", "AWS::Events::Rule", "MonitoringServingCreatedOutside")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.bedrock"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    detail = pattern["detail"]
    assert detail["eventSource"] == ["bedrock.amazonaws.com"]
    assert set(detail["eventName"]) == {
        "CreateProvisionedModelThroughput",
        "UpdateProvisionedModelThroughput",
        "CreateCustomModelDeployment",
    }
    assert detail["errorCode"] == [{"exists": False}]
    by_role, not_a_role = detail["$or"]
    allowed = by_role["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"][0]["anything-but"]
    assert "serveRole" in text(allowed[0]) and "apiRole" in text(allowed[1])
    assert not_a_role == {"userIdentity": {"type": [{"anything-but": ["AssumedRole"]}]}}
    [target] = rule["Properties"]["Targets"]
    assert TOPIC_IMPORT in text(target["Arn"]) and "RoleArn" in target and "DeadLetterConfig" in target
    assert "outside the platform" in target["InputTransformer"]["InputTemplate"]


# --- sweeper -----------------------------------------------------------------------------------


def _sweeper(app: Synthesized) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    functions = resources(app, "workflow", "AWS::Lambda::Function")
    [(logical_id, function)] = [
        (k, f) for k, f in functions.items() if f["Properties"]["Handler"] == "bmc.handlers.sweep.handler"
    ]
    rule = one(app, "workflow", "AWS::Events::Rule", "SweeperSchedule")
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in resources(app, "workflow", "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert logical_id in text(rule["Properties"]["Targets"])
    return function, rule, statements


def test_the_sweeper_runs_hourly_by_default_and_as_configured(
    app_default: Synthesized, configured: Synthesized
) -> None:
    function, rule, _ = _sweeper(app_default)
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    [target] = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8 and "DeadLetterConfig" in target
    environment = function["Properties"]["Environment"]["Variables"]
    assert (environment["SWEEPER_MODE"], environment["IDLE_HOURS"], environment["DEFAULT_IDLE_ACTION"]) == (
        "delete",
        "24",
        "notify",
    )
    function, rule, _ = _sweeper(configured)
    assert rule["Properties"]["ScheduleExpression"] == "rate(30 minutes)"
    environment = function["Properties"]["Environment"]["Variables"]
    assert (environment["SWEEPER_MODE"], environment["IDLE_HOURS"], environment["DEFAULT_IDLE_ACTION"]) == (
        "report",
        "12",
        "delete",
    )


def test_the_sweeper_deletes_and_stops_only_what_is_tagged_for_its_deployment(
    app_default: Synthesized,
) -> None:
    _, _, statements = _sweeper(app_default)
    writes = {
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("bedrock:") and not action.startswith("bedrock:List")
    }
    assert writes == {
        "bedrock:DeleteProvisionedModelThroughput",
        "bedrock:DeleteCustomModelDeployment",
        "bedrock:StopModelCustomizationJob",
    }
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if set(actions) & writes:
            assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/bmc:prefix": "bmc"}}
        if statement["Resource"] == "*":
            assert set(actions) <= {
                "bedrock:ListProvisionedModelThroughputs",
                "bedrock:ListCustomModelDeployments",
                "bedrock:ListModelCustomizationJobs",
                "bedrock:ListCustomModels",
                "cloudwatch:ListMetrics",
                "cloudwatch:GetMetricData",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
            }, actions
        if "states:DescribeExecution" in actions:
            assert ':execution:bmc-customization:*"' in text(statement["Resource"])


# --- budget, publishers, queries ---------------------------------------------------------------


def test_the_budget_exists_only_when_configured(app_default: Synthesized, configured: Synthesized) -> None:
    assert resources(app_default, "operations", "AWS::Budgets::Budget") == {}
    [budget] = resources(configured, "operations", "AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert (data["BudgetType"], data["TimeUnit"], data["BudgetLimit"]) == (
        "COST",
        "MONTHLY",
        {"Amount": 750, "Unit": "USD"},
    )
    assert data["FilterExpression"] == {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"]}}
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    assert [n["Notification"]["Threshold"] for n in notifications] == [80, 100]
    for notification in notifications:
        assert notification["Notification"]["NotificationType"] == "ACTUAL"
        [subscriber] = notification["Subscribers"]
        assert subscriber["SubscriptionType"] == "SNS" and TOPIC_IMPORT in text(subscriber["Address"])


def _topic_statements(app: Synthesized) -> dict[str, dict[str, Any]]:
    [policy] = resources(app, "workflow", "AWS::SNS::TopicPolicy").values()
    return {s.get("Sid", ""): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def _key_statement(app: Synthesized) -> dict[str, Any]:
    keys = resources(app, "foundation", "AWS::KMS::Key")
    statements: list[dict[str, Any]] = [
        s
        for key in keys.values()
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if str(s.get("Sid", "")).endswith("TopicPublishers")
    ]
    [statement] = statements
    return statement


def test_alarms_and_budgets_may_publish_to_the_encrypted_topic_and_nothing_else(
    app_default: Synthesized, configured: Synthesized
) -> None:
    default, full = _topic_statements(app_default), _topic_statements(configured)
    assert "BudgetsPublish" not in default
    alarms_publish = default["AlarmsPublish"]
    assert alarms_publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert ":alarm:bmc-*" in text(alarms_publish["Condition"]["ArnLike"]["aws:SourceArn"])
    assert full["BudgetsPublish"]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert full["BudgetsPublish"]["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert all(s["Principal"] != {"Service": "events.amazonaws.com"} for s in full.values())
    key_statement = _key_statement(configured)
    assert sorted(key_statement["Principal"]["Service"]) == [
        "budgets.amazonaws.com",
        "cloudwatch.amazonaws.com",
    ]
    assert key_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert ":ops-workflow-*" in text(
        key_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:sns:topicArn"]
    )
    assert _key_statement(app_default)["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_saved_queries_cover_every_log_group(app_default: Synthesized) -> None:
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources(app_default, "operations", "AWS::Logs::QueryDefinition").values()
    }
    run_logs = queries["bmc/one-run-across-all-functions"]
    assert run_logs["Parameters"] == [
        {"Name": "runId", "Description": "The run id (execution name, API model Id)"}
    ]
    assert '"{{runId}}"' in run_logs["QueryString"]
    groups = len(resources(app_default, "workflow", "AWS::Logs::LogGroup")) + len(
        resources(app_default, "api", "AWS::Logs::LogGroup")
    )
    assert len(run_logs["LogGroupNames"]) == groups == 23  # 21 functions, executions, API access
    errors = next(q for name, q in queries.items() if name.startswith("bmc/errors"))
    assert 'level = "ERROR"' in errors["QueryString"]


# --- PrivateLink ---------------------------------------------------------------------------------


def test_no_interface_endpoint_unless_configured(app_default: Synthesized) -> None:
    endpoints = resources(app_default, "foundation", "AWS::EC2::VPCEndpoint").values()
    assert [e["Properties"]["VpcEndpointType"] for e in endpoints] == ["Gateway"]  # S3, free


def test_configured_endpoints_are_private_https_from_the_vpc_and_this_account_only(
    configured: Synthesized,
) -> None:
    endpoints = [
        e["Properties"]
        for e in resources(configured, "foundation", "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert sorted(text(e["ServiceName"]).split(".")[-1].rstrip('"]}') for e in endpoints) == [
        "bedrock",
        "bedrock-runtime",
    ]
    [group] = [
        g["Properties"]
        for k, g in resources(configured, "foundation", "AWS::EC2::SecurityGroup").items()
        if k.startswith("PrivateEndpoints")
    ]
    [ingress] = group["SecurityGroupIngress"]
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    assert "CidrBlock" in text(ingress["CidrIp"])  # the VPC's own range
    for endpoint in endpoints:
        assert endpoint["PrivateDnsEnabled"] is True
        assert len(endpoint["SubnetIds"]) == 2
        [statement] = endpoint["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}}
        assert all(not action.endswith("*") for action in statement["Action"])
    assert configured.errors == []
