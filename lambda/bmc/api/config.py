"""The API function's configuration, read from its environment."""

from __future__ import annotations

from dataclasses import dataclass

from bmc import settings
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
        return cls(
            prefix=settings.prefix(),
            region=settings.region(),
            state_machine_arn=settings.state_machine_arn(),
            datasets_bucket=settings.required_datasets_bucket(),
            artifacts_bucket=settings.artifacts_bucket(),
            allowed_base_models=settings.allowed_base_models(),
            schedule_group=settings.optional_schedule_group(),
            tenancy=Tenancy.from_environment(),
            allowed_judge_models=settings.evaluation_judge_models(),
        )
