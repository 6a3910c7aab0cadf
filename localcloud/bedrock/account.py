"""One account and region of the simulated Bedrock control plane: what every operation shares.

The resources it holds (jobs, custom models, provisioned throughputs, deployments), their ARNs
and tags, idempotent client request tokens, and the foundation models and system inference
profiles visible from the region. What each API call does is in ``customization`` (jobs and
custom models) and ``serving`` (provisioned throughput and custom model deployments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.bedrock.models import BedrockBackend

from localcloud.bedrock.errors import BedrockError, not_found
from localcloud.bedrock.resources import (
    KMS_KEY_ID,
    TOKEN,
    FoundationModel,
    SimCustomModel,
    SimDeployment,
    SimJob,
    SimThroughput,
    check_name,
    fingerprint,
)

if TYPE_CHECKING:  # the simulator creates the accounts; the runtime describes the profiles
    from localcloud.bedrock.runtime import SystemInferenceProfile
    from localcloud.bedrock.simulator import BedrockSimulator


class BedrockAccount(BedrockBackend):
    """One account and region of the simulated Bedrock. All calls hold the simulator's lock."""

    def __init__(self, region_name: str, account_id: str, simulator: BedrockSimulator) -> None:
        super().__init__(region_name, account_id)
        self.sim = simulator
        self.jobs: dict[str, SimJob] = {}
        self.models: dict[str, SimCustomModel] = {}
        self.throughputs: dict[str, SimThroughput] = {}
        self.deployments: dict[str, SimDeployment] = {}
        self._tokens: dict[tuple[str, str], tuple[str, str]] = {}

    def _arn(self, resource: str) -> str:
        return f"arn:{self.partition}:bedrock:{self.region_name}:{self.account_id}:{resource}"

    def _list_arns(self) -> list[str]:
        # Consulted by moto's tag_resource/untag_resource/list_tags_for_resource.
        return (
            [j.job_arn for j in self.jobs.values()]
            + [m.model_arn for m in self.models.values()]
            + [t.arn for t in self.throughputs.values()]
            + [d.arn for d in self.deployments.values()]
        )

    def _tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        if tags:
            self.tagger.tag_resource(arn, [{"Key": t["key"], "Value": t["value"]} for t in tags])

    def _idempotent(self, operation: str, params: dict[str, Any], error_code: str) -> str | None:
        """The ARN an earlier call with this clientRequestToken created, if any."""
        token = params.get("clientRequestToken")
        if not token:
            return None
        check_name(token, TOKEN, "clientRequestToken", max_length=256)
        earlier = self._tokens.get((operation, token))
        if earlier is None:
            return None
        recorded, arn = earlier
        if recorded != fingerprint(params):
            raise BedrockError(
                error_code, f"The client request token {token} was already used with different parameters."
            )
        return arn

    def _created(self, operation: str, params: dict[str, Any], arn: str, tags: list[dict[str, str]]) -> str:
        """Tag a resource ``operation`` just created and remember its client request token."""
        self._tag(arn, tags)
        token = params.get("clientRequestToken")
        if token:
            self._tokens[(operation, token)] = (fingerprint(params), arn)
        return arn

    def foundation_model(self, identifier: str) -> FoundationModel | None:
        model_id = (
            identifier.split("foundation-model/", 1)[1] if "foundation-model/" in identifier else identifier
        )
        for model in self.sim.foundation_models:
            if model.model_id == model_id and (model.regions is None or self.region_name in model.regions):
                return model
        return None

    def inference_profile(self, identifier: str) -> SystemInferenceProfile | None:
        """The system inference profile named by id or ARN, if it can be used from this region."""
        profile_id = identifier.split("inference-profile/", 1)[-1]
        for profile in self.sim.inference_profiles:
            if profile.profile_id == profile_id and self.region_name in profile.regions:
                return profile
        return None

    def list_foundation_models(self, query: dict[str, Any]) -> list[FoundationModel]:
        models = [m for m in self.sim.foundation_models if m.regions is None or self.region_name in m.regions]
        if query.get("byProvider"):
            models = [m for m in models if m.provider_name.lower() == query["byProvider"].lower()]
        if query.get("byCustomizationType"):
            models = [m for m in models if query["byCustomizationType"] in m.customizations_supported]
        if query.get("byOutputModality"):
            models = [m for m in models if query["byOutputModality"] in m.output_modalities]
        if query.get("byInferenceType"):
            models = [m for m in models if query["byInferenceType"] in m.inference_types_supported]
        return models

    def _kms_key_arn(self, key: str | None) -> str | None:
        if key and KMS_KEY_ID.fullmatch(key):
            return f"arn:{self.partition}:kms:{self.region_name}:{self.account_id}:key/{key}"
        return key

    def find_model(self, identifier: str) -> SimCustomModel:
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                return model
        raise not_found(f"Custom model {identifier} not found")
