"""How a custom model is served, as the control plane API sees it: provisioned throughput
(model units, optional commitment) and on-demand custom model deployments: create (with the
checks Bedrock makes, the model's key included), describe, list and delete. Invoking a served
model is ``runtime``; what time does to them is ``lifecycle``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from localcloud.bedrock import access
from localcloud.bedrock.account import BedrockAccount
from localcloud.bedrock.errors import not_found, validation_error
from localcloud.bedrock.resources import (
    COMMITMENT_DAYS,
    RESOURCE_NAME,
    ProvisioningScript,
    SimDeployment,
    SimThroughput,
    check_name,
    check_tags,
    compact,
    iso,
    list_page,
)


class ServingControl(BedrockAccount):
    """Provisioned throughputs and custom model deployments of one account and region."""

    def _schedule(
        self, scripts: dict[str | None, list[ProvisioningScript]], name: str, default_delay: float
    ) -> tuple[ProvisioningScript, datetime, datetime, str]:
        """A new throughput or deployment's script, creation time, due time and id."""
        script = self.sim._take_provisioning_script(scripts, name)
        now = self.sim.clock.now()
        delay = script.delay_seconds if script.delay_seconds is not None else default_delay
        return script, now, now + timedelta(seconds=delay), self.sim._new_id()

    def find_throughput(self, identifier: str) -> SimThroughput:
        for throughput in self.throughputs.values():
            if identifier in (throughput.arn, throughput.name):
                return throughput
        raise not_found(f"Provisioned model {identifier} not found")

    def _resolve_served_model(self, identifier: str) -> tuple[str, str]:
        """(model ARN, foundation model ARN) of a custom or foundation model."""
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                return model.model_arn, model.job.base_model_arn  # the foundation model, even when chained
        foundation = self.foundation_model(identifier)
        if foundation is not None and "PROVISIONED" in foundation.inference_types_supported:
            arn = foundation.arn(self.partition, self.region_name)
            return arn, arn
        raise not_found(f"Model {identifier} not found")

    def create_throughput(self, params: dict[str, Any]) -> str:
        earlier = self._idempotent("CreateProvisionedModelThroughput", params, "ValidationException")
        if earlier:
            return earlier
        name = check_name(params.get("provisionedModelName"), RESOURCE_NAME, "provisionedModelName")
        units = params.get("modelUnits")
        if not isinstance(units, int) or units < 1:
            raise validation_error("modelUnits must be an integer of at least 1")
        commitment = params.get("commitmentDuration")
        if commitment is not None and commitment not in COMMITMENT_DAYS:
            raise validation_error(f"Invalid commitmentDuration: {commitment}")
        if any(t.name == name for t in self.throughputs.values()):
            raise validation_error(f"A provisioned model with name {name} already exists.")
        model_arn, foundation_arn = self._resolve_served_model(str(params.get("modelId", "")))
        access.check_model_key(self, model_arn)
        tags = check_tags(params.get("tags"), "tags")
        script, now, due, throughput_id = self._schedule(
            self.sim._throughput_scripts, name, self.sim.throughput_delay_seconds
        )
        throughput = SimThroughput(
            throughput_id=throughput_id,
            arn=self._arn(f"provisioned-model/{throughput_id}"),
            name=name,
            model_arn=model_arn,
            foundation_model_arn=foundation_arn,
            model_units=units,
            commitment_duration=commitment,
            script=script,
            creation_time=now,
            due_time=due,
            last_modified_time=now,
        )
        self.throughputs[throughput_id] = throughput
        return self._created("CreateProvisionedModelThroughput", params, throughput.arn, tags)

    def delete_throughput(self, identifier: str) -> None:
        throughput = self.find_throughput(identifier)
        expiry = throughput.commitment_expiration_time
        if expiry is not None and self.sim.clock.now() < expiry:
            raise validation_error(
                f"Provisioned model {throughput.name} has a commitment term until {iso(expiry)} "
                "and cannot be deleted before it ends."
            )
        del self.throughputs[throughput.throughput_id]

    @staticmethod
    def throughput_summary(throughput: SimThroughput) -> dict[str, Any]:
        return compact(
            {
                "provisionedModelName": throughput.name,
                "provisionedModelArn": throughput.arn,
                "modelArn": throughput.model_arn,
                "desiredModelArn": throughput.model_arn,
                "foundationModelArn": throughput.foundation_model_arn,
                "modelUnits": throughput.model_units,
                "desiredModelUnits": throughput.model_units,
                "status": throughput.status,
                "commitmentDuration": throughput.commitment_duration,
                "commitmentExpirationTime": throughput.commitment_expiration_time,
                "creationTime": throughput.creation_time,
                "lastModifiedTime": throughput.last_modified_time,
            }
        )

    def throughput_description(self, throughput: SimThroughput) -> dict[str, Any]:
        return compact({**self.throughput_summary(throughput), "failureMessage": throughput.failure_message})

    def list_throughputs(self, query: dict[str, Any]) -> tuple[list[SimThroughput], str | None]:
        return list_page(
            self.throughputs.values(),
            query,
            name=lambda t: t.name,
            filters=[("modelArnEquals", lambda t, arn: t.model_arn == arn)],
        )

    def find_deployment(self, identifier: str) -> SimDeployment:
        for deployment in self.deployments.values():
            if identifier in (deployment.arn, deployment.name):
                return deployment
        raise not_found(f"Custom model deployment {identifier} not found")

    def create_deployment(self, params: dict[str, Any]) -> str:
        earlier = self._idempotent("CreateCustomModelDeployment", params, "ValidationException")
        if earlier:
            return earlier
        name = check_name(params.get("modelDeploymentName"), RESOURCE_NAME, "modelDeploymentName")
        if any(d.name == name for d in self.deployments.values()):
            raise validation_error(f"A custom model deployment with name {name} already exists.")
        model = self.find_model(str(params.get("modelArn", "")))
        foundation = self.foundation_model(model.job.base_model_id)
        if foundation is None or not foundation.supports_custom_model_deployment:
            raise validation_error(
                f"On-demand deployment is not supported for models customized from {model.job.base_model_id}."
            )
        access.check_model_key(self, model.model_arn)
        tags = check_tags(params.get("tags"), "tags")
        script, now, due, deployment_id = self._schedule(
            self.sim._deployment_scripts, name, self.sim.deployment_delay_seconds
        )
        deployment = SimDeployment(
            deployment_id=deployment_id,
            arn=self._arn(f"custom-model-deployment/{deployment_id}"),
            name=name,
            model_arn=model.model_arn,
            description=params.get("description"),
            script=script,
            creation_time=now,
            due_time=due,
            last_updated_time=now,
        )
        self.deployments[deployment_id] = deployment
        return self._created("CreateCustomModelDeployment", params, deployment.arn, tags)

    def delete_deployment(self, identifier: str) -> None:
        deployment = self.find_deployment(identifier)
        del self.deployments[deployment.deployment_id]

    @staticmethod
    def deployment_description(deployment: SimDeployment) -> dict[str, Any]:
        return compact(
            {
                "customModelDeploymentArn": deployment.arn,
                "modelDeploymentName": deployment.name,
                "modelArn": deployment.model_arn,
                "createdAt": deployment.creation_time,
                "status": deployment.status,
                "description": deployment.description,
                "failureMessage": deployment.failure_message,
                "lastUpdatedAt": deployment.last_updated_time,
            }
        )

    @staticmethod
    def deployment_summary(deployment: SimDeployment) -> dict[str, Any]:
        return compact(
            {
                "customModelDeploymentArn": deployment.arn,
                "customModelDeploymentName": deployment.name,
                "modelArn": deployment.model_arn,
                "createdAt": deployment.creation_time,
                "status": deployment.status,
                "lastUpdatedAt": deployment.last_updated_time,
                "failureMessage": deployment.failure_message,
            }
        )

    def list_deployments(self, query: dict[str, Any]) -> tuple[list[SimDeployment], str | None]:
        return list_page(
            self.deployments.values(),
            query,
            name=lambda d: d.name,
            created_keys=("createdAfter", "createdBefore"),
            filters=[("modelArnEquals", lambda d, arn: d.model_arn == arn)],
        )
