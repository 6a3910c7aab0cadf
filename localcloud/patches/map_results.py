"""The Distributed Map's ResultWriter as AWS runs it (patch 15 of ``localcloud.patches``; the map
run itself is in ``localcloud.patches.distributed_map``).

Its Parameters are evaluated against the state's input (moto used the children's outputs, so a
``Prefix.$`` on the run id failed). AWS writes the child executions by status to
``<Prefix>/<map run id>/SUCCEEDED_<n>.json`` and ``FAILED_<n>.json`` (execution ARN, input,
output or error and cause; WriterConfig picks JSON or JSONL and the transformation) and a
``manifest.json`` listing them; the state's output is ``{"MapRunArn", "ResultWriterDetails":
{"Bucket", "Key"}}``.
"""

from __future__ import annotations

import json
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import (
    ResultWriter,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

from localcloud.clock import SimClock
from localcloud.patches.base import Patch
from localcloud.patches.distributed_map import (
    MAP_STATE_ATTRIBUTE,
    described,
    map_run_patches,
    run_of,
    timeline_patches,
    transformed,
)
from localcloud.patches.map_definition import parser_patches


def distributed_map_patches(clock: SimClock | None) -> list[Patch]:
    """Patches 12 to 15: the definition, the map run on the simulated clock, the ResultWriter."""
    return [*parser_patches(), *map_run_patches(clock), *result_writer_patches(), *timeline_patches(clock)]


def _result_file(entries: list[Any], output_type: str) -> bytes:
    if output_type == "JSONL":
        return "".join(json.dumps(entry) + "\n" for entry in entries).encode("utf-8")
    return json.dumps(entries).encode("utf-8")


def _write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    parameters = env.stack.pop()
    env.stack.pop()  # the children's outputs: the files are written from the run's record
    s3 = ResourceEvalS3._get_s3_client(
        resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
    )
    record = env.map_run_record_pool_manager.get_all().pop()
    run = run_of(record)
    map_run_id = record.map_run_arn.split(":")[-1]
    prefix = str(parameters.get("Prefix") or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    bucket = parameters["Bucket"]
    writer = (run.stashed.writer_config if run is not None else None) or {}
    output_type = str(writer.get("OutputType") or "JSON")
    transformation = str(writer.get("Transformation") or "NONE")
    extension = "jsonl" if output_type == "JSONL" else "json"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, wanted in (("SUCCEEDED", ("SUCCEEDED",)), ("FAILED", ("FAILED", "ABORTED"))):
        children = [c for c in (run.children if run is not None else []) if c.status in wanted]
        if not children:
            continue
        if status == "SUCCEEDED" and transformation != "NONE":
            entries = transformed([c.output for c in children], writer)
        else:  # failed children are always described in full (as NONE)
            entries = [described(c, run) for c in children]
        key = f"{prefix}{map_run_id}/{status}_0.{extension}"
        body = _result_file(entries, output_type)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
    manifest_key = f"{prefix}{map_run_id}/manifest.json"
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest, indent=2).encode("utf-8"))
    env.stack.append(
        {"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}
    )


def result_writer_patches() -> list[Patch]:
    """The Map state remembers itself and its input while it runs: the payload limit needs to
    know whether it has a ResultWriter, and AWS evaluates the ResultWriter's Parameters (a
    ``Prefix.$`` on the run id) against the state's input, where moto uses the children's
    outputs."""
    original = StateMap._eval_execution

    def eval_execution(state: Any, env: Any) -> None:
        setattr(env, MAP_STATE_ATTRIBUTE, (state, env.states.get_input()))
        try:
            original(state, env)
        finally:
            setattr(env, MAP_STATE_ATTRIBUTE, None)

    def result_writer_eval_body(writer: Any, env: Any) -> None:
        _, state_input = getattr(env, MAP_STATE_ATTRIBUTE, None) or (None, None)
        if state_input is None:
            writer.parargs.eval(env=env)
        else:
            # Paths (intrinsic functions' included) read the top of the stack and the states' input.
            current = env.states.get_input()
            env.states.reset(input_value=state_input)
            env.stack.append(state_input)
            try:
                writer.parargs.eval(env=env)
                parameters = env.stack.pop()
                env.stack.pop()
                env.stack.append(parameters)
            finally:
                env.states.reset(input_value=current)
        writer.resource_eval.eval_resource(env=env)

    return [
        Patch(ResourceEvalS3, "_handle_put_object", staticmethod(_write_results)),
        Patch(StateMap, "_eval_execution", eval_execution),
        Patch(ResultWriter, "_eval_body", result_writer_eval_body),
    ]
