"""Security properties of the foundation stack: keys, network, buckets, service role, registry."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions

from tests.infra.conftest import Synthesized, synthesize

pytestmark = pytest.mark.infra


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    document = resource["Properties"].get("PolicyDocument") or resource["Properties"].get("KeyPolicy")
    return list(document["Statement"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logical_ids(template: dict[str, Any], resource_type: str, id_prefix: str) -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type and logical_id.startswith(id_prefix)
    ]


def test_keys_rotate_and_carry_the_prefix(app_default: Synthesized) -> None:
    template = app_default.template("foundation")
    template.resource_count_is("AWS::KMS::Key", 2)
    template.all_resources_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/bmc/data"})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/bmc/model"})


def test_service_role_reaches_keys_only_through_bedrock(app_default: Synthesized) -> None:
    template = app_default.templates["bmc-foundation"]
    role_id = _logical_ids(template, "AWS::IAM::Role", "BedrockServiceRole")[0]
    for key_id in _logical_ids(template, "AWS::KMS::Key", "Keys"):
        grants = [
            s
            for s in _statements(template["Resources"][key_id])
            if s["Principal"].get("AWS") == {"Fn::GetAtt": [role_id, "Arn"]}
        ]
        assert grants, f"{key_id} does not admit the service role"
        for statement in grants:
            via = _as_list(statement["Condition"]["StringEquals"]["kms:ViaService"])
            assert {"Fn::Join": ["", ["bedrock.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]} in via
            assert not any("*" in action for action in _as_list(statement["Action"]))


def test_every_data_bucket_uses_the_data_key_and_denies_plain_http(app_default: Synthesized) -> None:
    template = app_default.templates["bmc-foundation"]
    data_key = _logical_ids(template, "AWS::KMS::Key", "KeysDataKey")[0]
    buckets = {lid: r for lid, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    assert len(buckets) == 3
    for logical_id, bucket in buckets.items():
        properties = bucket["Properties"]
        sse = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        if logical_id.startswith("AccessLogs"):
            # S3 log delivery only supports SSE-S3 on its destination.
            assert sse == {"SSEAlgorithm": "AES256"}
        else:
            assert sse == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [data_key, "Arn"]}}
            assert properties["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("AccessLogs")
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
        assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
        assert (
            rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"][
                "DaysAfterInitiation"
            ]
            == 7
        )
        policy = next(
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": logical_id}
        )
        denies = [s for s in _statements(policy) if s["Effect"] == "Deny"]
        assert any(
            s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in denies
        )
        assert any(
            s.get("Condition", {}).get("NumericLessThan", {}).get("s3:TlsVersion") == 1.2 for s in denies
        )


def test_only_the_datasets_bucket_sends_events(app_default: Synthesized) -> None:
    template = app_default.template("foundation")
    template.resource_count_is("Custom::S3BucketNotifications", 1)
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "BucketName": {"Ref": assertions.Match.string_like_regexp("^Datasets")},
            "NotificationConfiguration": {"EventBridgeConfiguration": {}},
        },
    )


def test_network_is_isolated_with_an_s3_endpoint_and_flow_logs(app_default: Synthesized) -> None:
    template = app_default.template("foundation")
    for absent in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        template.resource_count_is(absent, 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
        },
    )
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"}
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": assertions.Match.any_value()})


def test_job_security_group_has_no_ingress_and_only_https_to_s3(app_default: Synthesized) -> None:
    template = app_default.templates["bmc-foundation"]
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroup"]
    assert len(groups) == 1
    assert "SecurityGroupIngress" not in groups[0]["Properties"]
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    egress = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
    ]
    assert len(egress) == 1
    assert egress[0]["IpProtocol"] == "tcp" and egress[0]["FromPort"] == 443 and egress[0]["ToPort"] == 443
    assert "DestinationPrefixListId" in egress[0]


def test_service_role_trusts_bedrock_with_confused_deputy_conditions(app_default: Synthesized) -> None:
    template = app_default.template("foundation")
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "bedrock.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {
                                "aws:SourceArn": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            ":bedrock:",
                                            {"Ref": "AWS::Region"},
                                            ":",
                                            {"Ref": "AWS::AccountId"},
                                            ":model-customization-job/*",
                                        ],
                                    ]
                                }
                            },
                        },
                    }
                ]
            }
        },
    )


def _service_role_statements(app: Synthesized) -> dict[str, dict[str, Any]]:
    template = app.templates[f"{app.config.prefix}-foundation"]
    policy_id = _logical_ids(template, "AWS::IAM::Policy", "BedrockServiceRole")[0]
    return {s["Sid"]: s for s in _statements(template["Resources"][policy_id])}


def test_service_role_s3_access_is_read_datasets_write_artifacts(app_default: Synthesized) -> None:
    statements = _service_role_statements(app_default)
    assert sorted(statements["ReadDatasets"]["Action"]) == ["s3:GetObject", "s3:ListBucket"]
    assert "s3:PutObject" in statements["WriteJobOutputs"]["Action"]
    read_resources = str(statements["ReadDatasets"]["Resource"])
    assert "Datasets" in read_resources and "Artifacts" not in read_resources


def test_eni_statements_carry_the_bedrock_tag_conditions(app_default: Synthesized) -> None:
    statements = _service_role_statements(app_default)
    tagged = statements["CreateTaggedJobInterfaces"]["Condition"]
    assert tagged["StringEquals"] == {"aws:RequestTag/BedrockManaged": "true"}
    assert "aws:RequestTag/BedrockModelCustomizationJobArn" in tagged["ArnLike"]
    subnets = statements["CreateInterfacesInJobSubnets"]["Resource"]
    assert len(subnets) == 3  # two subnets and the security group
    manage = statements["ManageJobInterfaces"]["Condition"]
    assert len(manage["ArnEquals"]["ec2:Subnet"]) == 2
    assert "ec2:ResourceTag/BedrockModelCustomizationJobArn" in manage["ArnLike"]
    assert statements["TagJobInterfacesOnCreate"]["Condition"] == {
        "StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}
    }


def test_registry_is_on_demand_recoverable_encrypted_and_indexed_by_job(app_default: Synthesized) -> None:
    template = app_default.template("foundation")
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "runId", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": assertions.Match.any_value(),
            },
            "GlobalSecondaryIndexes": assertions.Match.array_with(
                [
                    assertions.Match.object_like(
                        {
                            "IndexName": "byJobArn",
                            "KeySchema": [{"AttributeName": "jobArn", "KeyType": "HASH"}],
                        }
                    ),
                    # One team's runs, newest first, without reading other teams' (docs/api.md).
                    assertions.Match.object_like(
                        {
                            "IndexName": "byTeam",
                            "KeySchema": [
                                {"AttributeName": "team", "KeyType": "HASH"},
                                {"AttributeName": "createdAt", "KeyType": "RANGE"},
                            ],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    ),
                ]
            ),
        },
    )


def test_data_is_retained_by_default(app_default: Synthesized) -> None:
    template = app_default.templates["bmc-foundation"]
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::DynamoDB::Table"):
            assert resource["DeletionPolicy"] == "Retain"


def test_outputs_are_exported_with_the_prefix(app_default: Synthesized) -> None:
    outputs = app_default.templates["bmc-foundation"]["Outputs"]
    expected = {
        "DatasetsBucketName",
        "ArtifactsBucketName",
        "ServiceRoleArn",
        "DataKeyArn",
        "ModelKeyArn",
        "RegistryTableName",
        "VpcId",
        "JobSubnetIds",
        "JobSecurityGroupId",
    }
    assert expected <= set(outputs)
    for name in expected:
        assert outputs[name]["Export"]["Name"] == f"bmc-{name}"


def test_no_physical_names_are_hard_coded(app_default: Synthesized) -> None:
    name_properties = (
        "BucketName",
        "TableName",
        "RoleName",
        "FunctionName",
        "TopicName",
        "StateMachineName",
        "LogGroupName",
    )
    for path, resource in {
        k: v for t in app_default.templates.values() for k, v in t["Resources"].items()
    }.items():
        if resource["Type"].startswith("Custom::"):
            continue
        for name in name_properties:
            value = resource.get("Properties", {}).get(name)
            assert not isinstance(value, str) or value.startswith(app_default.config.prefix), (
                f"{path}.{name} = {value}"
            )


def test_existing_vpc_mode_uses_the_given_ids_and_creates_no_network(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    app = synthesize(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "prefix": "team-b",
            "dataRemovalPolicy": "destroy",
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                "securityGroupId": "sg-0cccccccccccccccc",
            },
        },
    )
    assert app.errors == []
    template = app.templates["team-b-foundation"]
    types = {r["Type"] for r in template["Resources"].values()}
    assert not types & {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup", "AWS::EC2::FlowLog"}
    statements = _service_role_statements(app)
    assert "subnet/subnet-0aaaaaaaaaaaaaaaa" in str(statements["CreateInterfacesInJobSubnets"]["Resource"])
    assert "security-group/sg-0cccccccccccccccc" in str(
        statements["CreateInterfacesInJobSubnets"]["Resource"]
    )
    assert template["Outputs"]["VpcId"]["Value"] == "vpc-0123456789abcdef0"
    assert template["Outputs"]["VpcId"]["Export"]["Name"] == "team-b-VpcId"
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key"):
            assert resource["DeletionPolicy"] == "Delete"
