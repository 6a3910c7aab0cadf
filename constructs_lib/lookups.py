"""Facts about existing AWS resources read at deploy time, so synthesis needs no credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag


def describe_at_deploy_time(
    scope: Construct,
    construct_id: str,
    *,
    action: str,
    parameters: Mapping[str, Any],
    output_path: str,
    physical_id: str,
) -> str:
    """One EC2 ``describe*`` call made by a custom resource; the value at ``output_path``.

    Describe calls have no resource-level permissions, so the custom resource may make only
    this one read-only call, on any resource.
    """
    call = cr.AwsSdkCall(
        service="EC2",
        action=action,
        parameters=dict(parameters),
        physical_resource_id=cr.PhysicalResourceId.of(f"{physical_id}-{Stack.of(scope).stack_name}"),
        output_paths=[output_path],
    )
    iam_action = f"ec2:{action[0].upper()}{action[1:]}"
    lookup = cr.AwsCustomResource(
        scope,
        construct_id,
        on_create=call,
        on_update=call,
        install_latest_aws_sdk=False,
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [iam.PolicyStatement(actions=[iam_action], resources=["*"])]
        ),
    )
    acknowledge_nag(
        lookup,
        "AwsSolutions-IAM5",
        f"{iam_action} has no resource-level permissions; the statement allows only this read-only call.",
        applies_to=["Resource::*"],
        apply_to_children=True,
    )
    return lookup.get_response_field(output_path)
