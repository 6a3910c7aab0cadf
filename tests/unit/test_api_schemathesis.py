"""Property-based tests of the API against docs/openapi.json (schemathesis, in process).

A tiny WSGI adapter turns each generated HTTP request into the proxy event API Gateway would
send and runs the real handler on moto and the simulated Bedrock. Every response must conform
to the document, and no request, however malformed, may cause a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

import pytest
import schemathesis
from bmc.handlers import api
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks
from werkzeug.wrappers import Request

from localcloud.api_gateway import rest_proxy_event
from scripts.export_openapi import DOCUMENT
from tests.unit.api_support import SUPPORT, api_cloud, complete, create_model
from tests.unit.workflow_support import Cloud, lambda_context

MAX_EXAMPLES = 25  # per operation: about 20 s for the whole API
# Checks that do not apply to this API, and why:
# - ignored_auth: API Gateway verifies SigV4 signatures (tests/infra/test_api.py); the adapter
#   only refuses requests without an Authorization header, as the gateway does.
# - missing_required_header: expects 401 for a missing Authorization header; API Gateway answers
#   403 (Missing Authentication Token), which the document declares.
# - unsupported_method: API Gateway answers methods the API does not declare; they never reach
#   the function.
# - positive_data_acceptance: a schema-valid body may still name an unknown model or a bucket the
#   service role cannot read; the run spec validation refuses those with 400 and field errors.
MISSING_TOKEN = b'{"message": "Missing Authentication Token"}'
EXCLUDED_CHECKS = [
    checks.ignored_auth,
    checks.missing_required_header,
    checks.unsupported_method,
    checks.positive_data_acceptance,
]


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    request = Request(environ)
    if request.path == "/openapi.json":
        status, headers, body = 200, {"Content-Type": "application/json"}, DOCUMENT.read_bytes()
    elif "Authorization" not in request.headers:
        # What API Gateway answers before the function runs (signatures are not checked here).
        status, headers, body = 403, {"Content-Type": "application/json"}, MISSING_TOKEN
    else:
        event = rest_proxy_event(
            request.method,
            request.path,
            query=dict(request.args) or None,
            headers=dict(request.headers.items()),
            caller=SUPPORT,  # a team member: generated requests also meet the team's real model
        )
        event["body"] = request.get_data(as_text=True) or None
        result = api.handler(event, lambda_context("bmc-api"))
        status, body = int(result["statusCode"]), str(result.get("body") or "").encode()
        # The REST proxy response may carry both forms; API Gateway merges them.
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
    start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
    return [body]


schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi_app)


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    with api_cloud() as created:
        # One Complete model, so generated requests can also meet a real record.
        complete(created, create_model())
        yield created


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_conforms_to_its_document_and_never_fails(case: schemathesis.Case[Any], cloud: Cloud) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
