"""Customization jobs and the custom models they create, as the control plane API sees them:
create (with Bedrock's checks of names, base model, teacher, data locations and quota), stop,
describe and list jobs; describe, list and delete custom models. What time does to a job is
``lifecycle``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from localcloud.bedrock import access, lifecycle
from localcloud.bedrock.account import BedrockAccount
from localcloud.bedrock.errors import BedrockError, conflict, not_found, validation_error
from localcloud.bedrock.resources import (
    JOB_NAME,
    PHASE_WEIGHTS,
    RESOURCE_NAME,
    SimCustomModel,
    SimJob,
    check_name,
    check_s3_uri,
    check_tags,
    compact,
    list_page,
)

# The customization types whose custom models AWS documents as bases of a further fine-tuning
# (continued pre-training: legacy Titan Text, the only models that offer it).
CHAINABLE_PARENTS = ("FINE_TUNING", "DISTILLATION", "CONTINUED_PRE_TRAINING")


class CustomizationControl(BedrockAccount):
    """Customization jobs and custom models of one account and region."""

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
        self._created("CreateModelCustomizationJob", params, job.job_arn, job_tags)
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

    def _status_details(self, job: SimJob) -> dict[str, Any]:
        """Per-phase status: phases before the current one Completed, later ones NotStarted."""
        windows = lifecycle.phase_windows(job)
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
