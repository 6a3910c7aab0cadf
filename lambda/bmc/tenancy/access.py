"""What a principal may do: which runs it sees, whose runs it creates, which data it may name.

Admins see every run and create platform runs; a team member sees its team's runs; without
teams configured a principal is a team of its own, with its own dataset prefix. With teams
configured, a principal in no team sees nothing and creates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bmc.tenancy.principals import Principal, parse_caller_arn
from bmc.tenancy.teams import (
    MANIFESTS_PREFIX,
    PLATFORM,
    PLATFORM_OWNER,
    PRINCIPAL_KEY_PREFIX,
    SNAPSHOTS_PREFIX,
    TEAM_KEY_PREFIX,
    Owner,
    Tenancy,
    personal_key,
)

PERSONAL_DATA_ROOT = "datasets/"


@dataclass(frozen=True, slots=True)
class DataScope:
    """Where a run's data may live in the datasets bucket and which base models it may use.

    ``prefixes`` None means anywhere in the bucket (platform runs); ``manifests/`` never.
    ``allowed_base_models`` empty means the deployment's list.
    """

    prefixes: tuple[str, ...] | None
    allowed_base_models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Access:
    principal: Principal
    admin: bool
    owner: Owner | None  # whose runs this caller creates; None: it may create none
    scope: DataScope

    @property
    def listing_team(self) -> str | None:
        """The byTeam key of the runs this caller lists; None for admins (every run)."""
        return None if self.admin or self.owner is None else self.owner.team

    def can_see(self, record: Mapping[str, Any]) -> bool:
        """Admins see every run; others only runs whose owner is their team (or themselves)."""
        if self.admin:
            return True
        return self.owner is not None and record.get("team") == self.owner.team


PLATFORM_SCOPE = DataScope(None)


def data_key_problem(key: str, prefixes: Sequence[str] | None) -> str | None:
    """Why an object key of the datasets bucket is not data of an owner with these prefixes
    (None: any key), or None. Manifests are never data, and no key climbs out of a prefix."""
    if key.startswith(MANIFESTS_PREFIX):
        return f"is under {MANIFESTS_PREFIX}, which holds manifests, not data"
    if key.startswith(SNAPSHOTS_PREFIX):
        return f"is under {SNAPSHOTS_PREFIX}, which holds runs' snapshots: download the data and upload it as data"
    if any(segment in (".", "..") for segment in key.split("/")):
        return "has a '.' or '..' segment"
    if prefixes is not None and not any(key.startswith(prefix) for prefix in prefixes):
        return "is outside the data prefixes of this run's owner"
    return None


def personal_prefix(principal: Principal) -> str:
    """The dataset prefix of a principal that is a team of its own (no teams configured)."""
    name = f"{principal.kind}/{principal.name}" if principal.name else principal.kind
    return f"{PERSONAL_DATA_ROOT}{principal.account}/{name}/"


def access_for(principal: Principal, tenancy: Tenancy, deployment_models: Sequence[str] = ()) -> Access:
    if tenancy.is_admin(principal):
        return Access(
            principal, True, Owner(PLATFORM, principal.arn), DataScope(None, tuple(deployment_models))
        )
    team = tenancy.team_of(principal)
    if team is not None:
        models = team.allowed_base_models or tuple(deployment_models)
        return Access(
            principal, False, Owner(team.key, principal.arn), DataScope(team.dataset_prefixes, models)
        )
    if not tenancy.configured:
        owner = Owner(personal_key(principal), principal.arn)
        return Access(
            principal, False, owner, DataScope((personal_prefix(principal),), tuple(deployment_models))
        )
    return Access(principal, False, None, DataScope((), tuple(deployment_models)))


def scope_of_owner(owner: Owner, tenancy: Tenancy, deployment_models: Sequence[str] = ()) -> DataScope:
    """The data scope of a run's owner under the current config (for runs recorded earlier)."""
    if owner.team.startswith(TEAM_KEY_PREFIX):
        team = tenancy.team(owner.team.removeprefix(TEAM_KEY_PREFIX))
        if team is None:
            return DataScope((), tuple(deployment_models))  # the team was removed: no data left to it
        return DataScope(team.dataset_prefixes, team.allowed_base_models or tuple(deployment_models))
    if owner.team.startswith(PRINCIPAL_KEY_PREFIX) and owner.principal:
        principal = parse_caller_arn(owner.principal)
        if principal is not None:
            return DataScope((personal_prefix(principal),), tuple(deployment_models))
        return DataScope((), tuple(deployment_models))
    return DataScope(None, tuple(deployment_models))


def owner_of_record(record: Mapping[str, Any]) -> Owner:
    """The owner a record names; records written before owners existed belong to the platform."""
    owner = record.get("owner")
    if isinstance(owner, Mapping) and isinstance(owner.get("team"), str):
        principal = owner.get("principal")
        return Owner(str(owner["team"]), principal if isinstance(principal, str) else None)
    return PLATFORM_OWNER
