"""Configuration of the functions, read from their environment (docs/workflow.md lists it).

Every value is read when asked for, not at import: the local cloud runs several functions in
one process and overlays each one's environment for the duration of its invocation. A missing
or malformed variable raises ConfigurationError naming it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bmc.errors import ConfigurationError

DEFAULT_JOB_ARN_INDEX = "byJobArn"
DEFAULT_AWAITING_INDEX = "byAwaiting"
DEFAULT_METRICS_NAMESPACE = "BedrockModelCustomization"


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _optional(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _csv(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _required_csv(name: str) -> tuple[str, ...]:
    values = _csv(name)
    if not values:
        raise ConfigurationError(
            f"environment variable {name} must list at least one value (comma separated)"
        )
    return values


def prefix() -> str:
    return _required("PREFIX")


def region() -> str:
    """The region the function runs in (Lambda sets AWS_REGION)."""
    value = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not value:
        raise ConfigurationError("environment variable AWS_REGION is not set")
    return value


def registry_table() -> str:
    return _required("REGISTRY_TABLE")


def job_arn_index() -> str:
    return _optional("JOB_ARN_INDEX", DEFAULT_JOB_ARN_INDEX)


def awaiting_index() -> str:
    return _optional("AWAITING_INDEX", DEFAULT_AWAITING_INDEX)


def metrics_namespace() -> str:
    return _optional("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE)


def allowed_base_models() -> tuple[str, ...]:
    """Base model ids runs may use; empty means every model of the catalog."""
    return _csv("ALLOWED_BASE_MODELS")


def default_serving() -> dict[str, Any]:
    """The config's serving block (JSON); runspec validates its values."""
    text = os.environ.get("DEFAULT_SERVING", "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"environment variable DEFAULT_SERVING is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError("environment variable DEFAULT_SERVING must be a JSON object")
    return value


def datasets_bucket() -> str | None:
    """Where run data must live (the service role reads only there); unset in unit tests of specs."""
    return os.environ.get("DATASETS_BUCKET") or None


def required_datasets_bucket() -> str:
    return _required("DATASETS_BUCKET")


def idempotency_table() -> str:
    """The API's idempotency records (Powertools' DynamoDB persistence layer)."""
    return _required("IDEMPOTENCY_TABLE")


def data_key_arn() -> str:
    """The key snapshots are encrypted with (the datasets bucket's default key)."""
    return _required("DATA_KEY_ARN")


def allow_legacy_base_models() -> bool:
    """Config ``allowLegacyBaseModels``: whether a LEGACY base model is a warning (true) or refused."""
    text = _optional("ALLOW_LEGACY_BASE_MODELS", "true").lower()
    if text not in ("true", "false"):
        raise ConfigurationError(
            f"environment variable ALLOW_LEGACY_BASE_MODELS must be true or false, got {text!r}"
        )
    return text == "true"


def artifacts_bucket() -> str:
    return _required("ARTIFACTS_BUCKET")


def service_role_arn() -> str:
    return _required("SERVICE_ROLE_ARN")


def model_key_arn() -> str:
    return _required("MODEL_KEY_ARN")


def job_subnet_ids() -> tuple[str, ...]:
    return _required_csv("JOB_SUBNET_IDS")


def job_security_group_ids() -> tuple[str, ...]:
    return _required_csv("JOB_SECURITY_GROUP_IDS")


def schedule_group() -> str:
    return _required("SCHEDULE_GROUP")


def optional_schedule_group() -> str | None:
    """The schedule group where cleaning up has to look for TTL schedules, if configured."""
    return os.environ.get("SCHEDULE_GROUP", "").strip() or None


def scheduler_role_arn() -> str:
    return _required("SCHEDULER_ROLE_ARN")


def expiry_function_arn() -> str:
    return _required("EXPIRY_FUNCTION_ARN")


def expiry_dead_letter_arn() -> str | None:
    """The queue an expiry schedule sends its event to when it cannot invoke the function."""
    return os.environ.get("EXPIRY_DEAD_LETTER_ARN", "").strip() or None


def max_serving_polls() -> int:
    text = _required("MAX_SERVING_POLLS")
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"environment variable MAX_SERVING_POLLS must be a positive integer, got {text!r}"
        )
    return value


def topic_arn() -> str:
    return _required("TOPIC_ARN")


def state_machine_arn() -> str:
    return _required("STATE_MACHINE_ARN")


def evaluation_judge_models() -> tuple[str, ...] | None:
    """The judge models this deployment may call (EVALUATION_JUDGE_MODELS); None when unset."""
    if "EVALUATION_JUDGE_MODELS" not in os.environ:
        return None
    return _csv("EVALUATION_JUDGE_MODELS")


def evaluation_tolerated_failure_percentage() -> float:
    """The deployment's default share of evaluation records that may fail (0-100)."""
    text = _optional("EVALUATION_TOLERATED_FAILURE_PERCENTAGE", "0")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise ConfigurationError(
            f"environment variable EVALUATION_TOLERATED_FAILURE_PERCENTAGE must be a number from 0 to 100, got {text!r}"
        )
    return value


def evaluation_records_per_batch() -> int:
    """The deployment's records per child execution (EVALUATION_RECORDS_PER_BATCH, default 10)."""
    text = _optional("EVALUATION_RECORDS_PER_BATCH", "10")
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(
            f"environment variable EVALUATION_RECORDS_PER_BATCH must be a positive integer, got {text!r}"
        )
    return int(text)


def sweeper_mode() -> str:
    """``delete`` (act on what can be attributed to a run) or ``report`` (act on nothing)."""
    value = _optional("SWEEPER_MODE", "delete")
    if value not in ("delete", "report"):
        raise ConfigurationError(f"environment variable SWEEPER_MODE must be delete or report, got {value!r}")
    return value


def idle_hours() -> int:
    text = _optional("IDLE_HOURS", "24")
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(f"environment variable IDLE_HOURS must be a positive integer, got {text!r}")
    return value


def default_idle_action() -> str:
    """The config's ``serving.idleAction``, for servings whose run spec serves nothing (API throughput)."""
    value = _optional("DEFAULT_IDLE_ACTION", "notify")
    if value not in ("notify", "delete"):
        raise ConfigurationError(
            f"environment variable DEFAULT_IDLE_ACTION must be notify or delete, got {value!r}"
        )
    return value
