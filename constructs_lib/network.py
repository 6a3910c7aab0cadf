"""Where customization jobs run: isolated subnets with no internet path, S3 through an endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.lookups import describe_at_deploy_time


@dataclass(frozen=True)
class NetworkConfig:
    """Create a VPC (vpc_id is None) or place training jobs in an existing one."""

    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_id: str | None = None
    cidr: str = "10.42.0.0/16"
    max_azs: int = 2

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None


@dataclass(frozen=True)
class JobNetwork:
    """What a customization job's `vpcConfig` and the service role's ENI statements need."""

    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str

    def subnet_arns(self) -> list[str]:
        return [f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:subnet/{s}" for s in self.subnet_ids]

    def security_group_arn(self) -> str:
        return (
            f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:security-group/{self.security_group_id}"
        )


class TrainingNetwork(Construct):
    """A VPC with isolated subnets in at least two AZs, or the existing one from config.

    Created VPCs have no NAT or internet gateway (nothing to pay while idle, no route out), an
    S3 gateway endpoint, flow logs to a log group encrypted with the data key, and a security
    group with no inbound rule whose only egress is HTTPS to S3's prefix list.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NetworkConfig,
        data_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc: ec2.IVpc | None = None
        if config.existing:
            assert config.vpc_id is not None and config.security_group_id is not None
            self.job_network = JobNetwork(
                vpc_id=config.vpc_id,
                subnet_ids=list(config.subnet_ids),
                security_group_id=config.security_group_id,
            )
            return

        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.cidr),
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="training", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                )
            ],
            restrict_default_security_group=True,
        )
        vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        )
        flow_log_group = logs.LogGroup(
            self, "FlowLogs", encryption_key=data_key, retention=log_retention, removal_policy=removal_policy
        )
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        security_group = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=vpc,
            description="Bedrock customization jobs: no inbound; HTTPS to S3 through the gateway endpoint only",
            allow_all_outbound=False,
        )
        security_group.add_egress_rule(
            ec2.Peer.prefix_list(self._s3_prefix_list_id()),
            ec2.Port.tcp(443),
            "HTTPS to Amazon S3 through the gateway endpoint",
        )
        self.vpc = vpc
        self.job_network = JobNetwork(
            vpc_id=vpc.vpc_id,
            subnet_ids=[subnet.subnet_id for subnet in vpc.isolated_subnets],
            security_group_id=security_group.security_group_id,
        )

    def _s3_prefix_list_id(self) -> str:
        """The AWS-managed prefix list of S3 in the deployment region, resolved at deploy time.

        A synth-time lookup would need AWS credentials; a custom resource keeps synthesis offline.
        """
        return describe_at_deploy_time(
            self,
            "S3PrefixListLookup",
            action="describeManagedPrefixLists",
            parameters={
                "Filters": [{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{Aws.REGION}.s3"]}]
            },
            output_path="PrefixLists.0.PrefixListId",
            physical_id="s3-prefix-list",
        )
