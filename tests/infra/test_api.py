"""The API stack: IAM auth, validation, throttling, logs, tracing, and one least-privilege role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bmc.api.models import CreateCustomModelRequest, InvokeRequest, ThroughputRequest

from constructs_lib.api import THROTTLE_BURST, THROTTLE_RATE_PER_SECOND, gateway_schema
from localcloud.template import Template
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

LOGS_AND_TRACES = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
EXPECTED_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "states:StartExecution",
    "states:StopExecution",
    "bedrock:GetModelCustomizationJob",
    "bedrock:StopModelCustomizationJob",
    "bedrock:DeleteCustomModel",
    "bedrock:CreateProvisionedModelThroughput",
    "bedrock:TagResource",
    "bedrock:GetProvisionedModelThroughput",
    "bedrock:DeleteProvisionedModelThroughput",
    "bedrock:DeleteCustomModelDeployment",
    "bedrock:InvokeModel",  # POST .../invoke, on this deployment's tagged servings only
    "s3:GetObject",
    "s3:ListBucket",  # so that a deleted dataset is a 404, not a 403
    "s3:DeleteObject",  # DELETE ?purgeData=true, under snapshots/ only
    "s3:DeleteObjectVersion",
    "s3:ListBucketVersions",
    "scheduler:DeleteSchedule",
}
ROUTES = {
    ("/custom-models", "POST"),
    ("/custom-models", "GET"),
    ("/custom-models/{id}", "GET"),
    ("/custom-models/{id}", "DELETE"),
    ("/custom-models/{id}/download", "GET"),
    ("/custom-models/{id}/invoke", "POST"),
    ("/custom-models/{id}/throughput", "PUT"),
    ("/custom-models/{id}/throughput", "DELETE"),
}


@pytest.fixture(scope="module")
def api(app_default: Synthesized) -> Template:
    return Template(stack_name="bmc-api", body=app_default.templates["bmc-api"])


def _paths(api: Template) -> dict[str, str]:
    """Logical id of each API Gateway resource -> its full path."""
    resources = api.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            properties = resources[logical_id]["Properties"]
            parent = properties["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{properties['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def _methods(api: Template) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _paths(api)
    return {
        (paths[m["Properties"]["ResourceId"]["Ref"]], m["Properties"]["HttpMethod"]): m["Properties"]
        for m in api.of_type("AWS::ApiGateway::Method").values()
    }


def test_every_method_uses_iam_auth_validation_and_the_lambda_proxy(api: Template) -> None:
    methods = _methods(api)
    assert set(methods) == ROUTES
    (validator_id,) = api.of_type("AWS::ApiGateway::RequestValidator")
    validator = api.resources[validator_id]["Properties"]
    assert validator["ValidateRequestBody"] and validator["ValidateRequestParameters"]
    for route, method in methods.items():
        assert method["AuthorizationType"] == "AWS_IAM", route
        assert method["RequestValidatorId"] == {"Ref": validator_id}, route
        assert method["Integration"]["Type"] == "AWS_PROXY", route
    assert methods[("/custom-models/{id}/download", "GET")]["RequestParameters"] == {
        "method.request.querystring.type": True
    }


def test_request_bodies_are_validated_with_the_handlers_models(api: Template) -> None:
    models = {
        m["Properties"]["Name"]: m["Properties"] for m in api.of_type("AWS::ApiGateway::Model").values()
    }
    assert models["CreateCustomModelRequest"]["Schema"] == gateway_schema(CreateCustomModelRequest)
    assert models["ThroughputRequest"]["Schema"] == gateway_schema(ThroughputRequest)
    assert models["InvokeRequest"]["Schema"] == gateway_schema(InvokeRequest)
    methods = _methods(api)
    assert "application/json" in methods[("/custom-models", "POST")]["RequestModels"]
    assert "application/json" in methods[("/custom-models/{id}/throughput", "PUT")]["RequestModels"]
    assert "application/json" in methods[("/custom-models/{id}/invoke", "POST")]["RequestModels"]
    responses = {
        r["Properties"]["ResponseType"] for r in api.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    assert responses == {"BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS"}


def test_the_stage_is_throttled_traced_and_access_logged_to_an_encrypted_group(api: Template) -> None:
    _, stage = api.one_of_type("AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    assert properties["TracingEnabled"] is True
    (settings,) = properties["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == THROTTLE_RATE_PER_SECOND
    assert settings["ThrottlingBurstLimit"] == THROTTLE_BURST
    assert "DataTraceEnabled" not in settings or settings["DataTraceEnabled"] is False
    log_group = properties["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    assert "KmsKeyId" in api.resources[log_group]["Properties"]
    assert "requestId" in properties["AccessLogSetting"]["Format"]


def test_the_function_and_its_only_role(api: Template) -> None:
    (function,) = api.of_type("AWS::Lambda::Function").values()
    properties = function["Properties"]
    assert properties["Handler"] == "bmc.handlers.api.handler"
    assert properties["Architectures"] == ["arm64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Timeout"] < 29  # API Gateway's integration timeout
    variables = properties["Environment"]["Variables"]
    for name in (
        "STATE_MACHINE_ARN",
        "DATASETS_BUCKET",
        "ARTIFACTS_BUCKET",
        "IDEMPOTENCY_TABLE",
        "REGISTRY_TABLE",
        "TENANCY",
    ):
        assert name in variables
    assert "stateMachine:bmc-customization" in json.dumps(variables["STATE_MACHINE_ARN"])
    role = properties["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in api.of_type("AWS::IAM::Policy").values():
        assert [r["Ref"] for r in policy["Properties"]["Roles"]] == [role]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found = statement["Action"]
            actions.update(found if isinstance(found, list) else [found])
            assert "iam:PassRole" not in actions
    assert actions - LOGS_AND_TRACES == EXPECTED_ACTIONS
    # The function's role, and API Gateway's account-level CloudWatch Logs role.
    assert len(api.of_type("AWS::IAM::Role")) == 2


def test_the_idempotency_table_is_encrypted_with_the_data_key_and_expires_records(api: Template) -> None:
    _, table = api.one_of_type("AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert "Fn::ImportValue" in json.dumps(properties["SSESpecification"]["KMSMasterKeyId"])


def _render_validation_template(template: str, message: str) -> str:
    """What API Gateway's VTL makes of the 400 template: escapeJavaScript, then the replaceAll."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
    expression = '$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\\\\'","\'")'
    assert expression in template
    return template.replace(expression, escaped.replace("\\'", "'"))


def test_gateway_validation_errors_are_json_even_with_quotes(api: Template) -> None:
    responses = [
        r["Properties"]
        for r in api.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "BAD_REQUEST_BODY"
    ]
    assert len(responses) == 1
    template = responses[0]["ResponseTemplates"]["application/json"]
    message = """[instance value ('FAST') not found in enum (possible values: ["FINE_TUNING"])]"""
    body = json.loads(_render_validation_template(template, message))
    assert body == {"message": "Invalid request", "errors": [{"field": "request", "message": message}]}


def _function_statements(api: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in api.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_listing_is_scoped_to_the_prefixes_the_function_reads(api: Template) -> None:
    (read,) = [s for s in _function_statements(api) if s["Action"] == "s3:GetObject"]
    read_suffixes = sorted(r["Fn::Join"][1][-1] for r in read["Resource"])
    assert read_suffixes == ["/*", "/reports/*"]
    lists = {
        json.dumps(s["Resource"]): s["Condition"]["StringLike"]["s3:prefix"]
        for s in _function_statements(api)
        if s["Action"] == "s3:ListBucket"
    }
    assert sorted(lists.values()) == [["*"], ["reports/*"]]
    (artifacts,) = [resource for resource in lists if "Artifacts" in resource]
    assert lists[artifacts] == ["reports/*"]


def test_bedrock_calls_are_limited_to_resources_tagged_with_the_prefix(api: Template) -> None:
    for statement in _function_statements(api):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(action.startswith("bedrock:") for action in actions):
            continue
        equals = statement["Condition"]["StringEquals"]
        if actions == ["bedrock:TagResource"]:
            assert equals == {"aws:RequestTag/bmc:prefix": "bmc"}
        else:
            assert equals["aws:ResourceTag/bmc:prefix"] == "bmc", statement


def test_api_gateway_gets_its_account_cloudwatch_role_retained(api: Template) -> None:
    """A stage with access logging fails to create where the account has no CloudWatch role."""
    (account_id, account), *_ = api.of_type("AWS::ApiGateway::Account").items()
    assert len(api.of_type("AWS::ApiGateway::Account")) == 1
    assert account["DeletionPolicy"] == account["UpdateReplacePolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = api.resources[role_id]
    assert role["DeletionPolicy"] == "Retain"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    _, stage = api.one_of_type("AWS::ApiGateway::Stage")
    assert "AccessLogSetting" in stage["Properties"]
    assert account_id in stage["DependsOn"]


def test_invoke_reaches_only_this_deployments_servings(api: Template) -> None:
    (statement,) = [s for s in _function_statements(api) if s["Action"] == "bedrock:InvokeModel"]
    suffixes = sorted(r["Fn::Join"][1][-1] for r in statement["Resource"])
    assert suffixes == [":custom-model-deployment/*", ":provisioned-model/*"]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/bmc:prefix": "bmc"}}
    (function,) = api.of_type("AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["EVALUATION_JUDGE_MODELS"] == "amazon.nova-pro-v1:0"
