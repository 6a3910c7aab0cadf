"""The time the functions read.

Every moment the functions record (registry history, serving expiry, metric timestamps) comes
from ``now()``: the system clock in Lambda. The local cloud runs the same handlers in-process
on its simulated clock (training jobs last hours there, in milliseconds of wall time) and
points ``now()`` at that clock with ``use``, so recorded times agree with the simulated
timeline instead of the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

Source = Callable[[], datetime]

_source: Source | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    source = _source
    return datetime.now(UTC) if source is None else source().astimezone(UTC)


@contextmanager
def use(source: Source) -> Iterator[None]:
    """Read time from ``source`` until the block ends (the local cloud's simulated clock)."""
    global _source  # noqa: PLW0603 (one clock per process, like the system clock it stands for)
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous
