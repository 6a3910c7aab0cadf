"""The teams document reaches the functions that decide on owners, within Lambda's 4 KB."""

from __future__ import annotations

import json
from typing import Any

from bmc.catalog.models import all_models
from bmc.tenancy import TENANCY_VARIABLE
from bmc.tenancy.teams import MAX_DOCUMENT_BYTES

from tests.infra.conftest import Synthesized

LAMBDA_ENVIRONMENT_LIMIT = 4096  # bytes, every name and value of a function's variables together
# A value CloudFormation fills in at deploy time (a generated table or bucket name, a state
# machine or topic ARN): counted at more than the longest of them (about 100 bytes).
DEPLOY_TIME_VALUE = 128


def environments(app: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"].get("Environment", {}).get("Variables", {})
        for name, resource in app.resources("AWS::Lambda::Function").items()
    }


def size(variables: dict[str, Any]) -> int:
    total = 0
    for name, value in variables.items():
        text = value if isinstance(value, str) else None
        total += len(name.encode()) + (len(text.encode()) if text is not None else DEPLOY_TIME_VALUE)
    return total


def test_the_functions_that_decide_on_owners_read_the_teams(app_default: Synthesized) -> None:
    readers = {name for name, variables in environments(app_default).items() if TENANCY_VARIABLE in variables}
    handlers = {
        app_default.resources("AWS::Lambda::Function")[name]["Properties"]["Handler"] for name in readers
    }
    assert handlers == {"bmc.handlers.api.handler", "bmc.handlers.prepare_run.handler"}
    for name in readers:
        document = json.loads(environments(app_default)[name][TENANCY_VARIABLE])
        assert document == {"admins": [], "teams": {}}


def test_the_largest_teams_document_still_fits_every_environment(app_default: Synthesized) -> None:
    """With the longest allow-list there is (every catalog model) and a teams document at its bound."""
    every_model = ",".join(model.customization_id for model in all_models())
    for name, variables in environments(app_default).items():
        others = {key: value for key, value in variables.items() if key != TENANCY_VARIABLE}
        if "ALLOWED_BASE_MODELS" in others:
            others["ALLOWED_BASE_MODELS"] = every_model
        room = LAMBDA_ENVIRONMENT_LIMIT - size(others) - len(TENANCY_VARIABLE)
        assert room >= MAX_DOCUMENT_BYTES, (name, room)
