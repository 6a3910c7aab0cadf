"""Typed deployment configuration, read from CDK context and validated at synth time.

Every key lives flat in `cdk.json` under "context" and can be overridden on the command line
(`cdk synth -c prefix=team-a`). Values given with `-c` arrive as strings, so lists, objects,
numbers and booleans are also accepted as JSON text. A wrong key, type or value raises
`ConfigError` naming the key and what is allowed; app.py prints it without a traceback.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bmc.evaluation.judge import JUDGE_MODEL_ID
from bmc.tenancy import Tenancy, TenancyError, tenancy_from_config

from constructs_lib.evaluation_map import EvaluationSettings
from constructs_lib.network import NetworkConfig
from constructs_lib.workflow_functions import ServingDefaults

# CDK's own context keys (feature flags, lookups, CLI settings) are not ours to validate.
_CDK_KEY_PREFIXES = ("@aws-cdk", "aws:cdk", "aws-cdk", "availability-zones:", "cdk-")
_CDK_KEYS = {"acknowledged-issue-numbers", "aws-cdk:enableDiffNoFail", "notices"}

# No "--": Bedrock's custom model names, which start with the prefix, refuse repeated separators.
PREFIX_PATTERN = re.compile(r"(?=.{3,20}\Z)[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]")
ACCOUNT_PATTERN = re.compile(r"\d{12}")
REGION_PATTERN = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
VPC_ID_PATTERN = re.compile(r"vpc-[0-9a-f]{8,17}")
SUBNET_ID_PATTERN = re.compile(r"subnet-[0-9a-f]{8,17}")
SECURITY_GROUP_ID_PATTERN = re.compile(r"sg-[0-9a-f]{8,17}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CIDR_PATTERN = re.compile(r"(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-4])")
# An IAM role or user (with an optional path), or an account root, that may administer the keys.
IAM_PRINCIPAL_ARN_PATTERN = re.compile(
    r"arn:aws(-[a-z]+)*:iam::\d{12}:(root|(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64})"
)

# The values CloudWatch Logs accepts for a retention period.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
SERVING_MODES = ("none", "provisioned", "on-demand")
COMMITMENTS = ("none", "OneMonth", "SixMonths")
REMOVAL_POLICIES = ("retain", "destroy")
IDLE_ACTIONS = ("notify", "delete")
SWEEPER_MODES = ("delete", "report")
# Interface endpoints the platform can put in its VPC (PrivateLink); each bills per AZ-hour.
PRIVATE_ENDPOINT_SERVICES = ("bedrock", "bedrock-runtime")
# Who sets API Gateway's account-level CloudWatch Logs role: this deployment, or someone already did.
API_GATEWAY_CLOUDWATCH_ROLE_MODES = ("create", "existing")


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and what is allowed."""


@dataclass(frozen=True)
class SweeperConfig:
    """The orphan sweeper and idle guard (docs: README, "Operations: costs and alerts")."""

    mode: str = "delete"  # delete what it can attribute to a run, or only report
    interval_minutes: int = 60
    idle_hours: int = 24


@dataclass(frozen=True)
class AppConfig:
    prefix: str = "bmc"
    account: str | None = None
    region: str | None = None
    network: NetworkConfig = field(default_factory=NetworkConfig)
    data_removal_policy: str = "retain"
    log_retention_days: int = 365
    notification_emails: tuple[str, ...] = ()
    allowed_base_models: tuple[str, ...] = ()
    serving: ServingDefaults = field(default_factory=ServingDefaults)
    queue_hours: int = 24
    reconcile_minutes: int = 15
    max_training_hours: int = 168
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    sweeper: SweeperConfig = field(default_factory=SweeperConfig)
    monthly_budget_usd: float | None = None
    private_endpoints: tuple[str, ...] = ()
    tenancy: Tenancy = field(default_factory=Tenancy)
    key_administrators: tuple[str, ...] = ()
    api_gateway_cloudwatch_role: str = "create"
    allow_legacy_base_models: bool = True

    @property
    def retain_data(self) -> bool:
        return self.data_removal_policy == "retain"


# --- value parsers: each returns the typed value or raises ConfigError naming the key ---------


def _decode(key: str, value: Any, expected: type | tuple[type, ...]) -> Any:
    """Accept JSON text for non-string values, since `-c key=value` always yields a string."""
    if isinstance(value, str) and expected is not str:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _string(key: str, value: Any, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"context key '{key}': {value!r} is not valid; allowed: {allowed}")
    return value


def _boolean(key: str, value: Any) -> bool:
    value = _decode(key, value, bool)
    if not isinstance(value, bool):
        raise ConfigError(f"context key '{key}': {value!r} is not valid; allowed: true or false")
    return value


def _optional_string(key: str, value: Any, pattern: re.Pattern[str], allowed: str) -> str | None:
    if value is None or value == "":
        return None
    return _string(key, value, pattern, allowed)


def _integer(key: str, value: Any, low: int, high: int) -> int:
    value = _decode(key, value, int)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"context key '{key}': {value!r} is not valid; allowed: an integer from {low} to {high}"
        )
    return value


def _choice(key: str, value: Any, choices: tuple[Any, ...]) -> Any:
    if value not in choices:
        allowed = ", ".join(str(choice) for choice in choices)
        raise ConfigError(f"context key '{key}': {value!r} is not valid; allowed: one of {allowed}")
    return value


def _string_list(key: str, value: Any, check: Callable[[str, Any], str]) -> tuple[str, ...]:
    value = _decode(key, value, list)
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list):
        raise ConfigError(f"context key '{key}': {value!r} is not valid; allowed: a list of strings")
    return tuple(check(f"{key}[{index}]", item) for index, item in enumerate(value))


def _object(key: str, value: Any, allowed_keys: tuple[str, ...]) -> dict[str, Any]:
    value = _decode(key, value, dict)
    if not isinstance(value, dict):
        raise ConfigError(f"context key '{key}': {value!r} is not valid; allowed: an object")
    for name in value:
        if name not in allowed_keys:
            raise ConfigError(_unknown_key_message(f"{key}.{name}", name, allowed_keys))
    return value


def _unknown_key_message(path: str, name: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"context key '{path}' is not a known setting{hint}; allowed keys: {', '.join(sorted(allowed))}"


def _email(key: str, value: Any) -> str:
    return _string(key, value, EMAIL_PATTERN, "an e-mail address")


def _base_model(key: str, value: Any) -> str:
    from bmc.catalog.models import UnknownModelError, resolve_model

    if not isinstance(value, str):
        raise ConfigError(f"context key '{key}': {value!r} is not valid; allowed: a base model id")
    try:
        customization_id: str = resolve_model(value).customization_id
    except UnknownModelError as error:
        raise ConfigError(f"context key '{key}': {error}") from None
    return customization_id


def _network(value: Any) -> NetworkConfig:
    raw = _object("network", value, ("vpcId", "subnetIds", "securityGroupId", "cidr", "maxAzs"))
    vpc_id = _optional_string(
        "network.vpcId", raw.get("vpcId"), VPC_ID_PATTERN, "a VPC id like vpc-0abc12345"
    )
    subnet_ids = _string_list(
        "network.subnetIds",
        raw.get("subnetIds", []),
        lambda k, v: _string(k, v, SUBNET_ID_PATTERN, "a subnet id like subnet-0abc12345"),
    )
    security_group_id = _optional_string(
        "network.securityGroupId",
        raw.get("securityGroupId"),
        SECURITY_GROUP_ID_PATTERN,
        "an id like sg-0abc12345",
    )
    if vpc_id is None and (subnet_ids or security_group_id):
        raise ConfigError("context key 'network.vpcId': required when subnetIds or securityGroupId is set")
    if vpc_id is not None:
        if not 2 <= len(subnet_ids) <= 16:
            raise ConfigError(
                "context key 'network.subnetIds': an existing VPC needs 2 to 16 private subnet ids in different AZs"
            )
        if security_group_id is None:
            raise ConfigError("context key 'network.securityGroupId': required with an existing VPC")
    return NetworkConfig(
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        security_group_id=security_group_id,
        cidr=_string(
            "network.cidr", raw.get("cidr", "10.42.0.0/16"), CIDR_PATTERN, "an IPv4 CIDR from /16 to /24"
        ),
        max_azs=_integer("network.maxAzs", raw.get("maxAzs", 2), 2, 6),
    )


def _serving(value: Any) -> ServingDefaults:
    raw = _object("serving", value, ("mode", "modelUnits", "commitment", "ttlHours", "idleAction"))
    ttl = raw.get("ttlHours")
    return ServingDefaults(
        mode=_choice("serving.mode", raw.get("mode", "none"), SERVING_MODES),
        model_units=_integer("serving.modelUnits", raw.get("modelUnits", 1), 1, 100),
        commitment=_choice("serving.commitment", raw.get("commitment", "none"), COMMITMENTS),
        ttl_hours=None if ttl is None else _integer("serving.ttlHours", ttl, 1, 24 * 365),
        idle_action=_choice("serving.idleAction", raw.get("idleAction", "notify"), IDLE_ACTIONS),
    )


def _evaluation(value: Any) -> EvaluationSettings:
    raw = _object(
        "evaluation",
        value,
        ("maxConcurrency", "recordsPerBatch", "toleratedFailurePercentage", "judgeModels"),
    )
    defaults = EvaluationSettings()
    tolerated = _decode(
        "evaluation.toleratedFailurePercentage", raw.get("toleratedFailurePercentage", 0), float
    )
    if isinstance(tolerated, bool) or not isinstance(tolerated, int | float) or not 0 <= tolerated <= 100:
        raise ConfigError(
            f"context key 'evaluation.toleratedFailurePercentage': {tolerated!r} is not valid; "
            "allowed: a number from 0 to 100"
        )
    return EvaluationSettings(
        max_concurrency=_integer(
            "evaluation.maxConcurrency", raw.get("maxConcurrency", defaults.max_concurrency), 1, 10_000
        ),
        records_per_batch=_integer(
            "evaluation.recordsPerBatch", raw.get("recordsPerBatch", defaults.records_per_batch), 1, 100
        ),
        tolerated_failure_percentage=float(tolerated),
        judge_models=_string_list(
            "evaluation.judgeModels", raw.get("judgeModels", list(defaults.judge_models)), _judge_model
        ),
    )


def _judge_model(key: str, value: Any) -> str:
    if not isinstance(value, str) or not JUDGE_MODEL_ID.fullmatch(value):
        raise ConfigError(
            f"context key '{key}': {value!r} is not valid; allowed: a foundation model id or a system inference "
            "profile id such as amazon.nova-pro-v1:0 or us.amazon.nova-pro-v1:0"
        )
    return value


def _sweeper(value: Any) -> SweeperConfig:
    raw = _object("sweeper", value, ("mode", "intervalMinutes", "idleHours"))
    return SweeperConfig(
        mode=_choice("sweeper.mode", raw.get("mode", "delete"), SWEEPER_MODES),
        interval_minutes=_integer("sweeper.intervalMinutes", raw.get("intervalMinutes", 60), 15, 1440),
        idle_hours=_integer("sweeper.idleHours", raw.get("idleHours", 24), 1, 24 * 30),
    )


def _budget(value: Any) -> float | None:
    value = _decode("monthlyBudgetUsd", value, float)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 1_000_000_000:
        raise ConfigError(
            f"context key 'monthlyBudgetUsd': {value!r} is not valid; "
            "allowed: null (no budget) or a number of US dollars from 1 to 1000000000"
        )
    return float(value)


def _private_endpoints(value: Any) -> tuple[str, ...]:
    services = _string_list("privateEndpoints", value, lambda k, v: _choice(k, v, PRIVATE_ENDPOINT_SERVICES))
    if len(set(services)) != len(services):
        raise ConfigError("context key 'privateEndpoints': a service is listed twice")
    return services


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "prefix": lambda v: _string(
        "prefix",
        v,
        PREFIX_PATTERN,
        "3-20 characters: lowercase letters, digits and single '-', starting with a letter",
    ),
    "account": lambda v: _optional_string("account", v, ACCOUNT_PATTERN, "a 12-digit AWS account id"),
    "region": lambda v: _optional_string("region", v, REGION_PATTERN, "an AWS region such as us-east-1"),
    "network": _network,
    "dataRemovalPolicy": lambda v: _choice("dataRemovalPolicy", v, REMOVAL_POLICIES),
    "logRetentionDays": lambda v: _choice(
        "logRetentionDays", _decode("logRetentionDays", v, int), LOG_RETENTION_DAYS
    ),
    "notificationEmails": lambda v: _string_list("notificationEmails", v, _email),
    "allowedBaseModels": lambda v: _string_list("allowedBaseModels", v, _base_model),
    "serving": _serving,
    "queueHours": lambda v: _integer("queueHours", v, 0, 168),
    "reconcileMinutes": lambda v: _integer("reconcileMinutes", v, 5, 1440),
    "maxTrainingHours": lambda v: _integer("maxTrainingHours", v, 1, 24 * 30),
    "evaluation": _evaluation,
    "sweeper": _sweeper,
    "monthlyBudgetUsd": _budget,
    "privateEndpoints": _private_endpoints,
    "allowLegacyBaseModels": lambda v: _boolean("allowLegacyBaseModels", v),
    # Checked together by _tenancy: an admin is in no team, a team narrows allowedBaseModels.
    "teams": lambda v: _decode("teams", v, dict),
    "admins": lambda v: _decode("admins", v, list),
    "keyAdministrators": lambda v: _string_list(
        "keyAdministrators",
        v,
        lambda k, item: _string(k, item, IAM_PRINCIPAL_ARN_PATTERN, "an IAM role, user or account root ARN"),
    ),
    "apiGatewayCloudWatchRole": lambda v: _choice(
        "apiGatewayCloudWatchRole", v, API_GATEWAY_CLOUDWATCH_ROLE_MODES
    ),
}

_FIELDS = {
    "prefix": "prefix",
    "account": "account",
    "region": "region",
    "network": "network",
    "dataRemovalPolicy": "data_removal_policy",
    "logRetentionDays": "log_retention_days",
    "notificationEmails": "notification_emails",
    "allowedBaseModels": "allowed_base_models",
    "serving": "serving",
    "queueHours": "queue_hours",
    "reconcileMinutes": "reconcile_minutes",
    "maxTrainingHours": "max_training_hours",
    "evaluation": "evaluation",
    "sweeper": "sweeper",
    "monthlyBudgetUsd": "monthly_budget_usd",
    "privateEndpoints": "private_endpoints",
    "allowLegacyBaseModels": "allow_legacy_base_models",
    "teams": "teams",
    "admins": "admins",
    "keyAdministrators": "key_administrators",
    "apiGatewayCloudWatchRole": "api_gateway_cloudwatch_role",
}


def _tenancy(teams: Any, admins: Any, values: Mapping[str, Any]) -> Tenancy:
    """Teams and admins (README, "Teams and ownership"), bounded to what fits in a function's
    environment; errors name the key (``teams.support.datasetPrefixes[0]``)."""
    if isinstance(admins, str):
        admins = [item.strip() for item in admins.split(",") if item.strip()]
    try:
        tenancy = tenancy_from_config(teams, admins, deployment_models=values.get("allowed_base_models", ()))
        tenancy.to_environment()
    except TenancyError as error:
        raise ConfigError(f"context key '{error.path}': {error.message}") from None
    return tenancy


def is_cdk_key(key: str) -> bool:
    return key in _CDK_KEYS or key.startswith(_CDK_KEY_PREFIXES)


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Build the typed config from a mapping of context keys (cdk.json merged with `-c`)."""
    values: dict[str, Any] = {}
    for key, raw in context.items():
        if is_cdk_key(key):
            continue
        if key not in _PARSERS:
            raise ConfigError(_unknown_key_message(key, key, tuple(_PARSERS)))
        values[_FIELDS[key]] = _PARSERS[key](raw)
    values["tenancy"] = _tenancy(values.pop("teams", None), values.pop("admins", None), values)
    config = AppConfig(**values)
    if config.serving.commitment != "none" and config.serving.ttl_hours is not None:
        raise ConfigError(
            "context key 'serving.ttlHours': a committed throughput cannot be deleted before its term; "
            "allowed: no ttlHours with a commitment"
        )
    if config.serving.commitment != "none" and config.serving.idle_action == "delete":
        raise ConfigError(
            "context key 'serving.idleAction': a committed throughput cannot be deleted before its term; "
            "allowed: notify with a commitment"
        )
    return config


def config_keys() -> tuple[str, ...]:
    return tuple(_PARSERS)
