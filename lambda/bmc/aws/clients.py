"""boto3 clients for the functions, created lazily and shared within a process.

Clients are built on first use (never at import), so tests create them inside moto and a warm
Lambda reuses them across invocations. Retries use botocore's standard mode: transient errors
are retried a few times here, and the state machine's own Retry rules (with longer backoff)
take over after that. ``AWS_MAX_ATTEMPTS`` overrides the attempt count (tests set it to 1).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.config import Config

from bmc import __version__, settings

CLIENT_CONFIG = Config(
    retries={"mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
    user_agent_extra=f"bmc/{__version__}",
)


# bedrock-runtime: the evaluation's own loop retries with backoff and counts the attempts, and a
# long answer takes longer than a control-plane call (bmc.evaluation.generation).
RUNTIME_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=120,
    user_agent_extra=f"bmc/{__version__}",
)
_SERVICE_CONFIGS = {"bedrock-runtime": RUNTIME_CONFIG}


class _Clients:
    """One boto3 session and its clients per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.session: boto3.session.Session | None = None
        self.clients: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str, *, config: Config | None = None, variant: str = "") -> Any:
        """``variant`` names a client with its own ``config`` (e.g. an interactive one)."""
        key = (f"{service}:{variant}" if variant else service, region)
        config = config or _SERVICE_CONFIGS.get(service, CLIENT_CONFIG)
        found = self.clients.get(key)
        if found is not None:
            return found
        # boto3 sessions are not thread-safe: create clients one at a time.
        with self.lock:
            if key not in self.clients:
                if self.session is None:
                    self.session = boto3.session.Session()
                self.clients[key] = self.session.client(service, region_name=region, config=config)
            return self.clients[key]

    def reset(self) -> None:
        # The session stays: it holds the parsed service models, which are costly to load.
        with self.lock:
            self.clients.clear()


_CLIENTS = _Clients()


def client(service: str) -> Any:
    """The shared client of ``service`` in the function's region."""
    return _CLIENTS.get(service, settings.region())


def reset() -> None:
    """Forget every client (tests: after changing the region or the retry settings)."""
    _CLIENTS.reset()


def bedrock() -> Any:
    return client("bedrock")


def bedrock_runtime() -> Any:
    return client("bedrock-runtime")


def interactive_runtime(region: str, config: Config) -> Any:
    """A bedrock-runtime client with the caller's ``config`` (the API's short timeouts)."""
    return _CLIENTS.get("bedrock-runtime", region, config=config, variant="interactive")


def put_report(bucket: str, run_id: str, name: str, data: Any) -> str:
    """Write a run's report as ``reports/<runId>/<name>.json``; returns its ``s3://`` URI."""
    key = f"reports/{run_id}/{name}.json"
    body = json.dumps(data, indent=2, default=str).encode("utf-8")
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return f"s3://{bucket}/{key}"
