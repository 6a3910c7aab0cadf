"""Where a run's data may be: S3 URIs Bedrock accepts, in the datasets bucket, in the owner's prefixes.

The Bedrock service role reads only the deployment's datasets bucket, and a team's runs only
their team's prefixes (README, "Teams"): a spec naming data elsewhere is refused with a
located finding before anything starts. ``manifests/`` never holds data, and no key may
climb out of a prefix with ``.`` or ``..`` segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bmc.aws.s3io import bedrock_s3_uri_problem, parse_s3_uri
from bmc.runspec.model import DATA_NOT_IN_TEAM_PREFIXES, DATA_OUTSIDE_DATASETS_BUCKET
from bmc.tenancy import data_key_problem
from bmc.validation import codes
from bmc.validation.validator import MAX_VALIDATION_FILES

if TYPE_CHECKING:
    from bmc.runspec.checker import FieldChecker


def s3_object(check: FieldChecker, value: Any, path: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            check.error(path, codes.MISSING_FIELD, f"{path} is required: the s3:// URI of a JSONL file")
        return None
    if not check.expect(value, str, path, "an s3:// URI string"):
        return None
    problem = bedrock_s3_uri_problem(value)
    if problem is None:
        _, key = parse_s3_uri(value)
        if not key or key.endswith("/"):
            problem = f"{value!r} names a prefix, not a file: give the URI of the JSONL object"
        elif any(segment in (".", "..") for segment in key.split("/")):
            problem = f"{value!r} has a '.' or '..' segment: name the object by its plain key"
    if problem is not None:
        check.error(path, codes.INVALID_S3_URI, problem)
        return None
    return str(value)


def validation_data(check: FieldChecker, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        check.error(
            "validationData",
            codes.WRONG_TYPE,
            f'validationData must be a list of s3:// URIs, e.g. ["{value}"]',
        )
        return ()
    if not check.expect(value, list, "validationData", "a list of s3:// URIs"):
        return ()
    if len(value) > MAX_VALIDATION_FILES:
        check.error(
            "validationData",
            codes.TOO_MANY_VALIDATION_FILES,
            f"{len(value)} validation files; Bedrock accepts at most {MAX_VALIDATION_FILES}",
        )
        value = value[: MAX_VALIDATION_FILES + 1]  # the count is reported; the rest are not checked
    uris = [
        s3_object(check, item, f"validationData[{index}]", required=True) for index, item in enumerate(value)
    ]
    return tuple(uri for uri in uris if uri is not None)


def in_data_scope(
    check: FieldChecker,
    training: str | None,
    validation: Sequence[str],
    datasets_bucket: str,
    prefixes: Sequence[str] | None,
    *,
    test_data: str | None = None,
) -> None:
    """Bedrock's service role reads the deployment's datasets bucket only, and each owner its
    prefixes; the evaluation's test set is held to the same place."""
    located = [("trainingData", training)] + [
        (f"validationData[{i}]", uri) for i, uri in enumerate(validation)
    ]
    located.append(("evaluation.testData", test_data))
    for path, uri in located:
        if uri is None:
            continue
        bucket, key = parse_s3_uri(uri)
        if bucket != datasets_bucket:
            check.error(
                path,
                DATA_OUTSIDE_DATASETS_BUCKET,
                f"{uri} is outside the datasets bucket {datasets_bucket}, the only bucket the Bedrock service "
                "role may read: copy the file there",
            )
        elif (problem := data_key_problem(key, prefixes)) is not None:
            allowed = ", ".join(f"s3://{datasets_bucket}/{prefix}" for prefix in prefixes or ()) or "none"
            hint = f"; allowed: {allowed}" if prefixes is not None else ""
            check.error(path, DATA_NOT_IN_TEAM_PREFIXES, f"{uri} {problem}{hint}")
