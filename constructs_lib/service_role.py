"""The IAM role Amazon Bedrock assumes to run this deployment's customization jobs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from bmc.catalog.models import Teacher
from constructs import Construct

from constructs_lib.bedrock_scope import bedrock_arn, foundation_model_arn
from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding
from constructs_lib.network import JobNetwork

BEDROCK_SERVICE = "bedrock.amazonaws.com"
JOB_OUTPUT_PREFIX = "jobs/"  # bmc.aws.bedrock_ops.output_s3_uri


def customization_job_arn_pattern() -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:model-customization-job/*"


class BedrockServiceRole(Construct):
    """Trusts Bedrock only for customization jobs of this account and region (confused deputy).

    S3 access is read on the datasets bucket and write on the artifacts bucket; KMS access is
    granted in the key policies through `kms:ViaService` (see EncryptionKeys); ENI permissions
    follow the tag-conditioned statements Bedrock documents for VPC jobs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        datasets_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        job_network: JobNetwork,
        teachers: Sequence[Teacher] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by Amazon Bedrock to run model customization jobs of this deployment",
            assumed_by=iam.ServicePrincipal(
                BEDROCK_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": customization_job_arn_pattern()},
                },
            ),
        )
        self._add_s3_access(datasets_bucket, artifacts_bucket)
        self._add_vpc_access(job_network)
        self._add_teacher_access(teachers)

    def _add_teacher_access(self, teachers: Sequence[Teacher]) -> None:
        """A distillation job invokes a profile-only teacher through its system inference profile:
        Bedrock's documented role needs InvokeModel on the profile here and on the model in every
        region the profile routes to. On-demand teachers need no permission of the role."""
        resources = []
        for teacher in teachers:
            if teacher.on_demand:
                continue
            resources.append(bedrock_arn(f"inference-profile/{teacher.invocation_id}"))
            resources += [
                foundation_model_arn(teacher.model_id, region) for region in teacher.profile_regions
            ]
        if resources:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="InvokeTeachersThroughInferenceProfiles",
                    actions=["bedrock:InvokeModel"],
                    resources=resources,
                )
            )

    def _add_s3_access(self, datasets: s3.IBucket, artifacts: s3.IBucket) -> None:
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadDatasets",
                actions=["s3:GetObject", "s3:ListBucket"],
                resources=[datasets.bucket_arn, datasets.arn_for_objects("*")],
            )
        )
        # Job outputs go under jobs/<runId>/ (reports/ is the workflow's own: Bedrock never writes it).
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteJobOutputs",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[artifacts.arn_for_objects(f"{JOB_OUTPUT_PREFIX}*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListJobOutputs", actions=["s3:ListBucket"], resources=[artifacts.bucket_arn]
            )
        )
        acknowledge_nag(
            self.role,
            "AwsSolutions-IAM5",
            "Bedrock reads dataset objects and writes job outputs under per-run keys chosen at run time; "
            "reads are limited to the datasets bucket's objects and writes to the artifacts bucket's jobs/ "
            "prefix.",
            applies_to=[
                arn_wildcard_finding(datasets, "/*"),
                arn_wildcard_finding(artifacts, f"/{JOB_OUTPUT_PREFIX}*"),
            ],
            apply_to_children=True,
        )

    def _add_vpc_access(self, network: JobNetwork) -> None:
        network_interfaces = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:network-interface/*"
        job_arn = customization_job_arn_pattern()
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeNetwork",
                # EC2 Describe* calls do not support resource-level permissions.
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateTaggedJobInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[network_interfaces],
                conditions={
                    "StringEquals": {"aws:RequestTag/BedrockManaged": "true"},
                    "ArnLike": {"aws:RequestTag/BedrockModelCustomizationJobArn": job_arn},
                },
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateInterfacesInJobSubnets",
                actions=["ec2:CreateNetworkInterface"],
                resources=[*network.subnet_arns(), network.security_group_arn()],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageJobInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=["*"],
                conditions={
                    "ArnEquals": {"ec2:Subnet": network.subnet_arns()},
                    "ArnLike": {"ec2:ResourceTag/BedrockModelCustomizationJobArn": job_arn},
                },
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TagJobInterfacesOnCreate",
                actions=["ec2:CreateTags"],
                resources=[network_interfaces],
                conditions={"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}},
            )
        )
        acknowledge_nag(
            self.role,
            "AwsSolutions-IAM5",
            "Bedrock creates job ENIs with ids unknown in advance: creation requires the BedrockManaged and "
            "job-ARN request tags, management requires the job subnets and the job-ARN resource tag, and "
            "EC2 Describe calls have no resource-level permissions.",
            applies_to=[
                "Resource::*",
                "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*",
            ],
            apply_to_children=True,
        )
