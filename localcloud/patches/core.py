"""Installing and removing the patches as one set (``LocalCloudPatches``)."""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Literal

import moto
from bmc.aws import registry
from moto.awslambda.models import LambdaFunction
from moto.core.config import DefaultConfig

from localcloud.clock import SimClock
from localcloud.patches.base import Patch
from localcloud.patches.events import event_and_stop_patches, execution_patches
from localcloud.patches.lambdas import Handler, LambdaRegistry, _LayeredEnviron, invoke_in_process
from localcloud.patches.map_results import distributed_map_patches
from localcloud.patches.s3 import conditional_copy_patches, s3_policy_patches
from localcloud.patches.sdk import sdk_patches
from localcloud.patches.waits import RequestedWait, WaitRecorder, wait_patches

MOTO_VERSION = "5.2.5"

# The configuration that makes moto execute state machines instead of only recording them.
MOTO_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}

_INSTALL_LOCK = threading.Lock()


class LocalCloudPatches:
    """The set of moto patches; install once, use as a context manager, uninstall on exit.

    ``clock``: waits and retry backoffs advance it by the seconds they asked for (unless
    ``advance_clock`` is False), Lambda contexts count their remaining time on it and the
    children of a Distributed Map run on its timelines. ``import_unregistered``: a function
    with no registration runs the handler named in its moto configuration (e.g.
    ``bmc.handlers.submit_job.handler``), imported from ``sys.path``; otherwise its invocation
    fails with ``Runtime.HandlerNotFound``.
    """

    _active: ClassVar[LocalCloudPatches | None] = None

    def __init__(
        self,
        clock: SimClock | None = None,
        *,
        advance_clock: bool = True,
        import_unregistered: bool = True,
    ) -> None:
        self.clock = clock
        self.advance_clock = advance_clock
        self.import_unregistered = import_unregistered
        self.registry = LambdaRegistry()
        self._recorder = WaitRecorder(clock, advance_clock=advance_clock)
        self._patches: list[Patch] = []
        self._moved_at = datetime.now(UTC)
        self._installed = False
        self._plain_environ: os._Environ = os.environ  # type: ignore[type-arg]
        # Function name -> callbacks run once after its next successful invocation (scenarios
        # that change the world between two states, e.g. a dataset overwritten after validation).
        self.after_invocation: dict[str, list[Callable[[], None]]] = {}
        # Function name -> (role ARN, identity policy statements), for S3's 403-or-404 answer.
        self.identity_policies: dict[str, tuple[str, list[dict[str, Any]]]] = {}

    # -- public API ---------------------------------------------------------------------------

    def register(
        self, function: str, handler: Handler | str, environment: Mapping[str, str] | None = None
    ) -> None:
        """Shortcut for ``registry.register``."""
        self.registry.register(function, handler, environment)

    @property
    def requested_waits(self) -> list[RequestedWait]:
        return self._recorder.waits

    def waits(self, kind: Literal["wait", "retry"] | None = None) -> list[float]:
        """Seconds requested, in order, by Wait states and/or Retry backoffs."""
        return [w.seconds for w in self.requested_waits if kind is None or w.kind == kind]

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> LocalCloudPatches:
        with _INSTALL_LOCK:
            if self._installed:
                return self
            if LocalCloudPatches._active is not None:
                raise RuntimeError("another LocalCloudPatches instance is installed")
            if moto.__version__ != MOTO_VERSION:
                warnings.warn(
                    f"localcloud patches target moto {MOTO_VERSION}, found {moto.__version__}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            self._patches = self._build_patches()
            missing = [
                f"{getattr(p.owner, '__name__', p.owner)}.{p.attribute}"
                for p in self._patches
                if not hasattr(p.owner, p.attribute)
            ]
            if missing:
                raise RuntimeError(f"moto internals not found (moto version drift?): {missing}")
            self._plain_environ = os.environ
            os.environ = _LayeredEnviron(os.environ)  # noqa: B003 (a view over the same variables)
            if self.clock is not None:
                self._moved_at = datetime.now(UTC)
                self.clock.add_listener(self._clock_moved)
                registry.use_clock(self._runtime_now)
            for patch in self._patches:
                # Read the owner's own __dict__ so descriptors (staticmethod) are restored as-is.
                owner_dict = vars(patch.owner)
                patch.owned = patch.attribute in owner_dict
                patch.original = owner_dict.get(patch.attribute)
                setattr(patch.owner, patch.attribute, patch.replacement)
            self._installed = True
            LocalCloudPatches._active = self
        return self

    def uninstall(self) -> None:
        with _INSTALL_LOCK:
            if not self._installed:
                return
            for patch in reversed(self._patches):
                if patch.owned:
                    setattr(patch.owner, patch.attribute, patch.original)
                else:
                    delattr(patch.owner, patch.attribute)
            self._patches = []
            os.environ = self._plain_environ  # noqa: B003 (restores the original object)
            registry.use_clock(None)
            if self.clock is not None:
                self.clock.remove_listener(self._clock_moved)
            self._installed = False
            LocalCloudPatches._active = None

    def __enter__(self) -> LocalCloudPatches:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    # -- internals ------------------------------------------------------------------------------

    def _clock_moved(self, now: datetime) -> None:
        self._moved_at = datetime.now(UTC)

    def _runtime_now(self) -> datetime:
        """The simulated time, still moving between advances as real time does: two writes a
        moment apart get two timestamps, in the order they happened (17)."""
        assert self.clock is not None
        return self.clock.now() + (datetime.now(UTC) - self._moved_at)

    def _build_patches(self) -> list[Patch]:
        patches = self

        def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return invoke_in_process(
                patches.registry,
                fn,
                event,
                import_unregistered=patches.import_unregistered,
                clock=patches.clock,
                after_invocation=patches.after_invocation,
            )

        return [
            *event_and_stop_patches(),
            *s3_policy_patches(self.identity_policies),
            *conditional_copy_patches(),
            *execution_patches(),
            Patch(LambdaFunction, "_invoke_lambda", invoke_lambda),
            *sdk_patches(),
            *wait_patches(self._recorder),
            *distributed_map_patches(self.clock),
        ]


def install_patches(
    clock: SimClock | None = None, *, advance_clock: bool = True, import_unregistered: bool = True
) -> LocalCloudPatches:
    """Install the patches and return them (also a context manager that uninstalls)."""
    return LocalCloudPatches(
        clock, advance_clock=advance_clock, import_unregistered=import_unregistered
    ).install()


def active_patches() -> LocalCloudPatches | None:
    return LocalCloudPatches._active


def wait_for_execution(
    sfn_client: Any, execution_arn: str, *, timeout: float = 30.0, poll_interval: float = 0.02
) -> dict[str, Any]:
    """Poll until an execution leaves RUNNING; moto runs executions on worker threads."""
    deadline = time.monotonic() + timeout
    while True:
        description: dict[str, Any] = sfn_client.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution still RUNNING after {timeout}s: {execution_arn}")
        time.sleep(poll_interval)
