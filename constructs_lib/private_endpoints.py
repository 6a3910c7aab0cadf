"""PrivateLink to Amazon Bedrock: interface endpoints in the deployment's VPC (opt-in).

Each endpoint bills per AZ-hour, so none exists unless ``privateEndpoints`` lists it. An
endpoint gets private DNS (the regional Bedrock host name resolves to it inside the VPC), a
security group admitting HTTPS from the VPC's CIDR only, and a policy that allows only this
account's principals, and of those only the calls the platform makes (the runtime's invoke
calls, which Converse and ConverseStream also use; the control plane's customization,
serving and listing calls). The platform's own functions run outside the VPC
(docs/decisions.md); the endpoints give workloads inside the VPC a private path to Bedrock.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib.lookups import describe_at_deploy_time

# The calls each endpoint's policy allows (Converse is authorized as InvokeModel*).
ENDPOINT_ACTIONS: dict[str, tuple[str, ...]] = {
    "bedrock-runtime": ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
    "bedrock": (
        "bedrock:CreateModelCustomizationJob",
        "bedrock:GetModelCustomizationJob",
        "bedrock:StopModelCustomizationJob",
        "bedrock:ListModelCustomizationJobs",
        "bedrock:GetFoundationModel",
        "bedrock:ListFoundationModels",
        "bedrock:GetCustomModel",
        "bedrock:ListCustomModels",
        "bedrock:DeleteCustomModel",
        "bedrock:CreateProvisionedModelThroughput",
        "bedrock:GetProvisionedModelThroughput",
        "bedrock:ListProvisionedModelThroughputs",
        "bedrock:DeleteProvisionedModelThroughput",
        "bedrock:CreateCustomModelDeployment",
        "bedrock:GetCustomModelDeployment",
        "bedrock:ListCustomModelDeployments",
        "bedrock:DeleteCustomModelDeployment",
        "bedrock:TagResource",
        "bedrock:ListTagsForResource",
    ),
}
HTTPS = 443


class PrivateEndpoints(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        services: Sequence[str],
        vpc_id: str,
        subnet_ids: Sequence[str],
        vpc_cidr: str | None,
    ) -> None:
        """``vpc_cidr`` None: the VPC exists already, its CIDR is read at deploy time."""
        super().__init__(scope, construct_id)
        cidr = vpc_cidr if vpc_cidr is not None else self._vpc_cidr(vpc_id)
        self.security_group = ec2.CfnSecurityGroup(
            self,
            "SecurityGroup",
            vpc_id=vpc_id,
            group_description=f"{prefix}: Bedrock interface endpoints, HTTPS from the VPC only",
            security_group_ingress=[
                ec2.CfnSecurityGroup.IngressProperty(
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    cidr_ip=cidr,
                    description="HTTPS from inside the VPC",
                )
            ],
            # No egress: an endpoint answers, it never opens connections (the rule CDK uses for "none").
            security_group_egress=[
                ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="icmp",
                    from_port=252,
                    to_port=86,
                    cidr_ip="255.255.255.255/32",
                    description="Disallow all traffic",
                )
            ],
        )
        self.endpoints = {
            service: ec2.CfnVPCEndpoint(
                self,
                service.title().replace("-", ""),
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{Aws.REGION}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(subnet_ids),
                security_group_ids=[self.security_group.attr_group_id],
                policy_document=endpoint_policy(ENDPOINT_ACTIONS[service]),
            )
            for service in services
        }

    def _vpc_cidr(self, vpc_id: str) -> str:
        """The existing VPC's primary CIDR, read at deploy time (synthesis stays offline)."""
        return describe_at_deploy_time(
            self,
            "VpcCidrLookup",
            action="describeVpcs",
            parameters={"VpcIds": [vpc_id]},
            output_path="Vpcs.0.CidrBlock",
            physical_id="vpc-cidr",
        )


def endpoint_policy(actions: Sequence[str]) -> dict[str, object]:
    """Only principals of this account, only ``actions``, through the endpoint."""
    document: dict[str, object] = iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ThisAccountOnly",
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=["*"],
                conditions={"StringEquals": {"aws:PrincipalAccount": Aws.ACCOUNT_ID}},
            )
        ]
    ).to_json()
    return document
