"""The HTTP layer: moto routes every bedrock request here while a simulator is installed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from moto.bedrock.responses import BedrockResponse

from localcloud.bedrock.control import SimulatedBedrockBackend
from localcloud.bedrock.errors import BedrockError, not_found
from localcloud.bedrock.resources import dumps

if TYPE_CHECKING:
    from localcloud.bedrock.simulator import BedrockSimulator

_ItemT = TypeVar("_ItemT")
# The query parameters every List* operation of the control plane takes.
PAGE_PARAMETERS = ("nameContains", "maxResults", "nextToken", "sortBy", "sortOrder")


def listed(
    key: str, page: tuple[list[_ItemT], str | None], summary: Callable[[_ItemT], dict[str, Any]]
) -> str:
    """A List* response: the page's summaries under ``key``, and the token of the next page."""
    items, token = page
    return dumps({key: [summary(item) for item in items], "nextToken": token})


def installed_simulator() -> BedrockSimulator:
    """The simulator serving requests (the HTTP layers only run while one is installed)."""
    from localcloud.bedrock.simulator import BedrockSimulator  # the simulator installs this layer

    simulator = BedrockSimulator.active()
    if simulator is None:
        raise RuntimeError("no BedrockSimulator is installed")
    return simulator


class SimulatedBedrockResponse(BedrockResponse):
    """Serves every bedrock request while a simulator is installed."""

    @property
    def sim(self) -> BedrockSimulator:
        return installed_simulator()

    @property
    def bedrock_backend(self) -> SimulatedBedrockBackend:
        # moto's own handlers (tags, logging configuration) use this property too.
        return self.sim.backend(self.current_account, self.region)

    def call_action(self) -> Any:
        sim = self.sim
        operation = str(self._get_action())
        hook = sim._take_hook(operation)
        if hook is not None:
            hook()  # a concurrent request, interleaved before this call (outside the lock: it may call back)
        with sim.lock:
            sim._calls.append(operation)
            scripted = sim._take_scripted_error(operation)
            if scripted is None:
                sim._process_all()
        try:
            if scripted is not None:
                raise BedrockError(scripted.code, scripted.message)
            with sim.lock:
                return super().call_action()
        finally:
            sim._deliver_events()

    # -- request helpers ----------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        return dict(json.loads(self.body or "{}"))

    def _path_param(self, name: str) -> str:
        return str(self.uri_match[name])

    def _query(self, *names: str) -> dict[str, Any]:
        query: dict[str, Any] = {name: self.querystring.get(name, [None])[0] for name in names}
        if query.get("maxResults") is not None:
            query["maxResults"] = int(query["maxResults"])
        return query

    # -- customization jobs -------------------------------------------------------------------

    def create_model_customization_job(self) -> str:
        arn = self.bedrock_backend.create_job(self._body())
        return dumps({"jobArn": arn})

    def get_model_customization_job(self) -> str:
        backend = self.bedrock_backend
        return dumps(backend.job_description(backend.find_job(self._path_param("jobIdentifier"))))

    def stop_model_customization_job(self) -> str:
        self.bedrock_backend.stop_job(self._path_param("jobIdentifier"))
        return "{}"

    def list_model_customization_jobs(self) -> str:
        backend = self.bedrock_backend
        query = self._query(*PAGE_PARAMETERS, "creationTimeAfter", "creationTimeBefore", "statusEquals")
        return listed("modelCustomizationJobSummaries", backend.list_jobs(query), backend.job_summary)

    # -- custom models ------------------------------------------------------------------------

    def get_custom_model(self) -> str:
        backend = self.bedrock_backend
        return dumps(backend.model_description(backend.find_model(self._path_param("modelIdentifier"))))

    def delete_custom_model(self) -> str:
        self.bedrock_backend.delete_model(self._path_param("modelIdentifier"))
        return "{}"

    def list_custom_models(self) -> str:
        backend = self.bedrock_backend
        query = self._query(
            *PAGE_PARAMETERS,
            "creationTimeBefore",
            "creationTimeAfter",
            "baseModelArnEquals",
            "foundationModelArnEquals",
            "modelStatus",
        )
        return listed("modelSummaries", backend.list_models(query), backend.model_summary)

    # -- provisioned throughput ---------------------------------------------------------------

    def create_provisioned_model_throughput(self) -> str:
        arn = self.bedrock_backend.create_throughput(self._body())
        return dumps({"provisionedModelArn": arn})

    def get_provisioned_model_throughput(self) -> str:
        backend = self.bedrock_backend
        throughput = backend.find_throughput(self._path_param("provisionedModelId"))
        return dumps(backend.throughput_description(throughput))

    def delete_provisioned_model_throughput(self) -> str:
        self.bedrock_backend.delete_throughput(self._path_param("provisionedModelId"))
        return "{}"

    def list_provisioned_model_throughputs(self) -> str:
        backend = self.bedrock_backend
        query = self._query(
            *PAGE_PARAMETERS, "creationTimeAfter", "creationTimeBefore", "statusEquals", "modelArnEquals"
        )
        return listed(
            "provisionedModelSummaries", backend.list_throughputs(query), backend.throughput_summary
        )

    # -- custom model deployments -------------------------------------------------------------

    def create_custom_model_deployment(self) -> str:
        arn = self.bedrock_backend.create_deployment(self._body())
        return dumps({"customModelDeploymentArn": arn})

    def get_custom_model_deployment(self) -> str:
        backend = self.bedrock_backend
        deployment = backend.find_deployment(self._path_param("customModelDeploymentIdentifier"))
        return dumps(backend.deployment_description(deployment))

    def delete_custom_model_deployment(self) -> str:
        self.bedrock_backend.delete_deployment(self._path_param("customModelDeploymentIdentifier"))
        return "{}"

    def list_custom_model_deployments(self) -> str:
        backend = self.bedrock_backend
        query = self._query(
            *PAGE_PARAMETERS, "createdBefore", "createdAfter", "statusEquals", "modelArnEquals"
        )
        return listed("modelDeploymentSummaries", backend.list_deployments(query), backend.deployment_summary)

    # -- foundation models --------------------------------------------------------------------

    def get_foundation_model(self) -> str:
        backend = self.bedrock_backend
        identifier = self._path_param("modelIdentifier")
        model = backend.foundation_model(identifier)
        if model is None:
            raise not_found(f"Foundation model {identifier} not found")
        return dumps({"modelDetails": model.details(backend.partition, backend.region_name)})

    def get_inference_profile(self) -> str:
        backend = self.bedrock_backend
        identifier = self._path_param("inferenceProfileIdentifier")
        profile = backend.inference_profile(identifier)
        if profile is None:
            raise not_found(f"Inference profile {identifier} not found")
        partition = backend.partition
        return dumps(
            {
                "inferenceProfileName": f"{profile.profile_id.split('.', 1)[0].upper()} {profile.model_id}",
                "inferenceProfileArn": backend._arn(f"inference-profile/{profile.profile_id}"),
                "inferenceProfileId": profile.profile_id,
                # A system profile routes to the model in each of its regions.
                "models": [
                    {"modelArn": f"arn:{partition}:bedrock:{routed}::foundation-model/{profile.model_id}"}
                    for routed in profile.regions
                ],
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED",
            }
        )

    def list_foundation_models(self) -> str:
        backend = self.bedrock_backend
        models = backend.list_foundation_models(
            self._query("byProvider", "byCustomizationType", "byOutputModality", "byInferenceType")
        )
        return dumps({"modelSummaries": [m.details(backend.partition, backend.region_name) for m in models]})
