"""The throughput of a Complete custom model: ``PUT`` and ``DELETE /custom-models/{id}/throughput``.

The registry stays the source of truth: a throughput created here is recorded on the run's
``serving`` field, exactly where the workflow records the throughput it creates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bmc.api.config import ApiSettings
from bmc.api.errors import ConflictError, bedrock_refusal
from bmc.api.models import CustomModel, api_status
from bmc.api.views import RUNNING, SERVING_DELETED, active_serving, model_view
from bmc.aws.bedrock_ops import PROVISIONED, BedrockOps, resource_tags
from bmc.aws.registry import COMPLETED, IN_SERVICE, Registry, timestamp
from bmc.errors import BedrockError
from bmc.runspec import RunNames, RunSpec
from bmc.workflow.serving import CREATING, delete_expiry_schedule, delete_recorded_serving


class Throughputs:
    """The throughput endpoints, for one caller: ``require`` returns a model's record if the
    caller may see it (a 404 otherwise), as ``CustomModels.require`` does."""

    def __init__(
        self,
        config: ApiSettings,
        *,
        registry: Registry,
        bedrock: BedrockOps,
        require: Callable[[str], dict[str, Any]],
    ) -> None:
        self.config = config
        self.registry = registry
        self.bedrock = bedrock
        self._require = require

    # PUT /custom-models/{id}/throughput

    def create(self, model_id: str, model_units: int) -> CustomModel:
        record = self._require(model_id)
        self._check_can_serve(model_id, record)
        names = RunNames.from_dict(record["names"])
        name = names.provisioned_model_name
        claimed = self.registry.claim_serving(
            model_id,
            {"kind": PROVISIONED, "name": name, "arn": None, "status": CREATING, "modelUnits": model_units},
            from_statuses=(COMPLETED, IN_SERVICE),
            replaceable=(SERVING_DELETED,),
        )
        if not claimed:
            # Another request changed the model in between: report what it is now.
            self._check_can_serve(model_id, self._require(model_id))
            raise ConflictError(f"custom model {model_id} cannot get a throughput now; retry")
        try:
            arn = self.bedrock.create_throughput(
                name=name,
                model_arn=str(record["customModelArn"]),
                model_units=model_units,
                commitment="none",
                tags=resource_tags(RunSpec.from_dict(record["spec"]), model_id, self.config.prefix),
                # A new token per accepted request: a name deleted earlier may be used again.
                token=f"{name}-{uuid.uuid4().hex[:8]}",
            )
        except BedrockError as exc:
            self.registry.update(model_id, remove=("serving",))
            raise bedrock_refusal(exc, "create the throughput") from exc
        return model_view(self.registry.update(model_id, fields={"serving.arn": arn}))

    @staticmethod
    def _check_can_serve(model_id: str, record: Mapping[str, Any]) -> None:
        status = api_status(str(record.get("status")))
        if status != "Complete" or not record.get("customModelArn") or not record.get("names"):
            raise ConflictError(
                f"custom model {model_id} is {status}: only a Complete model can get a throughput"
            )
        serving = active_serving(record)
        if serving:
            raise ConflictError(
                f"custom model {model_id} already has a {serving.get('kind')} throughput "
                f"({serving.get('status')})"
            )

    # DELETE /custom-models/{id}/throughput

    def delete(self, model_id: str) -> CustomModel:
        record = self._require(model_id)
        if active_serving(record) is None:
            return model_view(record)
        if record.get("status") in RUNNING:
            raise ConflictError(
                f"custom model {model_id} is still being created; its throughput follows the workflow"
            )
        self.delete_serving(model_id, record)
        return model_view(self.registry.require(model_id))

    def delete_serving(self, model_id: str, record: Mapping[str, Any]) -> None:
        """Delete the serving the record names and its expiry schedule; record it deleted."""
        serving = active_serving(record)
        if serving is None:
            return
        try:
            delete_recorded_serving(serving, self.bedrock)
        except BedrockError as exc:
            raise bedrock_refusal(exc, "delete the throughput") from exc
        schedule = serving.get("scheduleName")
        if schedule and self.config.schedule_group:
            delete_expiry_schedule(str(schedule), self.config.schedule_group)
        fields = {"serving.status": SERVING_DELETED, "serving.deletedAt": timestamp()}
        if record.get("status") == IN_SERVICE:
            self.registry.transition(
                model_id, COMPLETED, detail="throughput deleted through the API", fields=fields
            )
        else:
            self.registry.update(model_id, fields=fields)
