"""The simulated control plane: what each Bedrock API call does to one account and region."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.bedrock.models import BedrockBackend

from localcloud.bedrock import access, lifecycle
from localcloud.bedrock.errors import BedrockError, conflict, not_found, validation_error
from localcloud.bedrock.resources import (
    COMMITMENT_DAYS,
    JOB_NAME,
    KMS_KEY_ID,
    PHASE_WEIGHTS,
    RESOURCE_NAME,
    TOKEN,
    FoundationModel,
    JobPhase,
    SimCustomModel,
    SimDeployment,
    SimJob,
    SimThroughput,
    check_name,
    check_s3_uri,
    check_tags,
    compact,
    fingerprint,
    iso,
    list_page,
)

# The customization types whose custom models AWS documents as bases of a further fine-tuning
# (continued pre-training: legacy Titan Text, the only models that offer it).
CHAINABLE_PARENTS = ("FINE_TUNING", "DISTILLATION", "CONTINUED_PRE_TRAINING")

if TYPE_CHECKING:
    from localcloud.bedrock.runtime import SystemInferenceProfile
    from localcloud.bedrock.simulator import BedrockSimulator


class SimulatedBedrockBackend(BedrockBackend):
    """One account and region of the simulated Bedrock. All calls hold the simulator's lock."""

    def __init__(self, region_name: str, account_id: str, simulator: BedrockSimulator) -> None:
        super().__init__(region_name, account_id)
        self.sim = simulator
        self.jobs: dict[str, SimJob] = {}
        self.models: dict[str, SimCustomModel] = {}
        self.throughputs: dict[str, SimThroughput] = {}
        self.deployments: dict[str, SimDeployment] = {}
        self._tokens: dict[tuple[str, str], tuple[str, str]] = {}

    # -- identity helpers -------------------------------------------------------------------

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

    def _remember_token(self, operation: str, params: dict[str, Any], arn: str) -> None:
        token = params.get("clientRequestToken")
        if token:
            self._tokens[(operation, token)] = (fingerprint(params), arn)

    def foundation_model(self, identifier: str) -> FoundationModel | None:
        model_id = (
            identifier.split("foundation-model/", 1)[1] if "foundation-model/" in identifier else identifier
        )
        for model in self.sim.foundation_models:
            if model.model_id == model_id and (model.regions is None or self.region_name in model.regions):
                return model
        return None

    def _kms_key_arn(self, key: str | None) -> str | None:
        if key and KMS_KEY_ID.fullmatch(key):
            return f"arn:{self.partition}:kms:{self.region_name}:{self.account_id}:key/{key}"
        return key

    # -- customization jobs -------------------------------------------------------------------

    def find_job(self, identifier: str) -> SimJob:
        for job in self.jobs.values():
            if identifier in (job.job_arn, job.job_name):
                return job
        raise not_found(f"Model customization job {identifier} not found")

    def create_job(self, params: dict[str, Any]) -> str:
        earlier = self._idempotent("CreateModelCustomizationJob", params, "ConflictException")
        if earlier:
            return earlier
        job_name = check_name(params.get("jobName"), JOB_NAME, "jobName")
        model_name = check_name(params.get("customModelName"), RESOURCE_NAME, "customModelName")
        if any(j.job_name == job_name for j in self.jobs.values()):
            raise conflict(f"A model customization job with name {job_name} already exists.")
        if any(m.model_name == model_name for m in self.models.values()) or any(
            j.custom_model_name == model_name and j.status != "Failed" for j in self.jobs.values()
        ):
            raise conflict(f"A custom model with name {model_name} already exists.")
        customization_type = params.get("customizationType") or "FINE_TUNING"
        base_id, base_arn, parent_arn = self._resolve_base_model(
            params.get("baseModelIdentifier", ""), customization_type
        )
        if customization_type == "DISTILLATION":
            access.check_teacher(self, params.get("customizationConfig"))
        training = dict(params.get("trainingDataConfig") or {})
        if "s3Uri" in training:
            check_s3_uri(training["s3Uri"], "trainingDataConfig.s3Uri")
        validation = params.get("validationDataConfig")
        for index, validator in enumerate((validation or {}).get("validators", [])):
            check_s3_uri(validator.get("s3Uri"), f"validationDataConfig.validators.{index}.s3Uri")
        output = dict(params.get("outputDataConfig") or {})
        check_s3_uri(output.get("s3Uri"), "outputDataConfig.s3Uri")
        vpc = params.get("vpcConfig")
        if vpc is not None and not (
            1 <= len(vpc.get("subnetIds", [])) <= 16 and 1 <= len(vpc.get("securityGroupIds", [])) <= 5
        ):
            raise validation_error("vpcConfig needs 1-16 subnetIds and 1-5 securityGroupIds")
        job_tags = check_tags(params.get("jobTags"), "jobTags")
        model_tags = check_tags(params.get("customModelTags"), "customModelTags")
        quota = self.sim.max_concurrent_jobs
        if quota is not None and sum(j.running for j in self.jobs.values()) >= quota:
            raise BedrockError(
                "ServiceQuotaExceededException",
                f"You have reached the maximum number of concurrent model customization jobs ({quota}).",
            )

        script = self.sim._take_job_script(job_name)
        now = self.sim.clock.now()
        duration = (
            script.duration_seconds if script.duration_seconds is not None else self.sim.job_duration_seconds
        )
        job_id = self.sim._new_id()
        job = SimJob(
            job_id=job_id,
            job_arn=self._arn(f"model-customization-job/{base_id}/{job_id}"),
            job_name=job_name,
            custom_model_name=model_name,
            role_arn=params.get("roleArn", ""),
            base_model_id=base_id,
            base_model_arn=base_arn,
            parent_model_arn=parent_arn,
            customization_type=customization_type,
            training_data_config=training,
            validation_data_config=validation,
            output_data_config=output,
            hyper_parameters=dict(params.get("hyperParameters") or {}),
            client_request_token=params.get("clientRequestToken"),
            custom_model_kms_key_id=params.get("customModelKmsKeyId"),
            vpc_config=vpc,
            customization_config=params.get("customizationConfig"),
            job_tags=job_tags,
            custom_model_tags=model_tags,
            script=script,
            creation_time=now,
            due_time=now + timedelta(seconds=duration),
            last_modified_time=now,
        )
        self.jobs[job_id] = job
        self._tag(job.job_arn, job_tags)
        self._remember_token("CreateModelCustomizationJob", params, job.job_arn)
        # Bedrock sends an event on every status change, the first one (InProgress) included.
        self.sim._emit(lifecycle.job_event(self, job))
        return job.job_arn

    def _resolve_base_model(self, identifier: str, customization_type: str) -> tuple[str, str, str | None]:
        """(foundation model id, foundation model ARN, parent custom model ARN or None).

        A custom model ARN customizes that model further where the foundation model allows it
        (fine-tuning on a fine-tuned or distilled model). The job is filed under the foundation
        model (GetModelCustomizationJob's baseModelArn is a FoundationModelArn); the new custom
        model records its parent (GetCustomModel's baseModelArn).
        """
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                foundation = self.foundation_model(model.job.base_model_id)
                allowed = foundation.customizations_of_custom_models if foundation else ()
                if customization_type not in allowed or model.job.customization_type not in CHAINABLE_PARENTS:
                    raise validation_error(
                        f"The custom model {model.model_name} ({model.job.customization_type} of "
                        f"{model.job.base_model_id}) cannot be used as the base model of a "
                        f"{customization_type} job."
                    )
                return model.job.base_model_id, model.job.base_model_arn, model.model_arn
        foundation = self.foundation_model(identifier)
        if foundation is None:
            raise validation_error(f"The provided model identifier is invalid: {identifier}")
        if customization_type not in foundation.customizations_supported:
            raise validation_error(f"The model {foundation.model_id} does not support {customization_type}.")
        return foundation.model_id, foundation.arn(self.partition, self.region_name), None

    def inference_profile(self, identifier: str) -> SystemInferenceProfile | None:
        """The system inference profile named by id or ARN, if it can be used from this region."""
        profile_id = identifier.split("inference-profile/", 1)[-1]
        for profile in self.sim.inference_profiles:
            if profile.profile_id == profile_id and self.region_name in profile.regions:
                return profile
        return None

    def stop_job(self, identifier: str) -> None:
        job = self.find_job(identifier)
        if job.status == "Stopping":
            return
        if job.status != "InProgress":
            raise validation_error(
                f"Model customization job {job.job_name} cannot be stopped: it is {job.status}."
            )
        now = self.sim.clock.now()
        job.status = "Stopping"
        job.stop_requested_time = now
        job.stop_due_time = now + timedelta(seconds=self.sim.stop_delay_seconds)
        job.last_modified_time = now
        self.sim._emit(lifecycle.job_event(self, job))

    def job_description(self, job: SimJob) -> dict[str, Any]:
        return compact(
            {
                "jobArn": job.job_arn,
                "jobName": job.job_name,
                "outputModelName": job.custom_model_name,
                "outputModelArn": job.output_model_arn,
                "clientRequestToken": job.client_request_token,
                "roleArn": job.role_arn,
                "status": job.status,
                "statusDetails": self._status_details(job),
                "failureMessage": job.failure_message,
                "creationTime": job.creation_time,
                "lastModifiedTime": job.last_modified_time,
                "endTime": job.end_time,
                "baseModelArn": job.base_model_arn,
                "hyperParameters": job.hyper_parameters,
                "trainingDataConfig": job.training_data_config,
                "validationDataConfig": job.validation_data_config or {"validators": []},
                "outputDataConfig": job.output_data_config,
                "customizationType": job.customization_type,
                "outputModelKmsKeyArn": self._kms_key_arn(job.custom_model_kms_key_id),
                "trainingMetrics": {"trainingLoss": job.training_loss}
                if job.training_loss is not None
                else None,
                "validationMetrics": (
                    [{"validationLoss": job.validation_loss}] * len(job.validation_data_config["validators"])
                    if job.validation_loss is not None and job.validation_data_config
                    else None
                ),
                "vpcConfig": job.vpc_config,
                "customizationConfig": job.customization_config,
            }
        )

    def job_summary(self, job: SimJob) -> dict[str, Any]:
        return compact(
            {
                "jobArn": job.job_arn,
                "baseModelArn": job.base_model_arn,
                "jobName": job.job_name,
                "status": job.status,
                "statusDetails": self._status_details(job),
                "lastModifiedTime": job.last_modified_time,
                "creationTime": job.creation_time,
                "endTime": job.end_time,
                "customModelArn": job.output_model_arn,
                "customModelName": job.custom_model_name,
                "customizationType": job.customization_type,
            }
        )

    def _phase_windows(self, job: SimJob) -> list[tuple[JobPhase, datetime, datetime]]:
        """Start and end of each phase that runs, scaled to end at the job's due time."""
        phases = list(PHASE_WEIGHTS)
        if job.script.outcome == "Failed":
            names = [name for name, _ in phases]
            phases = phases[: names.index(job.script.failure_phase) + 1]
        total_weight = sum(weight for _, weight in phases)
        span = job.due_time - job.creation_time
        windows = []
        start = job.creation_time
        for name, weight in phases:
            end = start + span * (weight / total_weight)
            windows.append((name, start, end))
            start = end
        return windows

    def _status_details(self, job: SimJob) -> dict[str, Any]:
        """Per-phase status: phases before the current one Completed, later ones NotStarted."""
        windows = self._phase_windows(job)
        # Where the job is (or stopped making progress): now, a stop request or its end.
        halted = job.stop_requested_time or job.end_time
        moment = min(self.sim.clock.now(), halted) if halted else self.sim.clock.now()
        current = len(windows) - 1
        for index, (_, start, end) in enumerate(windows):
            if start <= moment < end:
                current = index
                break
        current_status = {"Stopping": "Stopping", "Stopped": "Stopped", "Failed": "Failed"}.get(
            job.status, "InProgress"
        )
        details: dict[str, Any] = {}
        for index, (name, _) in enumerate(PHASE_WEIGHTS):
            if job.status == "Completed" or index < current:
                status = "Completed"
            elif index == current and index < len(windows):
                status = current_status
            else:
                status = "NotStarted"
            entry: dict[str, Any] = {"status": status}
            if status != "NotStarted":
                _, start, end = windows[index]
                entry["creationTime"] = start
                entry["lastModifiedTime"] = min(end, moment) if status != "Completed" else end
            details[f"{name}Details"] = entry
        return details

    def list_jobs(self, query: dict[str, Any]) -> tuple[list[SimJob], str | None]:
        return list_page(self.jobs.values(), query, name=lambda j: j.job_name)

    # -- custom models ------------------------------------------------------------------------

    def find_model(self, identifier: str) -> SimCustomModel:
        for model in self.models.values():
            if identifier in (model.model_arn, model.model_name):
                return model
        raise not_found(f"Custom model {identifier} not found")

    def delete_model(self, identifier: str) -> None:
        model = self.find_model(identifier)
        users = [t.name for t in self.throughputs.values() if t.model_arn == model.model_arn] + [
            d.name
            for d in self.deployments.values()
            if d.model_arn == model.model_arn and d.status != "Failed"
        ]
        if users:
            raise conflict(f"Custom model {model.model_name} is in use by {', '.join(users)}.")
        del self.models[model.model_id]

    def model_description(self, model: SimCustomModel) -> dict[str, Any]:
        job = model.job
        return compact(
            {
                "modelArn": model.model_arn,
                "modelName": model.model_name,
                "jobName": job.job_name,
                "jobArn": job.job_arn,
                "baseModelArn": job.parent_model_arn or job.base_model_arn,
                "customizationType": job.customization_type,
                "modelKmsKeyArn": model.model_kms_key_arn,
                "hyperParameters": job.hyper_parameters,
                "trainingDataConfig": job.training_data_config,
                "validationDataConfig": job.validation_data_config,
                "outputDataConfig": job.output_data_config,
                "trainingMetrics": {"trainingLoss": job.training_loss},
                "validationMetrics": self.job_description(job).get("validationMetrics"),
                "creationTime": model.creation_time,
                "customizationConfig": job.customization_config,
                "modelStatus": model.status,
            }
        )

    def model_summary(self, model: SimCustomModel) -> dict[str, Any]:
        return compact(
            {
                "modelArn": model.model_arn,
                "modelName": model.model_name,
                "creationTime": model.creation_time,
                "baseModelArn": model.job.parent_model_arn or model.job.base_model_arn,
                "baseModelName": model.job.base_model_id.split(":")[0],
                "customizationType": model.job.customization_type,
                "ownerAccountId": self.account_id,
                "modelStatus": model.status,
            }
        )

    def list_models(self, query: dict[str, Any]) -> tuple[list[SimCustomModel], str | None]:
        return list_page(
            self.models.values(),
            query,
            name=lambda m: m.model_name,
            status_key="modelStatus",
            filters=[
                (
                    "baseModelArnEquals",
                    lambda m, arn: (m.job.parent_model_arn or m.job.base_model_arn) == arn,
                ),
                (
                    "foundationModelArnEquals",
                    lambda m, arn: (
                        m.job.base_model_arn == arn or m.job.base_model_arn.endswith(f"/{arn.split('/')[-1]}")
                    ),
                ),
            ],
        )

    # -- provisioned throughput ---------------------------------------------------------------

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
        script = self.sim._take_provisioning_script(self.sim._throughput_scripts, name)
        now = self.sim.clock.now()
        delay = (
            script.delay_seconds if script.delay_seconds is not None else self.sim.throughput_delay_seconds
        )
        throughput_id = self.sim._new_id()
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
            due_time=now + timedelta(seconds=delay),
            last_modified_time=now,
        )
        self.throughputs[throughput_id] = throughput
        self._tag(throughput.arn, tags)
        self._remember_token("CreateProvisionedModelThroughput", params, throughput.arn)
        return throughput.arn

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

    # -- custom model deployments -------------------------------------------------------------

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
        script = self.sim._take_provisioning_script(self.sim._deployment_scripts, name)
        now = self.sim.clock.now()
        delay = (
            script.delay_seconds if script.delay_seconds is not None else self.sim.deployment_delay_seconds
        )
        deployment_id = self.sim._new_id()
        deployment = SimDeployment(
            deployment_id=deployment_id,
            arn=self._arn(f"custom-model-deployment/{deployment_id}"),
            name=name,
            model_arn=model.model_arn,
            description=params.get("description"),
            script=script,
            creation_time=now,
            due_time=now + timedelta(seconds=delay),
            last_updated_time=now,
        )
        self.deployments[deployment_id] = deployment
        self._tag(deployment.arn, tags)
        self._remember_token("CreateCustomModelDeployment", params, deployment.arn)
        return deployment.arn

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

    # -- foundation models --------------------------------------------------------------------

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

    # -- time ---------------------------------------------------------------------------------

    def process(self, now: datetime) -> None:
        """Apply every transition due at ``now`` (``lifecycle``)."""
        lifecycle.process(self, now)
