"""SHA-256 of a dataset, computed from the chunks the validator reads.

Lineage needs the digest of the exact bytes a job trained on, and reading a large dataset
twice would double the validation time. The validator hands every chunk it reads to a
``StreamDigest``. SHA-256 costs CPU time of its own (about 1.8 GB/s on one core of the
benchmark machine, a fifth of the validator's time on simple records), so when a second core
is free (or the reads wait on the network, as from S3) a worker thread hashes while the main
thread parses (``hashlib`` releases the GIL for buffers over 2 KiB) and the digest costs next to
nothing; a bounded queue keeps memory flat if hashing falls behind. Reading a local file with
every core busy, a thread would only add switching to the same CPU time: the chunks are then
hashed in line.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable

QUEUED_CHUNKS = 16  # at most 16 chunks (4 MiB at the validator's chunk size) wait for the hash


def spare_core() -> bool:
    """Whether this process can use a second core that is not already busy."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return cores >= 2 and busy <= cores - 1


class StreamDigest:
    """Feed chunks with ``update`` (a queue's put, or the hash's own update, chosen once);
    ``hexdigest`` returns the digest, waiting for the worker."""

    def __init__(self, *, threaded: bool | None = None) -> None:
        self._hash = hashlib.sha256()
        self._result: str | None = None
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded if threaded is not None else spare_core():
            self._queue = queue.Queue(maxsize=QUEUED_CHUNKS)
            self._thread = threading.Thread(target=self._run, name="dataset-digest", daemon=True)
            self._thread.start()
            self.update: Callable[[bytes], object] = self._queue.put
        else:
            self.update = self._hash.update

    def _run(self) -> None:
        assert self._queue is not None
        update = self._hash.update
        get = self._queue.get
        while (chunk := get()) is not None:
            update(chunk)

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def hexdigest(self) -> str:
        if self._result is None:
            if self._queue is not None and self._thread is not None:
                self._queue.put(None)
                self._thread.join()
            self._result = self._hash.hexdigest()
        return self._result

    def close(self) -> None:
        """Stop the worker (also after a failed read); idempotent."""
        self.hexdigest()
