"""The Distributed Map as AWS runs it (patches 12 to 15 of ``localcloud.patches``).

moto 5.2.5 runs a DISTRIBUTED Map with an S3 ItemReader, but its ANTLR grammar (a port of
LocalStack's) refuses ``"ExecutionType": "EXPRESS"``, ``ItemBatcher``, ``ResultWriter.
WriterConfig`` and an integer ``ToleratedFailurePercentage`` (CDK renders ``5``), and its
interpreter ignores the tolerated failure thresholds, swallows failed child executions and
writes an empty result manifest. The synthesized definition is run unchanged with AWS's
semantics this way:

12. Definition preprocessor: ``localcloud.patches.map_definition``.
13. The map run (``DistributedIterationComponent._map_run``). AWS applies ItemSelector to each
    item, then batches items into child inputs ``{"BatchInput": {...}, "Items": [...]}``
    (MaxItemsPerBatch[Path], MaxInputBytesPerBatch[Path]; BatchInput is a payload template on
    the state's input), and a child's input may not exceed 256 KiB (States.DataLimitExceeded).
    Children run at most MaxConcurrency at a time. A failed child is counted, not swallowed;
    when failed children exceed ToleratedFailureCount or ToleratedFailurePercentage (of the
    children started, which are batches with an ItemBatcher) the map run stops and fails with
    States.ExceedToleratedFailureThreshold. An EXPRESS child fails with States.Timeout after 5
    minutes.
14. Simulated concurrency. Each child runs on its own timeline of the simulated clock (its
    Lambda calls, Bedrock latencies and backoffs advance only its time, on whichever of moto's
    threads they run: ``threading`` in its interpreter modules is replaced); when the map run
    ends, the shared clock advances by the time the children took with MaxConcurrency slots
    (each child starts on the slot that frees first, in item order). Records per simulated
    second then measure the concurrency the definition asks for.
15. ResultWriter: ``localcloud.patches.map_results`` (which also installs 12 to 15).
"""

from __future__ import annotations

import heapq
import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from moto.stepfunctions.parser.api import HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.program import program
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import inline_iteration_component
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
from moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency import (
    DEFAULT_MAX_CONCURRENCY_VALUE,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branch_worker
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped
from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData
from moto.stepfunctions.parser.asl.utils.json_path import extract_json

from localcloud.clock import SimClock
from localcloud.patches.base import Patch
from localcloud.patches.map_definition import ORIGINAL_PARSE, StashedFields

MAX_PAYLOAD_BYTES = 256 * 1024  # a state's input or output, and a child's input
EXPRESS_MAX_SECONDS = 300.0
DEFAULT_MAX_ITEMS_PER_BATCH = 0  # no limit by count


# --------------------------------------------------------------------------------------------
# 13 and 14. The map run
# --------------------------------------------------------------------------------------------


@dataclass
class ChildExecution:
    """One child execution as the ResultWriter reports it."""

    index: int
    name: str
    input: Any
    status: str = "RUNNING"  # SUCCEEDED | FAILED | ABORTED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    seconds: float = 0.0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    stopped: datetime | None = None


class MapRun:
    """The children of one map run, their outcomes and the tolerated failures."""

    def __init__(
        self,
        record: Any,
        *,
        stashed: StashedFields,
        inputs: Sequence[Any],
        tolerated_count: int,
        tolerated_percentage: float,
        clock: SimClock | None,
    ) -> None:
        self.record = record
        self.stashed = stashed
        self.children = [
            ChildExecution(index, f"{uuid.uuid4()}", child_input) for index, child_input in enumerate(inputs)
        ]
        self.tolerated_count = tolerated_count
        self.tolerated_percentage = tolerated_percentage
        self.clock = clock
        self.lock = threading.Lock()
        self._running = 0
        self._idle = threading.Condition(self.lock)

    def started(self) -> None:
        with self.lock:
            self._running += 1

    def finished(self) -> None:
        with self.lock:
            self._running -= 1
            self._idle.notify_all()

    def wait_until_idle(self) -> None:
        with self.lock:
            self._idle.wait_for(lambda: self._running == 0)

    @property
    def express(self) -> bool:
        return self.stashed.execution_type == "EXPRESS"

    def execution_arn(self, child: ChildExecution) -> str:
        return (
            str(self.record.map_state_machine_arn).replace(":stateMachine:", ":execution:") + f":{child.name}"
        )

    def timeline(self) -> Any:
        return self.clock.timeline() if self.clock is not None else nullcontext(None)

    def failed(self) -> int:
        with self.lock:
            return sum(child.status in ("FAILED", "ABORTED") for child in self.children)

    def exceeded(self) -> bool:
        """More failed children than tolerated (the percentage is of all children)."""
        failed = self.failed()
        if failed == 0:
            return False
        over_count = failed > self.tolerated_count
        over_percentage = failed * 100 > self.tolerated_percentage * len(self.children)
        return over_count and over_percentage

    def makespan(self, max_concurrency: int) -> float:
        """Simulated seconds the children took with ``max_concurrency`` slots, in item order."""
        ran = [child.seconds for child in self.children if child.status != "RUNNING"]
        slots = len(ran) if max_concurrency in (0, DEFAULT_MAX_CONCURRENCY_VALUE) else max_concurrency
        finishing: list[float] = [0.0] * max(1, min(slots, len(ran) or 1))
        for seconds in ran:
            start = heapq.heappop(finishing)
            heapq.heappush(finishing, start + seconds)
        return max(finishing)

    def threshold_failure(self, env: Any) -> FailureEventException:
        failed = self.failed()
        cause = (
            f"{failed} of {len(self.children)} child executions failed, more than the tolerated "
            f"count {self.tolerated_count} or {self.tolerated_percentage:g}%"
        )
        return _failure(env, StatesErrorNameType.StatesExceedToleratedFailureThreshold, cause)


RUN_ATTRIBUTE = "_localcloud_run"  # the MapRun of a moto map-run record


def run_of(record: Any) -> MapRun | None:
    run: MapRun | None = getattr(record, RUN_ATTRIBUTE, None)
    return run


def _failure(env: Any, error: StatesErrorNameType, cause: str) -> FailureEventException:
    name = error.to_name()
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(mapRunFailedEventDetails={"error": name, "cause": cause}),  # type: ignore[typeddict-item]
        )
    )


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


@cache
def _payload_template(template_json: str) -> Any:
    """A payload template (``{"key.$": "$.path", ...}``) parsed by moto as a Pass state's Parameters."""
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Pass", "Parameters": json.loads(template_json), "End": True}},
    }
    program, _ = ORIGINAL_PARSE(json.dumps(definition))
    return program.states.states["T"].parameters


def _evaluate_template(env: Any, template: Mapping[str, Any], state_input: Any) -> Any:
    frame = env.open_frame()
    try:
        frame.states.reset(input_value=state_input)
        frame.stack.append(state_input)
        _payload_template(json.dumps(template, sort_keys=True)).eval(env=frame)
        return frame.stack.pop()
    finally:
        env.close_frame(frame)


def _limit(batcher: Mapping[str, Any], name: str, state_input: Any) -> int:
    if f"{name}Path" in batcher:
        value = extract_json(batcher[f"{name}Path"], state_input)
    else:
        value = batcher.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"ItemBatcher.{name} must be a non-negative integer, got {value!r}")
    return value


def batch_items(
    items: Sequence[Any], batcher: Mapping[str, Any], state_input: Any, batch_input: Any
) -> list[dict[str, Any]]:
    """Child inputs as AWS builds them: ``{"BatchInput"?, "Items"}``, cut by count and by bytes."""
    max_items = _limit(batcher, "MaxItemsPerBatch", state_input)
    max_bytes = _limit(batcher, "MaxInputBytesPerBatch", state_input)
    batches: list[list[Any]] = []
    size = 0
    for item in items:
        item_size = _size(item)
        current = batches[-1] if batches else None
        full = (
            current is None
            or (max_items and len(current) >= max_items)
            or (max_bytes and size + item_size > max_bytes)
        )
        if full:
            batches.append([item])
            size = item_size
        else:
            current.append(item)  # type: ignore[union-attr]
            size += item_size
    children: list[dict[str, Any]] = []
    for batch in batches:
        child: dict[str, Any] = {"Items": batch}
        if batch_input is not None:
            child = {"BatchInput": batch_input, "Items": batch}
        children.append(child)
    return children


def _select(env: Any, eval_input: Any, items: Sequence[Any], state_input: Any) -> list[Any]:
    """ItemSelector (or the legacy Parameters) applied to each item, with ``$$.Map.Item``."""
    selector = eval_input.item_selector or eval_input.parameters
    if selector is None:
        return list(items)
    selected = []
    for index, item in enumerate(items):
        frame = env.open_frame()
        try:
            frame.states.context_object.context_object_data["Map"] = MapData(
                Item=ItemData(Index=index, Value=item)
            )
            frame.states.reset(input_value=state_input)
            frame.stack.append(state_input)
            selector.eval(frame)
            selected.append(frame.stack.pop())
        finally:
            env.close_frame(frame)
    return selected


def _prepared_inputs(
    component: Any, env: Any, eval_input: Any, items: list[Any]
) -> tuple[StashedFields, list[Any]]:
    """The child inputs: each item selected, then batched when there is an ItemBatcher."""
    stashed = StashedFields.of(component)
    state_input = env.states.get_input()
    selected = _select(env, eval_input, items, state_input)
    batcher = stashed.item_batcher
    if batcher is None:
        return stashed, selected
    batch_input = None
    if "BatchInput" in batcher:
        batch_input = _evaluate_template(env, batcher["BatchInput"], state_input)
    return stashed, batch_items(selected, batcher, state_input, batch_input)


def run_map(component: Any, env: Any, eval_input: Any, clock: SimClock | None) -> None:
    """``DistributedIterationComponent._map_run`` as AWS runs it (patches 13 and 14)."""
    items: list[Any] = env.stack.pop()
    stashed, inputs = _prepared_inputs(component, env, eval_input, items)
    record = eval_input.map_run_record
    run = MapRun(
        record,
        stashed=stashed,
        inputs=inputs,
        tolerated_count=int(eval_input.tolerated_failure_count),
        tolerated_percentage=float(eval_input.tolerated_failure_percentage),
        clock=clock,
    )
    setattr(record, RUN_ATTRIBUTE, run)
    record.item_counter.total.count(len(items))
    record.execution_counter.total.count(len(inputs))
    # The workers take the prepared child inputs as they are (selection and batching done).
    prepared = type(eval_input)(
        state_name=eval_input.state_name,
        max_concurrency=eval_input.max_concurrency,
        input_items=inputs,
        parameters=None,
        item_selector=None,
        item_reader=eval_input.item_reader,
        tolerated_failure_count=eval_input.tolerated_failure_count,
        tolerated_failure_percentage=eval_input.tolerated_failure_percentage,
        label=eval_input.label,
        map_run_record=record,
    )
    job_pool = JobPool(job_program=component._get_iteration_program(), job_inputs=inputs)
    max_concurrency = record.max_concurrency
    workers = len(inputs) if max_concurrency == DEFAULT_MAX_CONCURRENCY_VALUE else max_concurrency
    for _ in range(max(0, min(workers, len(inputs)))):
        component._launch_worker(env=env, eval_input=prepared, job_pool=job_pool)
    if inputs:
        job_pool.await_jobs()
        run.wait_until_idle()  # a pool that stops on a failure returns before its running children
    if clock is not None:
        clock.advance(run.makespan(max_concurrency))
    worker_exception = job_pool.get_worker_exception()
    if worker_exception is not None:
        raise worker_exception
    outputs = [_compact(child) for child in run.children]
    if eval_input_has_no_writer(env) and _size(outputs) > MAX_PAYLOAD_BYTES:
        raise _failure(
            env,
            StatesErrorNameType.StatesStatesDataLimitExceeded,
            f"the Map state's result ({_size(outputs):,} bytes) exceeds the 256 KiB payload limit: "
            "write the results to S3 with a ResultWriter",
        )
    env.stack.append(transformed(outputs, stashed.writer_config))


def _run_child(run: MapRun, child: ChildExecution, env: Any, job: Any) -> None:
    """One child execution on its own timeline; its outcome is recorded, never raised."""
    with run.timeline() as timeline:
        try:
            env.states.context_object.context_object_data["Map"] = MapData(
                Item=ItemData(Index=job.job_index, Value=job.job_input)
            )
            env.states.reset(job.job_input)
            env.stack.append(env.states.get_input())
            job.job_program.eval(env)
            state = env.program_state()
            if isinstance(state, ProgramError):
                details = state.error or {}
                _finish(run, child, "FAILED", error=details.get("error"), cause=details.get("cause"))
            elif isinstance(state, ProgramStopped):
                _finish(run, child, "ABORTED")
            else:
                _finish(run, child, "SUCCEEDED", output=env.states.get_input())
        except Exception as exc:  # a failure of the interpreter itself fails the child
            _finish(run, child, "FAILED", error="States.Runtime", cause=f"{type(exc).__name__}: {exc}")
        child.seconds = timeline.elapsed if timeline is not None else 0.0
    if run.express and child.seconds > EXPRESS_MAX_SECONDS and child.status == "SUCCEEDED":
        _finish(
            run,
            child,
            "FAILED",
            error="States.Timeout",
            cause=f"an EXPRESS execution runs at most 5 minutes; this one needed {child.seconds:.0f} s",
        )


def eval_child(worker: Any, env: Any, job: Any) -> None:
    """``DistributedItemProcessorWorker._eval_job``: run one child, count it, apply the thresholds."""
    record = worker._map_run_record
    run = run_of(record)
    if run is None:
        raise RuntimeError(f"map run {record.map_run_arn} was not started by the local cloud's patch")
    child = run.children[job.job_index]
    run.started()
    job_input = job.job_input
    items = len(job_input["Items"]) if isinstance(job_input, dict) and "Items" in job_input else 1
    record.execution_counter.running.count()
    record.item_counter.running.count(items)
    if _size(job_input) > MAX_PAYLOAD_BYTES:
        _finish(
            run, child, "FAILED", error="States.DataLimitExceeded", cause="the child's input exceeds 256 KiB"
        )
    else:
        _run_child(run, child, env, job)
    _count(record, child, items)
    job.job_output = child.output if child.status == "SUCCEEDED" else None
    if run.exceeded():
        job.job_output = run.threshold_failure(env)  # the pool stops starting children
    run.finished()


def map_run_patches(clock: SimClock | None) -> list[Patch]:
    def map_run(component: Any, env: Any, eval_input: Any) -> None:
        run_map(component, env, eval_input, clock)

    return [
        Patch(DistributedIterationComponent, "_map_run", map_run),
        Patch(DistributedItemProcessorWorker, "_eval_job", eval_child),
    ]


MAP_STATE_ATTRIBUTE = "_localcloud_map_state"  # (state, its input) while a Map state runs


def eval_input_has_no_writer(env: Any) -> bool:
    """The Map state being evaluated has no ResultWriter resource (its results are its output)."""
    state, _ = getattr(env, MAP_STATE_ATTRIBUTE, None) or (None, None)
    return state is None or getattr(state, "result_writer", None) is None


def _finish(
    run: MapRun,
    child: ChildExecution,
    status: str,
    *,
    output: Any = None,
    error: str | None = None,
    cause: str | None = None,
) -> None:
    with run.lock:
        child.status = status
        child.output = output if status == "SUCCEEDED" else None
        child.error = error
        child.cause = cause
        child.stopped = datetime.now(UTC)


def _count(record: Any, child: ChildExecution, items: int) -> None:
    record.execution_counter.running.offset(-1)
    record.item_counter.running.offset(-items)
    counter = {"SUCCEEDED": "succeeded", "FAILED": "failed", "ABORTED": "aborted"}[child.status]
    getattr(record.execution_counter, counter).count()
    getattr(record.item_counter, counter).count(items)
    if child.status == "SUCCEEDED":
        record.execution_counter.results_written.count()
        record.item_counter.results_written.count(items)


def _compact(child: ChildExecution) -> Any:
    """A child's result without ResultWriter metadata (COMPACT); failed children as NONE."""
    return child.output if child.status == "SUCCEEDED" else described(child, None)


def transformed(outputs: list[Any], writer_config: Mapping[str, Any] | None) -> list[Any]:
    if writer_config and writer_config.get("Transformation") == "FLATTEN":
        return [item for output in outputs for item in (output if isinstance(output, list) else [output])]
    return outputs


def described(child: ChildExecution, run: MapRun | None) -> dict[str, Any]:
    """A child execution as ResultWriter's NONE transformation describes it."""
    entry: dict[str, Any] = {
        "ExecutionArn": run.execution_arn(child) if run is not None else child.name,
        "Input": json.dumps(child.input, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "StartDate": child.started.isoformat(timespec="milliseconds"),
        "StateMachineArn": str(run.record.map_state_machine_arn) if run is not None else None,
        "Status": child.status,
        "StopDate": (child.stopped or child.started).isoformat(timespec="milliseconds"),
    }
    if child.status == "SUCCEEDED":
        entry["Output"] = json.dumps(child.output, separators=(",", ":"))
        entry["OutputDetails"] = {"Included": True}
    else:
        entry["Error"] = child.error or ""
        entry["Cause"] = child.cause or ""
    return entry


# --------------------------------------------------------------------------------------------
# 14. Threads on the children's timelines
# --------------------------------------------------------------------------------------------


class _ThreadingOnTimelines:
    """Stands in for the ``threading`` module in moto's interpreter modules: a thread started
    while a child execution runs keeps that child's timeline."""

    def __init__(self, clock: SimClock) -> None:
        class TimelineThread(threading.Thread):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._timeline = clock.current_timeline()

            def run(self) -> None:
                with clock.on_timeline(self._timeline):
                    super().run()

        self.Thread = TimelineThread

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


def timeline_patches(clock: SimClock | None) -> list[Patch]:
    """moto runs a program, each Task state (for TimeoutSeconds) and each branch or inline
    iteration on threads of their own: they keep the timeline of the child that started them."""
    if clock is None:
        return []
    threads = _ThreadingOnTimelines(clock)
    return [
        Patch(program, "threading", threads),
        Patch(branch_worker, "threading", threads),
        Patch(inline_iteration_component, "threading", threads),
        Patch(execute_state, "Thread", threads.Thread),
    ]
