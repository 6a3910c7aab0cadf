"""``aws-sdk:`` and forwarded optimized integrations (patch 2 of ``localcloud.patches``).

moto passes the state's PascalCase parameters straight to boto3 and cannot serialise datetimes
in results; errors come out as ``DynamoDb.DynamoDbException`` instead of
``<Service>.<ErrorCode>``. Parameters, responses and errors are mapped through the botocore
operation model as AWS does.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.response import StreamingBody
from botocore.session import get_session
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from localcloud.patches.base import Patch

# Service names Step Functions uses in aws-sdk error names where plain capitalisation is wrong.
_SFN_ERROR_SERVICE_NAMES = {"dynamodb": "DynamoDb", "sfn": "Sfn", "stepfunctions": "Sfn"}

_OPERATIONS: dict[str, dict[str, OperationModel]] = {}
_OPERATIONS_LOCK = threading.Lock()


def _operation_model(service: str, snake_action: str) -> OperationModel | None:
    with _OPERATIONS_LOCK:
        if service not in _OPERATIONS:
            try:
                model = get_session().get_service_model(service)
            except Exception:
                return None
            _OPERATIONS[service] = {
                xform_name(name): model.operation_model(name) for name in model.operation_names
            }
        return _OPERATIONS[service].get(snake_action)


def _member_for(key: str, shape: StructureShape) -> tuple[str, Shape] | None:
    if key in shape.members:
        return key, shape.members[key]
    lowered = key.lower()
    for name, member in shape.members.items():
        if name.lower() == lowered:
            return name, member
    return None


def to_boto_params(value: Any, shape: Shape | None) -> Any:
    """Rename ASL's PascalCase keys to the botocore member names and coerce scalar types."""
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            match = _member_for(key, shape)
            if match is None:
                converted[key] = item  # unknown: let botocore/the service reject it
            else:
                converted[match[0]] = to_boto_params(item, match[1])
        return converted
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_boto_params(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_boto_params(item, shape.value) for key, item in value.items()}
    if shape.type_name == "string" and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    if shape.type_name == "blob" and not isinstance(value, bytes):
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return text.encode("utf-8")
    return value


def _sfn_case(key: str) -> str:
    return key[:1].upper() + key[1:]


def to_sfn_result(value: Any, shape: Shape | None) -> Any:
    """Render a boto3 response as Step Functions does: PascalCase members, JSON-safe values."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, StreamingBody):
        value = value.read()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        if isinstance(shape, StructureShape):
            return {
                _sfn_case(key): to_sfn_result(item, shape.members.get(key)) for key, item in value.items()
            }
        value_shape = shape.value if isinstance(shape, MapShape) else None
        return {key: to_sfn_result(item, value_shape) for key, item in value.items()}
    if isinstance(value, list):
        member = shape.member if isinstance(shape, ListShape) else None
        return [to_sfn_result(item, member) for item in value]
    return value


def _normalise_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    if operation is None or operation.input_shape is None:
        return
    converted = to_boto_params(parameters, operation.input_shape)
    parameters.clear()
    parameters.update(converted)


def _normalise_response(
    self: Any,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    if not isinstance(response, dict):
        return
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    converted = to_sfn_result(response, operation.output_shape if operation else None)
    response.clear()
    response.update(converted)


def sfn_error_name(service: str, error_code: str) -> str:
    """``ServiceName.ErrorNameException`` as Step Functions reports SDK integration errors."""
    prefix = _SFN_ERROR_SERVICE_NAMES.get(service.lower(), _sfn_case(service))
    suffix = "" if error_code.endswith("Exception") else "Exception"
    return f"{prefix}.{error_code}{suffix}"


def _client_error_failure(task: Any, env: Any, ex: ClientError) -> FailureEvent:
    service = str(task.resource.api_name)
    error = sfn_error_name(service, ex.response.get("Error", {}).get("Code", "Unknown"))
    metadata = ex.response.get("ResponseMetadata", {})
    cause = (
        f"{ex.response.get('Error', {}).get('Message', '')} (Service: {error.split('.')[0]}, "
        f"Status Code: {metadata.get('HTTPStatusCode')}, Request ID: {metadata.get('RequestId')})"
    )
    return FailureEvent(
        env=env,
        error_name=ErrorName(error_name=error),
        event_type=HistoryEventType.TaskFailed,
        # EventDetails is a total TypedDict in moto's stubs; AWS sends exactly one member.
        event_details=cast(
            EventDetails,
            {
                "taskFailedEventDetails": TaskFailedEventDetails(
                    resource=task._get_sfn_resource(),
                    resourceType=task._get_sfn_resource_type(),
                    error=error,
                    cause=cause,
                )
            },
        ),
    )


def _from_error_of(cls: type) -> Callable[[Any, Any, Exception], Any]:
    original = cls._from_error  # type: ignore[attr-defined]

    def from_error(task: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            return _client_error_failure(task, env, ex)
        return original(task, env, ex)

    return from_error


def sdk_patches() -> list[Patch]:
    return [
        Patch(StateTaskServiceAwsSdk, "_normalise_parameters", _normalise_parameters),
        Patch(StateTaskServiceAwsSdk, "_normalise_response", _normalise_response),
        Patch(StateTaskServiceAwsSdk, "_from_error", _from_error_of(StateTaskServiceAwsSdk)),
        Patch(StateTaskServiceUnsupported, "_normalise_parameters", _normalise_parameters),
        Patch(StateTaskServiceUnsupported, "_normalise_response", _normalise_response),
        Patch(StateTaskServiceUnsupported, "_from_error", _from_error_of(StateTaskServiceUnsupported)),
    ]
