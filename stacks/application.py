"""Builds the CDK app: config from context, the stacks, and the cdk-nag gate."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from constructs_lib.compliance import acknowledge_cdk_handlers
from stacks.api_stack import ApiStack
from stacks.config import AppConfig, load_config
from stacks.foundation_stack import FoundationStack
from stacks.names import stack_name
from stacks.operations_stack import OperationsStack
from stacks.workflow_stack import WorkflowStack

REPO_ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    """The context block of cdk.json, which the CDK CLI would pass to the app."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[cdk.App, AppConfig]:
    """Create the app; raises ConfigError for bad configuration.

    Under the CDK CLI the context arrives through the environment. Run directly (tests, demo,
    `python app.py`), cdk.json's context is read here, with `context` overriding it.
    """
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = str(REPO_ROOT / "cdk.out")
    if "CDK_CONTEXT_JSON" in os.environ and context is None:
        app = cdk.App(outdir=outdir)
    else:
        app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = load_config(app.node.get_all_context())
    env = cdk.Environment(account=config.account, region=config.region)
    foundation = FoundationStack(
        app,
        stack_name(config.prefix, "foundation"),
        config=config,
        env=env,
        description="Bedrock model customization: keys, network, buckets, service role, registry",
    )
    workflow = WorkflowStack(
        app,
        stack_name(config.prefix, "workflow"),
        config=config,
        foundation=foundation,
        env=env,
        description="Bedrock model customization: workflow, functions, triggers, notifications",
    )
    api = ApiStack(
        app,
        stack_name(config.prefix, "api"),
        config=config,
        foundation=foundation,
        workflow=workflow,
        env=env,
        description="Bedrock model customization: the /custom-models REST API",
    )
    operations = OperationsStack(
        app,
        f"{config.prefix}-operations",
        config=config,
        foundation=foundation,
        workflow=workflow,
        api=api,
        env=env,
        description="Bedrock model customization: dashboard, alarms, alerts, budget, saved log queries",
    )
    for stack in (foundation, workflow, api, operations):
        acknowledge_cdk_handlers(stack)
    cdk.Tags.of(app).add("project", "bedrock-model-customization")
    cdk.Tags.of(app).add("deployment", config.prefix)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, config


def nag_errors(assembly: cdk.cx_api.CloudAssembly) -> list[str]:
    """Unacknowledged cdk-nag findings (and any other error annotation) in a synthesized app."""
    errors = []
    for stack in assembly.stacks_recursively:
        for message in stack.messages:
            if message.level == cdk.cx_api.SynthesisMessageLevel.ERROR:
                errors.append(f"{message.id}: {message.entry.data}")
    return errors
