"""Tenancy: who owns a run and who may see it, act on it and name which data (README, "Teams").

- ``principals``: IAM ARNs of the config and of signed callers, compared without paths;
- ``teams``: the teams and admins document (``cdk.json``, env ``TENANCY``) and run owners;
- ``access``: what one principal may do (runs it sees, owner of what it creates, data scope).
"""

from bmc.tenancy.access import (
    PLATFORM_SCOPE,
    Access,
    DataScope,
    access_for,
    data_key_problem,
    owner_of_record,
    personal_prefix,
    scope_of_owner,
)
from bmc.tenancy.principals import Principal, caller_principal, parse_caller_arn, parse_config_principal
from bmc.tenancy.teams import (
    MANIFESTS_PREFIX,
    PLATFORM,
    PLATFORM_OWNER,
    SNAPSHOTS_PREFIX,
    TENANCY_VARIABLE,
    Owner,
    Team,
    Tenancy,
    TenancyError,
    dataset_prefix_problem,
    tenancy_from_config,
)

__all__ = [
    "MANIFESTS_PREFIX",
    "PLATFORM",
    "PLATFORM_OWNER",
    "PLATFORM_SCOPE",
    "SNAPSHOTS_PREFIX",
    "TENANCY_VARIABLE",
    "Access",
    "DataScope",
    "Owner",
    "Principal",
    "Team",
    "Tenancy",
    "TenancyError",
    "access_for",
    "caller_principal",
    "data_key_problem",
    "dataset_prefix_problem",
    "owner_of_record",
    "parse_caller_arn",
    "parse_config_principal",
    "personal_prefix",
    "scope_of_owner",
    "tenancy_from_config",
]
