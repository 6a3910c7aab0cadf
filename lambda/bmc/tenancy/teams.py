"""Teams and admins of a deployment, and who owns a run (README, "Teams and ownership").

The same document is validated at synthesis (``cdk.json`` keys ``teams`` and ``admins``, with
errors naming the key) and read back by the functions from their ``TENANCY`` environment
variable, so the two cannot disagree. Every run records an owner: a team (``team:<name>``),
a single principal when no teams are configured (``principal:<arn>``), or the platform
(``platform``: console runs, manifests of a deployment without teams, runs an admin creates).
Admins see and act on every run; everybody else only on its owner's runs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bmc.catalog.models import UnknownModelError, resolve_model
from bmc.tenancy.principals import Principal, parse_caller_arn, parse_config_principal

TENANCY_VARIABLE = "TENANCY"
# Lambda allows 4 KB for all of a function's environment variables together; the rest of the
# API function's variables take about 1 KB once deployed (names and ARNs).
MAX_DOCUMENT_BYTES = 2048
MANIFESTS_PREFIX = "manifests/"
# Runs' copies of the data they were trained on (bmc.lineage): written by the workflow only.
SNAPSHOTS_PREFIX = "snapshots/"
PLATFORM = "platform"
TEAM_KEY_PREFIX = "team:"
PRINCIPAL_KEY_PREFIX = "principal:"

# Team names are safe slugs: they appear in S3 prefixes, tag values and index keys.
TEAM_NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?!-)){0,30}[a-z0-9]")
# A prefix is one or more segments of the characters Bedrock accepts in S3 keys, ending in '/'.
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9!_*'().-]+")
TEAM_FIELDS = ("principals", "datasetPrefixes", "allowedBaseModels")


class TenancyError(ValueError):
    """The teams document is invalid; ``path`` names the key (``teams.support.principals[0]``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    principals: tuple[str, ...]  # normalized ARNs (bmc.tenancy.principals)
    dataset_prefixes: tuple[str, ...]
    allowed_base_models: tuple[str, ...] = ()  # customization ids; empty = the deployment's list

    @property
    def key(self) -> str:
        return f"{TEAM_KEY_PREFIX}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "principals": list(self.principals),
            "datasetPrefixes": list(self.dataset_prefixes),
        }
        if self.allowed_base_models:
            document["allowedBaseModels"] = list(self.allowed_base_models)
        return document


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a run belongs to: ``team`` is the key the registry's byTeam index lists by."""

    team: str
    principal: str | None = None  # the caller who created it (API runs)

    def to_dict(self) -> dict[str, Any]:
        return {"team": self.team, "principal": self.principal}

    @property
    def team_name(self) -> str | None:
        return self.team.removeprefix(TEAM_KEY_PREFIX) if self.team.startswith(TEAM_KEY_PREFIX) else None


PLATFORM_OWNER = Owner(PLATFORM)


def personal_key(principal: Principal) -> str:
    return f"{PRINCIPAL_KEY_PREFIX}{principal.arn}"


@dataclass(frozen=True, slots=True)
class Tenancy:
    teams: tuple[Team, ...] = ()
    admins: tuple[str, ...] = ()  # normalized ARNs
    _by_principal: dict[str, Team] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for team in self.teams:
            for principal in team.principals:
                self._by_principal[principal] = team

    # --- who is who ----------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return bool(self.teams)

    def team(self, name: str) -> Team | None:
        return next((team for team in self.teams if team.name == name), None)

    def team_of(self, principal: Principal) -> Team | None:
        return self._by_principal.get(principal.arn)

    def is_admin(self, principal: Principal) -> bool:
        return principal.arn in self.admins

    def team_of_manifest(self, key: str) -> Team | None:
        """The team a manifest key belongs to: ``manifests/<team>/...``."""
        rest = key.removeprefix(MANIFESTS_PREFIX)
        name, slash, _ = rest.partition("/")
        return self.team(name) if slash and rest != key else None

    # --- the document ----------------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        return {"teams": {team.name: team.to_dict() for team in self.teams}, "admins": list(self.admins)}

    def to_environment(self) -> str:
        """The compact JSON the functions read from ``TENANCY``."""
        text = json.dumps(self.to_document(), separators=(",", ":"), sort_keys=True)
        size = len(text.encode("utf-8"))
        if size > MAX_DOCUMENT_BYTES:
            raise TenancyError(
                "teams",
                f"the teams and admins take {size:,} bytes in the functions' environment; at most "
                f"{MAX_DOCUMENT_BYTES:,} fit (Lambda allows 4 KB for all variables): list roles, "
                "not users, and fewer prefixes per team",
            )
        return text

    @classmethod
    def from_environment(cls) -> Tenancy:
        text = os.environ.get(TENANCY_VARIABLE, "").strip()
        if not text:
            return cls()
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TenancyError(TENANCY_VARIABLE, f"not valid JSON: {exc}") from None
        if not isinstance(document, Mapping):
            raise TenancyError(TENANCY_VARIABLE, "must be a JSON object")
        return tenancy_from_config(document.get("teams"), document.get("admins"))


# --- validation -----------------------------------------------------------------------------------


def tenancy_from_config(teams: Any, admins: Any, *, deployment_models: Sequence[str] = ()) -> Tenancy:
    """The teams and admins of the config, checked; raises TenancyError naming the key."""
    admin_arns = _principals("admins", admins if admins is not None else [], required=False)
    if teams is None:
        teams = {}
    if not isinstance(teams, Mapping):
        raise TenancyError("teams", f"{_show(teams)} is not valid; allowed: an object of team name to team")
    parsed: list[Team] = []
    members: dict[str, str] = {}
    for name, raw in teams.items():
        team = _team(str(name), raw, deployment_models)
        for index, principal in enumerate(team.principals):
            path = f"teams.{name}.principals[{index}]"
            if principal in admin_arns:
                raise TenancyError(
                    path, f"{principal} is an admin, who acts on every run; an admin is in no team"
                )
            if principal in members:
                raise TenancyError(
                    path, f"{principal} is already in team {members[principal]}: a principal has one team"
                )
            members[principal] = team.name
        for other in parsed:
            for mine in team.dataset_prefixes:
                overlap = next(
                    (
                        theirs
                        for theirs in other.dataset_prefixes
                        if mine.startswith(theirs) or theirs.startswith(mine)
                    ),
                    None,
                )
                if overlap is not None:
                    raise TenancyError(
                        f"teams.{name}.datasetPrefixes",
                        f"{mine} overlaps {overlap} of team {other.name}: teams' data must not overlap",
                    )
        parsed.append(team)
    return Tenancy(tuple(sorted(parsed, key=lambda team: team.name)), admin_arns)


def _team(name: str, raw: Any, deployment_models: Sequence[str]) -> Team:
    path = f"teams.{name}"
    if not TEAM_NAME.fullmatch(name):
        raise TenancyError(
            path,
            "a team name is 2-32 characters: lowercase letters, digits and single '-', starting with a letter",
        )
    if not isinstance(raw, Mapping):
        raise TenancyError(
            path, f"{_show(raw)} is not valid; allowed: an object with {', '.join(TEAM_FIELDS)}"
        )
    for key in raw:
        if key not in TEAM_FIELDS:
            raise TenancyError(
                f"{path}.{key}", f"not a known setting; allowed keys: {', '.join(TEAM_FIELDS)}"
            )
    principals = _principals(f"{path}.principals", raw.get("principals"), required=True)
    prefixes = _strings(f"{path}.datasetPrefixes", raw.get("datasetPrefixes"), required=True)
    for index, prefix in enumerate(prefixes):
        problem = dataset_prefix_problem(prefix)
        if problem:
            raise TenancyError(f"{path}.datasetPrefixes[{index}]", problem)
    models = _base_models(f"{path}.allowedBaseModels", raw.get("allowedBaseModels"), deployment_models)
    return Team(name, principals, prefixes, models)


def dataset_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot hold a team's data, or None."""
    segments = prefix.split("/")
    if not prefix.endswith("/") or len(segments) < 2:
        return f"{prefix!r} must end with '/', e.g. datasets/<team>/"
    if any(not _PREFIX_SEGMENT.fullmatch(s) or s in (".", "..") for s in segments[:-1]):
        return (
            f"{prefix!r}: each segment must be letters, digits or - ! _ * ' ( ) . (the characters Bedrock "
            "accepts in keys), not '.' or '..', and not empty"
        )
    if prefix.startswith(MANIFESTS_PREFIX) or MANIFESTS_PREFIX.startswith(prefix):
        return f"{prefix!r} would include {MANIFESTS_PREFIX}, which holds run manifests, not data"
    if prefix.startswith(SNAPSHOTS_PREFIX) or SNAPSHOTS_PREFIX.startswith(prefix):
        return f"{prefix!r} would include {SNAPSHOTS_PREFIX}, which holds every run's snapshots, not a team's data"
    return None


def _principals(path: str, value: Any, *, required: bool) -> tuple[str, ...]:
    arns = []
    for index, arn in enumerate(_strings(path, value, required=required)):
        principal = parse_config_principal(arn)
        if principal is None:
            hint = ""
            caller = parse_caller_arn(arn)
            if caller is not None and caller.kind == "role":
                hint = f"; for a role session name its role: {caller.arn}"
            raise TenancyError(
                f"{path}[{index}]",
                f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>){hint}",
            )
        arns.append(principal.arn)
    if len(set(arns)) != len(arns):
        raise TenancyError(path, "lists a principal twice")
    return tuple(arns)


def _strings(path: str, value: Any, *, required: bool) -> tuple[str, ...]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TenancyError(path, f"{_show(value)} is not valid; allowed: a list of strings")
    if required and not value:
        raise TenancyError(path, "must list at least one value")
    return tuple(value)


def _base_models(path: str, value: Any, deployment_models: Sequence[str]) -> tuple[str, ...]:
    ids = []
    for index, model_id in enumerate(_strings(path, value, required=False)):
        try:
            customization_id = resolve_model(model_id).customization_id
        except UnknownModelError as exc:
            raise TenancyError(f"{path}[{index}]", str(exc)) from None
        if deployment_models and customization_id not in deployment_models:
            raise TenancyError(
                f"{path}[{index}]",
                f"{customization_id} is not in the deployment's allowedBaseModels; a team's list narrows it",
            )
        ids.append(customization_id)
    return tuple(ids)


def _show(value: Any) -> str:
    return repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:77]}..."
