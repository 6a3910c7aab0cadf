"""Compliance gates on the synthesized app: cdk-nag, cfn-lint, checkov and IAM invariants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_s3 as s3

from stacks.application import REPO_ROOT, build_app, nag_errors
from tests.infra.conftest import NO_BUNDLING, Synthesized

pytestmark = pytest.mark.infra

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def _templates(app: Synthesized) -> list[str]:
    return sorted(str(path) for path in app.outdir.glob("*.template.json"))


def _allow_statements(app: Synthesized) -> list[tuple[str, str, dict[str, Any]]]:
    """Every Allow statement of every identity, resource and key policy, with where it lives."""
    found = []
    for stack, template in app.templates.items():
        for logical_id, resource in template["Resources"].items():
            properties = resource.get("Properties", {})
            documents = [properties.get("PolicyDocument"), properties.get("KeyPolicy")]
            documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
            for document in filter(None, documents):
                for statement in document["Statement"]:
                    if statement["Effect"] == "Allow":
                        found.append((f"{stack}/{logical_id}", resource["Type"], statement))
    return found


def test_cdk_nag_finds_nothing_unacknowledged(app_default: Synthesized) -> None:
    assert app_default.errors == []


def test_cdk_nag_gate_fails_on_a_new_finding(tmp_path: Path) -> None:
    app, _ = build_app(NO_BUNDLING, outdir=str(tmp_path))
    probe = Stack(app, "probe")
    s3.Bucket(probe, "PlainBucket")
    errors = nag_errors(app.synth())
    assert any("/probe/PlainBucket" in error and "AwsSolutions-S1" in error for error in errors)
    assert all("/probe/" in error for error in errors), errors


def test_every_acknowledgment_has_a_reason(app_default: Synthesized) -> None:
    for template in app_default.templates.values():
        for logical_id, resource in template["Resources"].items():
            metadata = resource.get("Metadata", {})
            for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", []):
                assert len(rule["reason"]) >= 40, f"{logical_id}: {rule}"
            for skip in metadata.get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) >= 40, f"{logical_id}: {skip}"


def test_cfn_lint_reports_no_error(app_default: Synthesized) -> None:
    result = subprocess.run(
        [str(CFN_LINT), "-i", "W3005", "--", *_templates(app_default)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_fails_no_check(app_default: Synthesized) -> None:
    assert CHECKOV.exists(), "run `make install` to create .venv-checkov"
    result = subprocess.run(
        [
            *(str(CHECKOV), "-d", str(app_default.outdir), "--framework", "cloudformation"),
            *("--quiet", "--compact", "--skip-download", "--output", "json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []
    assert sum(report.get("summary", {}).get("passed", 0) for report in reports) > 50


def test_no_statement_allows_a_wildcard_action(app_default: Synthesized) -> None:
    """Key policies included: no account-root kms:* (administration and use are separate)."""
    for where, _, statement in _allow_statements(app_default):
        actions = statement.get("Action", [])
        for action in actions if isinstance(actions, list) else [actions]:
            assert "*" not in action, f"{where}: {action}"


def test_grants_are_only_for_aws_resources(app_default: Synthesized) -> None:
    for where, _, statement in _allow_statements(app_default):
        actions = statement.get("Action", [])
        if "kms:CreateGrant" in (actions if isinstance(actions, list) else [actions]):
            assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}, where


def test_pass_role_is_always_limited_to_a_service(app_default: Synthesized) -> None:
    for where, _, statement in _allow_statements(app_default):
        actions = statement.get("Action", [])
        if "iam:PassRole" in (actions if isinstance(actions, list) else [actions]):
            assert "iam:PassedToService" in statement["Condition"]["StringEquals"], where
