"""The API as several principals see it: a team's models are invisible to every other team (404,
never 403), admins see everything, data and models are limited to the team's, and no input,
however large or deep, makes the function fail."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from bmc.handlers import api
from bmc.tenancy import Tenancy, tenancy_from_config

from localcloud.api_gateway import rest_proxy_event
from tests.unit.api_support import (
    ADMIN,
    FINANCE,
    IDEMPOTENCY_TABLE,
    OUTSIDER,
    SUPPORT,
    api_cloud,
    call,
    complete,
    create_model,
    create_request,
)
from tests.unit.workflow_support import (
    ACCOUNT,
    CONVERSATION_RECORD,
    DATASETS_BUCKET,
    Cloud,
    aws_client,
    lambda_context,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with api_cloud() as created:
        created.put_jsonl("finance/train.jsonl", [CONVERSATION_RECORD] * 12)
        yield created


def fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


def executions(cloud: Cloud) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)[
        "executions"
    ]
    return found


# --- another team's models do not exist for a caller ----------------------------------------------


def test_another_teams_model_is_404_on_every_route(cloud: Cloud) -> None:
    model_id = create_model(caller=SUPPORT)
    complete(cloud, model_id)
    assert call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})[0] == 202
    before = cloud.run(model_id)
    not_found = call("GET", "/custom-models/api-nothing-000000000000", caller=FINANCE)
    probes = [
        ("GET", f"/custom-models/{model_id}", None, None),
        ("GET", f"/custom-models/{model_id}/download", None, {"type": "training"}),
        ("GET", f"/custom-models/{model_id}/download", None, {"type": "metrics"}),
        ("PUT", f"/custom-models/{model_id}/throughput", {"ModelUnits": 2}, None),
        ("DELETE", f"/custom-models/{model_id}/throughput", None, None),
        ("DELETE", f"/custom-models/{model_id}", None, {"force": "true"}),
    ]
    for method, path, body, query in probes:
        status, answer = call(method, path, body=body, query=query, caller=FINANCE)
        assert status == 404, (method, path, answer)
        # The same answer as for an id that names nothing, but for the id itself.
        assert answer["message"].replace(model_id, "X") in (
            not_found[1]["message"].replace("api-nothing-000000000000", "X"),
            "custom model X not found",
        )
    assert call("GET", "/custom-models", caller=FINANCE) == (200, {"Items": [], "NextToken": None})
    after = cloud.run(model_id)
    assert after == before  # nothing changed: no throughput deleted, no model deleted
    assert len(cloud.sim.throughputs()) == 1 and cloud.sim.custom_models()


def test_an_admin_sees_and_acts_on_every_team(cloud: Cloud) -> None:
    support_id = create_model(caller=SUPPORT)
    finance_id = create_model(
        caller=FINANCE,
        ModelName="ledger",
        TrainingDataLocation=f"s3://{DATASETS_BUCKET}/finance/train.jsonl",
        ValidationDataLocation=None,
    )
    status, page = call("GET", "/custom-models", caller=ADMIN)
    assert status == 200
    assert [(item["Id"], item["Owner"]) for item in page["Items"]] == [
        (finance_id, "finance"),
        (support_id, "support"),
    ]
    _, only_support = call("GET", "/custom-models", query={"team": "support"}, caller=ADMIN)
    assert [item["Id"] for item in only_support["Items"]] == [support_id]
    status, model = call("GET", f"/custom-models/{finance_id}", caller=ADMIN)
    assert (status, model["Owner"], model["CreatedBy"]) == (
        200,
        "finance",
        f"arn:aws:iam::{ACCOUNT}:role/FinanceML",
    )
    status, model = call("DELETE", f"/custom-models/{finance_id}", caller=ADMIN)
    assert (status, model["Status"]) == (200, "Deleted")
    # A team member may name its own team, no other.
    assert call("GET", "/custom-models", query={"team": "support"}, caller=SUPPORT)[0] == 200
    assert call("GET", "/custom-models", query={"team": "finance"}, caller=SUPPORT)[0] == 404
    # An admin's own runs belong to the platform: visible to admins only.
    admin_id = create_model(caller=ADMIN, ModelName="platform model")
    assert call("GET", f"/custom-models/{admin_id}", caller=ADMIN)[1]["Owner"] == "platform"
    assert call("GET", f"/custom-models/{admin_id}", caller=SUPPORT)[0] == 404
    _, platform = call("GET", "/custom-models", query={"team": "platform"}, caller=ADMIN)
    assert [item["Id"] for item in platform["Items"]] == [admin_id]


def test_a_listing_reads_the_teams_index_and_its_tokens_stay_in_the_team(cloud: Cloud) -> None:
    ids = [create_model(ModelName=f"model {n}") for n in range(3)]
    create_model(
        caller=FINANCE,
        ModelName="ledger",
        TrainingDataLocation=f"s3://{DATASETS_BUCKET}/finance/train.jsonl",
        ValidationDataLocation=None,
    )
    queries: list[dict[str, Any]] = []
    original = cloud.registry._client.query

    def recording(**request: Any) -> Any:
        queries.append(request)
        return original(**request)

    with mock.patch.object(cloud.registry._client, "query", side_effect=recording):
        status, page = call("GET", "/custom-models", query={"limit": "2"})
    assert status == 200 and [item["Id"] for item in page["Items"]] == [ids[2], ids[1]]
    assert {q["IndexName"] for q in queries} == {"byTeam"}  # one team's partition, not a filter
    _, rest = call("GET", "/custom-models", query={"limit": "2", "nextToken": page["NextToken"]})
    assert [item["Id"] for item in rest["Items"]] == [ids[0]]
    # The token of support's listing names support's index position: nobody else can use it,
    # and an edited token naming another team is refused.
    status, body = call("GET", "/custom-models", query={"nextToken": page["NextToken"]}, caller=FINANCE)
    assert (status, fields(body)) == (400, {"nextToken"})
    status, body = call("GET", "/custom-models", query={"nextToken": page["NextToken"]}, caller=ADMIN)
    assert (status, fields(body)) == (400, {"nextToken"})
    key = json.loads(base64.urlsafe_b64decode(page["NextToken"] + "=="))
    forged = (
        base64.urlsafe_b64encode(json.dumps({**key, "team": "team:finance"}).encode()).decode().rstrip("=")
    )
    status, body = call("GET", "/custom-models", query={"nextToken": forged})
    assert (status, fields(body)) == (400, {"nextToken"})


def test_a_principal_in_no_team_sees_nothing_and_creates_nothing(cloud: Cloud) -> None:
    model_id = create_model()
    status, body = call("POST", "/custom-models", body=create_request(), caller=OUTSIDER)
    assert status == 403 and "no team" in body["message"]
    assert call("GET", "/custom-models", caller=OUTSIDER) == (200, {"Items": [], "NextToken": None})
    assert call("GET", f"/custom-models/{model_id}", caller=OUTSIDER)[0] == 404
    assert len(executions(cloud)) == 1


@pytest.mark.parametrize(
    "identity",
    [
        {},
        {"userArn": "not-an-arn"},
        {"userArn": f"arn:aws:sts::{ACCOUNT}:assumed-role/SupportML/s", "accountId": "999999999999"},
    ],
)
def test_a_request_without_an_attributable_identity_is_403(cloud: Cloud, identity: dict[str, Any]) -> None:
    event = rest_proxy_event("GET", "/custom-models")
    event["requestContext"]["identity"] = identity
    response = api.handler(event, lambda_context("bmc-api"))
    assert response["statusCode"] == 403


# --- data and models are the team's -------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "code"),
    [
        (f"s3://{DATASETS_BUCKET}/finance/train.jsonl", "outside the data prefixes"),  # another team's
        (f"s3://{DATASETS_BUCKET}/manifests/support/bot.json", "manifests/"),  # a manifest, never data
        (f"s3://{DATASETS_BUCKET}/data/../finance/train.jsonl", "'..'"),  # climbing out of the prefix
        (f"s3://{DATASETS_BUCKET}/data/./train.jsonl", "'.'"),
        (f"s3://{DATASETS_BUCKET}/datax/train.jsonl", "outside the data prefixes"),
    ],
)
def test_data_must_be_under_the_callers_team_prefixes(cloud: Cloud, location: str, code: str) -> None:
    status, body = call("POST", "/custom-models", body=create_request(TrainingDataLocation=location))
    assert status == 400, body
    assert [e["field"] for e in body["errors"]] == ["TrainingDataLocation"]
    assert code in body["errors"][0]["message"]
    status, body = call("POST", "/custom-models", body=create_request(ValidationDataLocation=location))
    assert status == 400 and fields(body) == {"ValidationDataLocation"}
    assert executions(cloud) == []


def test_a_team_uses_only_its_allowed_base_models(cloud: Cloud) -> None:
    teams = {
        "support": {
            "principals": [f"arn:aws:iam::{ACCOUNT}:role/SupportML"],
            "datasetPrefixes": ["data/"],
            "allowedBaseModels": ["amazon.nova-lite-v1"],
        },
    }
    with mock.patch.dict(os.environ, {"TENANCY": tenancy_from_config(teams, []).to_environment()}):
        status, body = call("POST", "/custom-models", body=create_request())
    assert status == 400 and fields(body) == {"BaseModelId"}
    assert "amazon.nova-lite-v1:0:300k" in body["errors"][0]["message"]


def test_without_teams_a_caller_uses_its_own_prefix_and_sees_its_own_runs(cloud: Cloud) -> None:
    alice = f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice"
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    personal = f"datasets/{ACCOUNT}/role/DataScientist/"
    cloud.put_jsonl(f"{personal}train.jsonl", [CONVERSATION_RECORD] * 12)
    with mock.patch.dict(os.environ, {"TENANCY": Tenancy().to_environment()}):
        status, body = call("POST", "/custom-models", body=create_request(), caller=alice)
        assert status == 400 and f"s3://{DATASETS_BUCKET}/{personal}" in body["errors"][0]["message"]
        request = create_request(
            TrainingDataLocation=f"s3://{DATASETS_BUCKET}/{personal}train.jsonl", ValidationDataLocation=None
        )
        status, created = call("POST", "/custom-models", body=request, caller=alice)
        assert status == 202
        model_id = created["Id"]
        assert (
            call("GET", f"/custom-models/{model_id}", caller=alice)[1]["Owner"]
            == f"arn:aws:iam::{ACCOUNT}:role/DataScientist"
        )
        assert call("GET", f"/custom-models/{model_id}", caller=bob)[0] == 404
        assert call("GET", "/custom-models", caller=bob)[1]["Items"] == []


def test_a_download_offers_only_the_runs_own_data_in_its_teams_prefixes(cloud: Cloud) -> None:
    model_id = create_model()
    # A record naming data elsewhere (an older config, a hand edit) is not signed.
    cloud.registry.update(
        model_id, fields={"spec.trainingData": f"s3://{DATASETS_BUCKET}/finance/train.jsonl"}
    )
    assert call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})[0] == 404
    cloud.registry.update(model_id, fields={"spec.trainingData": f"s3://{DATASETS_BUCKET}/manifests/x.json"})
    assert call("GET", f"/custom-models/{model_id}/download", query={"type": "training"})[0] == 404
    status, body = call("GET", f"/custom-models/{model_id}/download", query={"type": "validation"})
    assert status == 200 and body["files"][0]["location"].endswith("/data/validation.jsonl")


# --- an Idempotency-Key replayed after its record expired -------------------------------------------


def test_a_replayed_idempotency_key_never_touches_the_earlier_run(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "replayed-after-90-days"}
    status, created = call("POST", "/custom-models", body=create_request(), headers=headers)
    model_id = created["Id"]
    complete(cloud, model_id)
    assert call("PUT", f"/custom-models/{model_id}/throughput", body={"ModelUnits": 1})[0] == 202
    before = cloud.run(model_id)
    # The idempotency record expired (24 hours) and the execution name is free again (90 days
    # after it closed, or a replaced state machine): only the registry still knows the run.
    for item in cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]:
        assert item["name"] == model_id
    ddb = aws_client("dynamodb")
    for item in ddb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]:
        ddb.delete_item(TableName=IDEMPOTENCY_TABLE, Key={"id": item["id"]})
    with mock.patch("bmc.api.service.CustomModels._start_execution") as start:
        status, body = call("POST", "/custom-models", body=create_request(), headers=headers)
    start.assert_not_called()
    assert status == 409 and model_id in body["message"] and "new Idempotency-Key" in body["message"]
    after = cloud.run(model_id)
    assert after == before
    assert cloud.sim.throughputs(status="Creating") or cloud.sim.throughputs(status="InService")
    # Another team replaying the same key and body learns nothing about the run.
    for item in ddb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]:
        ddb.delete_item(TableName=IDEMPOTENCY_TABLE, Key={"id": item["id"]})
    status, body = call("POST", "/custom-models", body=create_request(), headers=headers, caller=FINANCE)
    assert status in (400, 409) and model_id not in json.dumps(body)


def test_a_record_whose_execution_never_started_is_started_on_replay(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "crashed-before-start"}
    with mock.patch("bmc.api.service.CustomModels._start_execution", side_effect=RuntimeError("crash")):
        assert call("POST", "/custom-models", body=create_request(), headers=headers)[0] == 500
    assert executions(cloud) == []
    status, created = call("POST", "/custom-models", body=create_request(), headers=headers)
    assert status == 202
    (execution,) = executions(cloud)
    assert execution["name"] == created["Id"]
    assert cloud.run(created["Id"])["executionStartedAt"]


# --- input of any size and shape: 400, never 500 ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"ModelName": "x", "HyperParameters": {"epochCount": ' + "7" * 10_000 + "}}",
        '{"ModelName": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"ModelName": "x", "Description": ' + "1" * 5000 + "}",
    ],
    ids=["10000-digit integer", "nesting 100000 deep", "5000-digit integer"],
)
def test_unreadable_bodies_are_400_not_500(cloud: Cloud, body: str) -> None:
    status, answer = call("POST", "/custom-models", body=body)
    assert status == 400, answer
    assert answer["errors"][0]["field"] == "body"


def test_huge_numbers_elsewhere_are_400(cloud: Cloud) -> None:
    model_id = create_model()
    status, body = call(
        "PUT", f"/custom-models/{model_id}/throughput", body='{"ModelUnits": ' + "9" * 10_000 + "}"
    )
    assert status == 400
    status, body = call("GET", "/custom-models", query={"limit": "9" * 10_000})
    assert status == 400 and fields(body) == {"limit"}
    assert call("GET", "/custom-models/" + "a" * 10_000)[0] == 404


@pytest.mark.parametrize(
    "overrides",
    [
        ({"ModelName": "support bot\n"}, "ModelName"),
        ({"ModelName": "support\nbot"}, "ModelName"),
    ],
)
def test_a_trailing_newline_does_not_pass_a_pattern(
    cloud: Cloud, overrides: tuple[dict[str, Any], str]
) -> None:
    status, body = call("POST", "/custom-models", body=create_request(**overrides[0]))
    assert status == 400 and fields(body) == {overrides[1]}
