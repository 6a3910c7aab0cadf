"""Acknowledging a scanner finding is a decision: these helpers make each one carry its reason.

cdk-nag suppressions and checkov skips are attached to the one resource they concern, never to
a whole stack, so a new resource with the same finding still fails the gates.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnResource, Stack
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct


def acknowledge_nag(
    construct: IConstruct,
    rule_id: str,
    reason: str,
    *,
    applies_to: Sequence[str] = (),
    apply_to_children: bool = False,
) -> None:
    """Acknowledge one cdk-nag finding (optionally limited to the given finding details)."""
    suppression = NagPackSuppression(id=rule_id, reason=reason, applies_to=list(applies_to) or None)
    NagSuppressions.add_resource_suppressions(construct, [suppression], apply_to_children=apply_to_children)


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip one checkov check on the CloudFormation resource behind `construct`."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)


def arn_wildcard_finding(construct: IConstruct, suffix: str) -> str:
    """The cdk-nag IAM5 finding detail for `<construct's ARN><suffix>`, e.g. a bucket's `/*`."""
    stack = Stack.of(construct)
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource)
    return f"Resource::<{stack.resolve(stack.get_logical_id(resource))}.Arn>{suffix}"


# Lambda functions that CDK itself adds to implement custom resources, by construct id prefix.
_CDK_HANDLER_IDS = (
    "AWS679f53fac002430cb0da5b7982bd2287",  # AwsCustomResource singleton
    "BucketNotificationsHandler",  # S3 -> EventBridge notification configuration
    "Custom::VpcRestrictDefaultSGCustomResourceProvider",  # removes the default SG's rules
)
_CDK_HANDLER_REASON = (
    "CDK-provided deployment-time custom resource handler: it runs only during CloudFormation "
    "create/update/delete, is invoked synchronously by CloudFormation (which retries and reports "
    "failures), calls only AWS control-plane APIs, and its code is owned by the CDK."
)


def acknowledge_cdk_handlers(stack: Stack) -> None:
    """Acknowledge the findings on CDK's own custom resource Lambdas (code we do not own)."""
    for construct in stack.node.find_all():
        if not construct.node.id.startswith(_CDK_HANDLER_IDS):
            continue
        for child in construct.node.find_all():
            if isinstance(child, CfnResource) and child.cfn_resource_type == "AWS::Lambda::Function":
                for check_id in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"):
                    skip_checkov(child, check_id, _CDK_HANDLER_REASON)
        acknowledge_nag(
            construct,
            "AwsSolutions-IAM4",
            f"{_CDK_HANDLER_REASON} The AWS managed AWSLambdaBasicExecutionRole only lets it write its own logs.",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ],
            apply_to_children=True,
        )
        acknowledge_nag(
            construct,
            "AwsSolutions-L1",
            f"{_CDK_HANDLER_REASON} Its runtime is chosen and updated by the CDK release.",
            apply_to_children=True,
        )
