"""Rules AWS enforces on the deployed app, enforced by the local cloud too.

Each test would fail against a deployment that broke the rule the way the real deployment
would: a stage that logs without API Gateway's account role, a custom Nova model whose key
Bedrock may not use, a missing S3 key answered 403 to a role that may not list it, an upload
encrypted with the wrong key, a failed asynchronous invocation that is dropped.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from bmc.tenancy import personal_prefix
from bmc.tenancy.principals import parse_config_principal
from botocore.exceptions import ClientError

from localcloud import samples
from localcloud.api_gateway import LOCAL_OPERATOR
from localcloud.cloud import LocalCloud
from localcloud.deploy import NO_CLOUDWATCH_ROLE, DeploymentError
from localcloud.scenarios import SCENARIOS

pytestmark = pytest.mark.e2e

Templates = tuple[dict[str, Any], str]


def _without(templates: dict[str, Any], predicate: Any) -> dict[str, Any]:
    """A copy of the templates without the resources (or key policy statements) `predicate` drops."""
    changed = copy.deepcopy(templates)
    for template in changed.values():
        resources = template["Resources"]
        for logical_id in [lid for lid, r in resources.items() if predicate(lid, r)]:
            del resources[logical_id]
    return changed


def test_a_logging_stage_needs_the_account_cloudwatch_role(synthesized: Templates) -> None:
    templates, prefix = synthesized
    with LocalCloud(templates, prefix=prefix) as cloud:
        role = cloud.client("apigateway").get_account()["cloudwatchRoleArn"]
        assert "CloudWatchRole" in role
    # "existing" mode in a fresh account (or the app before it set the role): the stage fails.
    without_account = _without(templates, lambda _, r: r["Type"] == "AWS::ApiGateway::Account")
    with pytest.raises(DeploymentError, match=NO_CLOUDWATCH_ROLE), LocalCloud(without_account, prefix=prefix):
        pass


def test_bedrock_refuses_to_serve_a_nova_model_whose_key_it_may_not_use(synthesized: Templates) -> None:
    templates, prefix = synthesized
    changed = copy.deepcopy(templates)
    for resource in changed[f"{prefix}-foundation"]["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            statements = resource["Properties"]["KeyPolicy"]["Statement"]
            statements[:] = [s for s in statements if s.get("Sid") != "PermissionsNovaProvisionedThroughput"]
    with LocalCloud(changed, prefix=prefix) as cloud:
        result = SCENARIOS["fine-tuning-provisioned"].run(cloud)
        assert result.record["status"] == "FAILED"
        assert "AccessDeniedException" in result.record["error"]["cause"]
        assert "aws:bedrock:custom-model" in result.record["error"]["cause"]
        assert cloud.bedrock.throughputs() == []


def _start_from_the_api(cloud: LocalCloud) -> tuple[str, str]:
    """(model id, training data key) of a model created through the API (the caller's own data)."""
    operator = parse_config_principal(LOCAL_OPERATOR)
    assert operator is not None
    key = f"{personal_prefix(operator)}train.jsonl"
    request = {
        "ModelName": "gone data",
        "ModelType": "FINE_TUNING",
        "BaseModelId": "amazon.nova-micro-v1",
        "TrainingDataLocation": cloud.upload(key, samples.jsonl("conversation", 160)),
    }
    status, created = cloud.api("POST", "/custom-models", body=request)
    assert status == 202
    (execution,) = cloud.executions()
    cloud.wait_until_awaiting_job(execution["executionArn"])
    cloud.abort(execution["executionArn"])
    # As a run recorded before snapshots existed: its download is the object its spec names
    # (a run's own snapshot cannot be deleted but by a purge).
    cloud.client("dynamodb").update_item(
        TableName=cloud.deployment.registry_table,
        Key={"runId": {"S": str(created["Id"])}},
        UpdateExpression="REMOVE lineage",
    )
    return str(created["Id"]), key


def test_a_deleted_dataset_is_not_found_for_a_role_that_may_list_it(cloud: LocalCloud) -> None:
    model_id, key = _start_from_the_api(cloud)
    cloud.client("s3").delete_object(Bucket=cloud.deployment.datasets_bucket, Key=key)
    status, body = cloud.api("GET", f"/custom-models/{model_id}/download", query={"type": "training"})
    assert (status, body["message"]) == (404, f"the training data of custom model {model_id} is gone")


def test_s3_answers_403_for_a_missing_key_to_a_role_that_may_not_list(cloud: LocalCloud) -> None:
    model_id, key = _start_from_the_api(cloud)
    cloud.client("s3").delete_object(Bucket=cloud.deployment.datasets_bucket, Key=key)
    function = cloud.deployment.functions["api"]
    role, statements = cloud.patches.identity_policies[function]
    without_list = [s for s in statements if s["Action"] != "s3:ListBucket"]
    cloud.patches.identity_policies[function] = (role, without_list)
    status, _ = cloud.api("GET", f"/custom-models/{model_id}/download", query={"type": "training"})
    assert status == 500  # the AccessDenied the old role got: not a 404


def test_uploads_are_encrypted_with_the_data_key_and_nothing_else(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    bucket = cloud.deployment.artifacts_bucket
    s3.put_object(Bucket=bucket, Key="jobs/run-1/out.json", Body=b"{}")  # as Bedrock writes
    head = s3.head_object(Bucket=bucket, Key="jobs/run-1/out.json")
    data_key = head["SSEKMSKeyId"]
    assert head["ServerSideEncryption"] == "aws:kms" and "key/" in data_key
    s3.put_object(
        Bucket=bucket, Key="jobs/run-1/b", Body=b"", ServerSideEncryption="aws:kms", SSEKMSKeyId=data_key
    )
    for headers in (
        {"ServerSideEncryption": "AES256"},
        {"ServerSideEncryption": "aws:kms"},  # S3 would use aws/s3
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": data_key.replace("key/", "key/0")},
    ):
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object(Bucket=bucket, Key="jobs/run-1/c", Body=b"", **headers)


def test_a_failed_asynchronous_invocation_is_kept_in_the_encrypted_queue(cloud: LocalCloud) -> None:
    def broken(event: Any, context: Any) -> None:
        raise RuntimeError("registry unavailable")

    function = cloud.deployment.functions["job_events"]
    cloud.patches.register(function, broken)
    detail = {"jobName": f"{cloud.prefix}-run-1", "jobArn": "arn:aws:bedrock:::job/x", "jobStatus": "Failed"}
    cloud.client("events").put_events(
        Entries=[
            {
                "Source": "aws.bedrock",
                "DetailType": "Model Customization Job State Change",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert len(cloud.patches.registry.invocations_of(function)) == 3  # Lambda retries twice
    sqs = cloud.client("sqs")
    (url,) = [u for u in sqs.list_queues()["QueueUrls"] if "FailedInvocations" in u]
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["detail"] == detail
    assert record["responsePayload"]["errorMessage"] == "registry unavailable"
