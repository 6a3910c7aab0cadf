"""API Gateway has no local counterpart: the event its REST proxy integration would send."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from localcloud.deploy import ACCOUNT, PARTITION, REGION

LOCAL_OPERATOR = f"arn:{PARTITION}:iam::{ACCOUNT}:user/local-operator"


def rest_proxy_event(
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    caller: str = LOCAL_OPERATOR,
) -> dict[str, Any]:
    """The event API Gateway's REST proxy integration sends after an AWS_IAM-authorized request,
    signed by ``caller`` (an IAM user ARN or an STS assumed-role session ARN)."""
    request_headers = {"Content-Type": "application/json", **(headers or {})}
    account = caller.split(":")[4] if caller.count(":") >= 5 else ACCOUNT
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": request_headers,
        "multiValueHeaders": {name: [value] for name, value in request_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "localapi",
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "domainName": f"localapi.execute-api.{REGION}.amazonaws.com",
            # IAM authorization puts the signer's identity here.
            "identity": {
                "accountId": account,
                "caller": "AIDALOCALCLOUDCALLER",
                "user": "AIDALOCALCLOUDCALLER",
                "userArn": caller,
                "accessKey": "AKIALOCALCLOUDCALLER",
                "sourceIp": "127.0.0.1",
                "userAgent": "localcloud",
            },
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
