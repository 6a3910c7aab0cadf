"""A simulated clock shared by the local cloud.

Training jobs last hours and Step Functions waits and retry backoffs last minutes. The local
cloud runs them on this clock instead of the wall clock: a test (or a patched Wait state)
calls ``advance`` and everything that depends on time (job lifecycles, throughput
provisioning) catches up at once. Listeners run after every advance, outside the clock's lock,
so a listener may read the clock or even advance it again.

Work that AWS runs concurrently (the child executions of a Distributed Map) runs on timelines:
inside ``timeline()``, advances made by the current thread move only that thread's own time,
starting from the shared time when the block began; whoever runs the concurrent work advances
the shared clock by the time it took in parallel afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ClockListener = Callable[[datetime], None]


@dataclass
class Timeline:
    """A thread's own time inside ``SimClock.timeline``: ``elapsed`` seconds since ``start``."""

    start: datetime
    elapsed: float = 0.0


class SimClock:
    """A thread-safe clock that only moves when told to.

    ``now()`` returns an aware UTC datetime. The clock starts at ``start`` (default: the real
    current time, truncated to whole seconds so timestamps stay readable).
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime.now(UTC).replace(microsecond=0)
        elif start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._now = self._start
        self._lock = threading.RLock()
        self._listeners: list[ClockListener] = []
        self._local = threading.local()

    @property
    def start(self) -> datetime:
        return self._start

    def now(self) -> datetime:
        timeline = self._timeline()
        if timeline is not None:
            return timeline.start + timedelta(seconds=timeline.elapsed)
        with self._lock:
            return self._now

    def _timeline(self) -> Timeline | None:
        timeline: Timeline | None = getattr(self._local, "timeline", None)
        return timeline

    @contextmanager
    def timeline(self) -> Iterator[Timeline]:
        """This thread's advances move a private timeline (no listener runs) for the block."""
        timeline = Timeline(start=self.now())
        with self.on_timeline(timeline):
            yield timeline

    def current_timeline(self) -> Timeline | None:
        """The timeline this thread runs on (None: the shared time)."""
        return self._timeline()

    @contextmanager
    def on_timeline(self, timeline: Timeline | None) -> Iterator[None]:
        """Run the block on ``timeline`` (a thread started for work on another thread's timeline)."""
        outer = self._timeline()
        self._local.timeline = timeline
        try:
            yield
        finally:
            self._local.timeline = outer

    def time(self) -> float:
        """Seconds since the epoch, like ``time.time()``."""
        return self.now().timestamp()

    @property
    def elapsed_seconds(self) -> float:
        """Simulated seconds since the clock started."""
        return (self.now() - self._start).total_seconds()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and notify listeners; returns the new time."""
        if seconds < 0:
            raise ValueError("the clock never goes backwards")
        timeline = self._timeline()
        if timeline is not None:
            timeline.elapsed += seconds
            return self.now()
        with self._lock:
            self._now += timedelta(seconds=seconds)
            now = self._now
            listeners = list(self._listeners)
        for listener in listeners:
            listener(now)
        return now

    def advance_to(self, when: datetime) -> datetime:
        """Move the clock to ``when`` (no-op if ``when`` is not in the future)."""
        delta = (when - self.now()).total_seconds()
        return self.advance(delta) if delta > 0 else self.now()

    def add_listener(self, listener: ClockListener) -> None:
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def remove_listener(self, listener: ClockListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
