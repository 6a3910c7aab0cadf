"""List pages: ``NextToken`` is opaque to callers and names a position in one listing only.

A token is the listing's DynamoDB page boundary. It is accepted only for the listing it came
from (all runs, or one team's), so a token edited to name another team cannot read that
team's page: the team comes from the caller, never from the token.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from bmc import runspec
from bmc.api.errors import BadRequestError
from bmc.api.models import FieldError
from bmc.aws.registry import LISTING_KEY_ATTRIBUTES, RECORD_TYPE, TEAM_LISTING_KEY_ATTRIBUTES


def encode_token(key: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(key), sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str, *, team: str | None) -> dict[str, str]:
    """The listing position a ``nextToken`` names, for the listing of ``team`` (None: all runs);
    BadRequestError for anything this API did not issue for that listing."""
    invalid = BadRequestError(
        "Invalid request",
        [FieldError(field="nextToken", message="not a token this API returned for this list")],
    )
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid from None
    expected = LISTING_KEY_ATTRIBUTES if team is None else TEAM_LISTING_KEY_ATTRIBUTES
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(value, str) and value for value in key.values())
        or runspec.run_id_problem(key["runId"]) is not None
        or (key["recordType"] != RECORD_TYPE if team is None else key["team"] != team)
    ):
        raise invalid
    return key
