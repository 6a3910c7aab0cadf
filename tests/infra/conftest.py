"""One synthesis of the default app, shared by every infra test (each synthesis costs seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from stacks.application import build_app, nag_errors
from stacks.config import AppConfig


@dataclass
class Synthesized:
    outdir: Path
    config: AppConfig
    templates: dict[str, dict[str, Any]]
    errors: list[str]

    def template(self, suffix: str) -> assertions.Template:
        return assertions.Template.from_json(self.templates[f"{self.config.prefix}-{suffix}"])

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            f"{stack}/{logical_id}": resource
            for stack, template in self.templates.items()
            for logical_id, resource in template.get("Resources", {}).items()
            if resource["Type"] == resource_type
        }


# Tests read templates only: skip bundling the Lambda asset (it downloads arm64 wheels).
NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


def synthesize(outdir: Path, context: Mapping[str, Any] | None = None) -> Synthesized:
    app, config = build_app({**NO_BUNDLING, **(context or {})}, outdir=str(outdir))
    assembly = app.synth()
    templates = {
        stack.stack_name: json.loads(Path(stack.template_full_path).read_text()) for stack in assembly.stacks
    }
    return Synthesized(outdir=outdir, config=config, templates=templates, errors=nag_errors(assembly))


@pytest.fixture(scope="session")
def app_default(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk.out"))
