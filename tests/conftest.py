"""Every test runs with fake AWS credentials: nothing here may reach a real account."""

import os
import time
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockModelCustomization",
    }
)
os.environ.pop("AWS_PROFILE", None)

_SESSION_STARTED = time.time()


def pytest_sessionstart(session: object) -> None:
    global _SESSION_STARTED  # noqa: PLW0603 (one pytest session per process)
    _SESSION_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the screenshots this run took (browser tests of the HTML report) with their paths."""
    from tests.browser_support import SCREENSHOTS

    taken = sorted(p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= _SESSION_STARTED)
    if taken:
        terminalreporter.write_sep("-", "screenshots")
        for path in taken:
            terminalreporter.write_line(str(path))
