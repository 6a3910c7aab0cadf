"""The API function's configuration, read from its environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bmc import settings
from bmc.errors import ConfigurationError
from bmc.tenancy import Tenancy


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The API function's environment (docs/api.md, "Deployment")."""

    prefix: str
    region: str
    state_machine_arn: str
    datasets_bucket: str
    artifacts_bucket: str
    allowed_base_models: tuple[str, ...]
    schedule_group: str | None
    tenancy: Tenancy
    allowed_judge_models: tuple[str, ...] | None = None  # evaluation.judgeModels; None: unchecked

    @classmethod
    def from_environment(cls) -> ApiSettings:
        datasets_bucket = settings.datasets_bucket()
        if not datasets_bucket:
            raise ConfigurationError("environment variable DATASETS_BUCKET is not set")
        return cls(
            prefix=settings.prefix(),
            region=settings.region(),
            state_machine_arn=settings.state_machine_arn(),
            datasets_bucket=datasets_bucket,
            artifacts_bucket=settings.artifacts_bucket(),
            allowed_base_models=settings.allowed_base_models(),
            schedule_group=settings.optional_schedule_group(),
            tenancy=Tenancy.from_environment(),
            allowed_judge_models=settings.evaluation_judge_models(),
        )


def idempotency_table() -> str:
    value = os.environ.get("IDEMPOTENCY_TABLE", "").strip()
    if not value:
        raise ConfigurationError("environment variable IDEMPOTENCY_TABLE is not set")
    return value
