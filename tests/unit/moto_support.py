"""What the moto-backed local cloud tests share: the account, one boto3 session, credentials."""

from __future__ import annotations

import boto3
import pytest

ACCOUNT = "123456789012"
# One session for all tests: a fresh default session per mock reloads botocore's endpoint data.
SESSION = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for each test (autouse where a test module imports it)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
