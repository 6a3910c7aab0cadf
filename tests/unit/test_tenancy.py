"""Tenancy: principals as callers sign and as the config names them, the teams document, access."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bmc.tenancy import (
    PLATFORM_OWNER,
    Owner,
    Tenancy,
    TenancyError,
    access_for,
    caller_principal,
    owner_of_record,
    parse_caller_arn,
    parse_config_principal,
    scope_of_owner,
    tenancy_from_config,
)
from bmc.tenancy.teams import MAX_DOCUMENT_BYTES

ACCOUNT = "111122223333"
SUPPORT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ml/teams/SupportML"
FINANCE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/FinanceML"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin"
TEAMS: dict[str, Any] = {
    "support": {
        "principals": [SUPPORT_ROLE],
        "datasetPrefixes": ["datasets/support/"],
        "allowedBaseModels": ["amazon.nova-micro-v1"],
    },
    "finance": {"principals": [FINANCE_ROLE], "datasetPrefixes": ["datasets/finance/", "shared/finance/"]},
}


def session(role: str, name: str = "alice") -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name}"


def principal(arn: str) -> Any:
    parsed = parse_caller_arn(arn)
    assert parsed is not None, arn
    return parsed


# --- principals -----------------------------------------------------------------------------------


def test_a_role_session_is_its_role_without_path_and_with_its_account() -> None:
    caller = caller_principal({"userArn": session("SupportML"), "accountId": ACCOUNT})
    assert caller is not None
    assert caller.arn == f"arn:aws:iam::{ACCOUNT}:role/SupportML"
    configured = parse_config_principal(SUPPORT_ROLE)
    assert configured is not None and configured.arn == caller.arn  # the path does not count


@pytest.mark.parametrize(
    ("arn", "normalized"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:root"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", f"arn:aws:sts::{ACCOUNT}:federated-user/bob"),
        (f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/R/s-1", f"arn:aws-cn:iam::{ACCOUNT}:role/R"),
    ],
)
def test_caller_arns_normalize(arn: str, normalized: str) -> None:
    assert principal(arn).arn == normalized


@pytest.mark.parametrize(
    "identity",
    [
        None,
        {},
        {"userArn": None},
        {"userArn": "AROAEXAMPLE:alice"},
        {"userArn": session("SupportML") + "\n"},  # a trailing newline is not an ARN
        {"userArn": session("SupportML"), "accountId": "999999999999"},  # another account's claim
        {"userArn": f"arn:aws:sts::{ACCOUNT}:assumed-role/SupportML"},  # no session
    ],
)
def test_identities_that_cannot_be_attributed_are_none(identity: Any) -> None:
    assert caller_principal(identity) is None


def test_same_name_in_another_account_is_another_principal() -> None:
    tenancy = tenancy_from_config(TEAMS, [])
    other = principal("arn:aws:sts::444455556666:assumed-role/SupportML/alice")
    assert tenancy.team_of(other) is None
    assert tenancy.team_of(principal(session("SupportML"))).name == "support"  # type: ignore[union-attr]


# --- the teams document ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("teams", "admins", "path", "says"),
    [
        ({"Support": TEAMS["support"]}, [], "teams.Support", "lowercase"),
        ({"a--b": TEAMS["support"]}, [], "teams.a--b", "single '-'"),
        ({"support": []}, [], "teams.support", "an object"),
        (
            {"support": {**TEAMS["support"], "members": []}},
            [],
            "teams.support.members",
            "not a known setting",
        ),
        ({"support": {"datasetPrefixes": ["d/"]}}, [], "teams.support.principals", "at least one"),
        (
            {"support": {**TEAMS["support"], "principals": [session("SupportML")]}},
            [],
            "teams.support.principals[0]",
            f"arn:aws:iam::{ACCOUNT}:role/SupportML",  # the hint: the role of that session
        ),
        (
            {"support": {**TEAMS["support"], "datasetPrefixes": ["datasets/support"]}},
            [],
            "teams.support.datasetPrefixes[0]",
            "end with '/'",
        ),
        (
            {"support": {**TEAMS["support"], "datasetPrefixes": ["manifests/support/"]}},
            [],
            "teams.support.datasetPrefixes[0]",
            "manifests/",
        ),
        (
            {"support": {**TEAMS["support"], "datasetPrefixes": ["snapshots/"]}},
            [],
            "teams.support.datasetPrefixes[0]",
            "every run's snapshots",
        ),
        (
            {"support": {**TEAMS["support"], "datasetPrefixes": ["datasets/../finance/"]}},
            [],
            "teams.support.datasetPrefixes[0]",
            "'..'",
        ),
        (
            {"support": {**TEAMS["support"], "datasetPrefixes": ["datasets/a b/"]}},
            [],
            "teams.support.datasetPrefixes[0]",
            "segment",
        ),
        (
            {"support": {**TEAMS["support"], "allowedBaseModels": ["acme.nope"]}},
            [],
            "teams.support.allowedBaseModels[0]",
            "unknown model",
        ),
        (
            {
                **TEAMS,
                "audit": {
                    "principals": [f"arn:aws:iam::{ACCOUNT}:role/Audit"],
                    "datasetPrefixes": ["datasets/"],
                },
            },
            [],
            "teams.audit.datasetPrefixes",
            "overlaps",
        ),
        (
            {**TEAMS, "audit": {"principals": [FINANCE_ROLE], "datasetPrefixes": ["audit/"]}},
            [],
            "teams.audit.principals[0]",
            "already in team finance",
        ),
        (TEAMS, [FINANCE_ROLE], "teams.finance.principals[0]", "is an admin"),
        (TEAMS, ["PlatformAdmin"], "admins[0]", "not an IAM role or user ARN"),
        (TEAMS, [ADMIN_ROLE, ADMIN_ROLE], "admins", "twice"),
        ([], [], "teams", "an object"),
    ],
)
def test_config_errors_name_the_key(teams: Any, admins: Any, path: str, says: str) -> None:
    with pytest.raises(TenancyError) as raised:
        tenancy_from_config(teams, admins)
    assert raised.value.path == path
    assert says in raised.value.message


def test_a_team_narrows_the_deployments_models_and_never_widens_them() -> None:
    with pytest.raises(TenancyError, match="not in the deployment's allowedBaseModels") as raised:
        tenancy_from_config(TEAMS, [], deployment_models=("amazon.nova-lite-v1:0:300k",))
    assert raised.value.path == "teams.support.allowedBaseModels[0]"
    tenancy = tenancy_from_config(TEAMS, [], deployment_models=("amazon.nova-micro-v1:0:128k",))
    assert tenancy.team("support").allowed_base_models == ("amazon.nova-micro-v1:0:128k",)  # type: ignore[union-attr]


def test_the_environment_document_round_trips_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    tenancy = tenancy_from_config(TEAMS, [ADMIN_ROLE])
    text = tenancy.to_environment()
    assert len(text.encode()) <= MAX_DOCUMENT_BYTES and " " not in text
    monkeypatch.setenv("TENANCY", text)
    assert Tenancy.from_environment() == tenancy
    monkeypatch.delenv("TENANCY")
    assert Tenancy.from_environment() == Tenancy()
    many = {
        f"team-{n}": {
            "principals": [f"arn:aws:iam::{ACCOUNT}:role/Role{n:02d}"],
            "datasetPrefixes": [f"datasets/team-{n}/"],
        }
        for n in range(40)
    }
    with pytest.raises(TenancyError, match="at most 2,048 fit") as raised:
        tenancy_from_config(many, []).to_environment()
    assert raised.value.path == "teams"
    monkeypatch.setenv("TENANCY", json.dumps({"teams": {"x": 1}}))
    with pytest.raises(TenancyError):
        Tenancy.from_environment()


def test_manifests_belong_to_the_team_of_their_folder() -> None:
    tenancy = tenancy_from_config(TEAMS, [])
    assert tenancy.team_of_manifest("manifests/support/bot.json").name == "support"  # type: ignore[union-attr]
    for key in (
        "manifests/bot.json",
        "manifests/audit/bot.json",
        "datasets/support/bot.json",
        "manifests/support",
    ):
        assert tenancy.team_of_manifest(key) is None, key


# --- access ---------------------------------------------------------------------------------------


def test_team_members_admins_and_outsiders() -> None:
    tenancy = tenancy_from_config(TEAMS, [ADMIN_ROLE])
    support = access_for(principal(session("SupportML")), tenancy, ("amazon.nova-micro-v1:0:128k",))
    assert support.owner == Owner("team:support", f"arn:aws:iam::{ACCOUNT}:role/SupportML")
    assert support.scope.prefixes == ("datasets/support/",)
    assert support.listing_team == "team:support"
    assert support.can_see({"team": "team:support"}) and not support.can_see({"team": "team:finance"})
    assert not support.can_see({})  # a record without an owner is the platform's
    admin = access_for(principal(session("PlatformAdmin")), tenancy)
    assert admin.admin and admin.owner == Owner("platform", f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin")
    assert admin.scope.prefixes is None and admin.listing_team is None
    assert admin.can_see({"team": "team:finance"}) and admin.can_see({})
    outsider = access_for(principal(session("Contractor")), tenancy)
    assert outsider.owner is None and not outsider.can_see({"team": "team:support"})


def test_without_teams_each_principal_is_a_team_of_its_own() -> None:
    alice = access_for(principal(session("DataScientist", "alice")), Tenancy())
    bob = access_for(principal(session("DataScientist", "bob")), Tenancy())
    carol = access_for(principal(f"arn:aws:iam::{ACCOUNT}:user/carol"), Tenancy())
    assert alice.owner == bob.owner  # two sessions of one role are one principal
    assert alice.scope.prefixes == (f"datasets/{ACCOUNT}/role/DataScientist/",)
    assert carol.scope.prefixes == (f"datasets/{ACCOUNT}/user/carol/",)
    assert carol.owner is not None and not alice.can_see({"team": carol.owner.team})


def test_the_scope_of_a_recorded_owner_follows_the_current_config() -> None:
    tenancy = tenancy_from_config(TEAMS, [])
    record = {"owner": {"team": "team:finance", "principal": None}, "team": "team:finance"}
    assert scope_of_owner(owner_of_record(record), tenancy).prefixes == (
        "datasets/finance/",
        "shared/finance/",
    )
    assert scope_of_owner(Owner("team:removed"), tenancy).prefixes == ()
    assert scope_of_owner(PLATFORM_OWNER, tenancy).prefixes is None
    assert owner_of_record({}) == PLATFORM_OWNER
