"""Checks of a run spec's options: serving, tags, notifications and validation options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bmc.catalog.models import Model
from bmc.runspec.checker import FieldChecker, join_path
from bmc.runspec.model import (
    COMMITMENT_WITH_IDLE_DELETE,
    COMMITMENT_WITH_TTL,
    COMMITMENTS,
    IDLE_ACTIONS,
    INVALID_TAG,
    MAX_MODEL_UNITS,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TTL_HOURS,
    MAX_USER_TAGS,
    NOTIFY_FIELDS,
    RESERVED_TAG,
    RESERVED_TAG_PREFIXES,
    SERVING_FIELDS,
    SERVING_MODES,
    SERVING_NOT_SUPPORTED,
    TOO_MANY_TAGS,
    VALIDATION_FIELDS,
    WORKFLOW_TAG_KEYS,
    Serving,
)
from bmc.validation import codes
from bmc.validation.validator import check_allowed_codes

_TAG_TEXT = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")  # Bedrock's TagKey/TagValue pattern


def check_serving(
    check: FieldChecker, value: Any, defaults: Serving, model: Model | None, *, path: str
) -> Serving:
    """The serving block merged over ``defaults`` field by field."""
    if value is None:
        value = {}
    elif not check.expect(value, Mapping, path or "serving", "an object"):
        return defaults
    check.unknown_fields(value, SERVING_FIELDS, path)

    def at(name: str) -> str:
        return join_path(path, name)

    mode = defaults.mode
    if "mode" in value:
        mode = check.choice(value["mode"], at("mode"), SERVING_MODES) or defaults.mode
    units = defaults.model_units
    if value.get("modelUnits") is not None:
        units = (
            check.integer(value["modelUnits"], at("modelUnits"), 1, MAX_MODEL_UNITS) or defaults.model_units
        )
    commitment = defaults.commitment
    if value.get("commitment") is not None:
        commitment = check.choice(value["commitment"], at("commitment"), COMMITMENTS) or defaults.commitment
    ttl = defaults.ttl_hours
    if "ttlHours" in value:
        ttl = (
            None
            if value["ttlHours"] is None
            else check.integer(value["ttlHours"], at("ttlHours"), 1, MAX_TTL_HOURS)
        )

    idle_action = defaults.idle_action
    if value.get("idleAction") is not None:
        idle_action = check.choice(value["idleAction"], at("idleAction"), IDLE_ACTIONS) or idle_action

    if mode != "provisioned":
        if value.get("commitment") not in (None, "none"):
            check.error(at("commitment"), codes.INVALID_VALUE, "commitment applies only to mode provisioned")
        commitment = "none"  # a default commitment means nothing without provisioned throughput
    if mode == "none":
        if value.get("ttlHours") is not None:
            check.error(at("ttlHours"), codes.INVALID_VALUE, "ttlHours applies only when the model is served")
        # A deployment may default to deleting idle servings while runs default to serving none.
        if value.get("idleAction") == "delete" and path:
            check.error(
                at("idleAction"),
                codes.INVALID_VALUE,
                "idleAction delete applies only when the model is served",
            )
        ttl = None
        idle_action = "notify"
    if commitment != "none" and idle_action == "delete":
        # A deployment may default to deleting idle servings while runs default to serving none.
        if value.get("idleAction") == "delete" and path:
            check.error(
                at("idleAction"),
                COMMITMENT_WITH_IDLE_DELETE,
                f"a throughput committed for {commitment} cannot be deleted before its term, so idleAction "
                "delete cannot apply: use notify or set commitment to none",
            )
        idle_action = "notify"  # a default of delete cannot apply to a committed throughput
    if commitment != "none" and ttl is not None:
        culprit = at("ttlHours") if value.get("ttlHours") is not None else at("commitment")
        check.error(
            culprit,
            COMMITMENT_WITH_TTL,
            f"a throughput committed for {commitment} cannot be deleted before its term, so ttlHours cannot "
            "apply: remove ttlHours or set commitment to none",
        )
    if model is not None:
        if mode == "provisioned" and not model.provisioned_throughput:
            check.error(
                at("mode"),
                SERVING_NOT_SUPPORTED,
                f"{model.customization_id} custom models cannot be served with provisioned throughput",
            )
        if mode == "on-demand" and not model.on_demand_deployment:
            origin = "" if "mode" in value else f" (the deployment's default serving mode; set {at('mode')})"
            check.error(
                at("mode"),
                SERVING_NOT_SUPPORTED,
                f"{model.customization_id} custom models cannot be deployed on demand{origin}; "
                "use provisioned or none",
            )
    return Serving(
        mode=mode, model_units=units, commitment=commitment, ttl_hours=ttl, idle_action=idle_action
    )


def check_tags(check: FieldChecker, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not check.expect(value, Mapping, "tags", "an object of tag key to value"):
        return {}
    if len(value) > MAX_USER_TAGS:
        check.error(
            "tags",
            TOO_MANY_TAGS,
            f"{len(value)} tags; at most {MAX_USER_TAGS} (Bedrock allows 50 per resource and the workflow adds "
            f"{', '.join(WORKFLOW_TAG_KEYS)})",
        )
    tags: dict[str, str] = {}
    for key, tag_value in value.items():
        path = join_path("tags", key)
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH or not _TAG_TEXT.fullmatch(key):
            check.error(
                path,
                INVALID_TAG,
                f"tag key {key!r} must be 1-{MAX_TAG_KEY_LENGTH} characters: letters, digits, spaces and . _ : / = + @ -",
            )
            continue
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            check.error(path, RESERVED_TAG, f"tag key {key!r}: the prefixes aws: and bmc: are reserved")
            continue
        if not check.expect(tag_value, str, path, "a string"):
            continue
        if len(tag_value) > MAX_TAG_VALUE_LENGTH or not _TAG_TEXT.fullmatch(tag_value):
            check.error(
                path,
                INVALID_TAG,
                f"tag value {tag_value!r} must be at most {MAX_TAG_VALUE_LENGTH} characters: letters, digits, "
                "spaces and . _ : / = + @ -",
            )
            continue
        tags[key] = tag_value
    return tags


def check_notify(check: FieldChecker, value: Any) -> bool:
    if value is None:
        return True
    if not check.expect(value, Mapping, "notify", "an object"):
        return True
    check.unknown_fields(value, NOTIFY_FIELDS, "notify")
    on_success = value.get("onSuccess", True)
    if not check.expect(on_success, bool, "notify.onSuccess", "true or false"):
        return True
    return bool(on_success)


def check_validation_options(check: FieldChecker, value: Any) -> tuple[str, ...]:
    """``{"allow": [CODE, ...]}``: dataset rules acknowledged for this run (see docs/validation.md)."""
    if value is None:
        return ()
    if not check.expect(value, Mapping, "validation", "an object"):
        return ()
    check.unknown_fields(value, VALIDATION_FIELDS, "validation")
    allow = value.get("allow", [])
    if not check.expect(allow, list, "validation.allow", "an array of finding codes"):
        return ()
    codes_found: list[str] = []
    for index, code in enumerate(allow):
        path = f"validation.allow[{index}]"
        if not check.expect(code, str, path, "a finding code"):
            continue
        problems = check_allowed_codes([code])
        if problems:
            check.error(path, codes.INVALID_VALUE, problems[0])
            continue
        codes_found.append(code)
    return tuple(dict.fromkeys(codes_found))
