"""SHA-256 of a dataset, computed from the chunks the validator reads, on another core.

Lineage needs the digest of the exact bytes a job trained on, and reading a large dataset
twice would double the validation time. The validator hands every chunk it reads to a
``StreamDigest``; a worker thread hashes it while the main thread parses (``hashlib`` releases
the GIL for buffers over 2 KiB), so on a machine with two cores the digest costs next to
nothing. A bounded queue keeps memory flat if hashing falls behind.
"""

from __future__ import annotations

import hashlib
import queue
import threading

QUEUED_CHUNKS = 16  # at most 16 chunks (4 MiB at the validator's chunk size) wait for the hash


class StreamDigest:
    """Feed chunks with ``update``; ``hexdigest`` waits for the worker and returns the digest."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._thread = threading.Thread(target=self._run, name="dataset-digest", daemon=True)
        self._thread.start()
        self._result: str | None = None

    def _run(self) -> None:
        update = self._hash.update
        get = self._queue.get
        while (chunk := get()) is not None:
            update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        if self._result is None:
            self._queue.put(None)
            self._thread.join()
            self._result = self._hash.hexdigest()
        return self._result

    def close(self) -> None:
        """Stop the worker (also after a failed read); idempotent."""
        self.hexdigest()
