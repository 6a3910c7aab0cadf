"""Security properties of the foundation stack: keys, network, buckets, service role, registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import assertions

from localcloud.cloud import LocalCloud
from localcloud.iam_policy import Request, allows, denies, evaluate
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
            if "kms:CreateGrant" in _as_list(statement["Action"]):
                assert statement["Action"] == "kms:CreateGrant"
                assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


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
    # Bedrock writes job outputs under jobs/ only: reports/ is the workflow's.
    assert statements["WriteJobOutputs"]["Resource"]["Fn::Join"][1][-1] == "/jobs/*"
    assert statements["ListJobOutputs"]["Action"] == "s3:ListBucket"


def test_service_role_invokes_profile_only_teachers_through_their_profiles(app_default: Synthesized) -> None:
    statement = _service_role_statements(app_default)["InvokeTeachersThroughInferenceProfiles"]
    assert statement["Action"] == "bedrock:InvokeModel"
    resources = [json.dumps(resource) for resource in statement["Resource"]]
    profiles = [r for r in resources if "inference-profile/" in r]
    models = [r for r in resources if "foundation-model/" in r]
    assert len(profiles) == 2 and any("us.amazon.nova-premier-v1:0" in r for r in profiles)
    # The model in each region the profile routes to: us-east-1, us-east-2, us-west-2.
    for model_id in ("amazon.nova-premier-v1:0", "meta.llama3-3-70b-instruct-v1:0"):
        regions = sorted(r.split(":bedrock:")[1].split(":")[0] for r in models if model_id in r)
        assert regions == ["us-east-1", "us-east-2", "us-west-2"], model_id


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


KEY_ADMIN = "arn:aws:iam::123456789012:role/platform/KeyAdmins"


@pytest.fixture(scope="module")
def team_b(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A second deployment in the same account: existing VPC, key admins, an allow-list, and the
    API Gateway account role that the first deployment already set."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "prefix": "team-b",
            "dataRemovalPolicy": "destroy",
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                "securityGroupId": "sg-0cccccccccccccccc",
            },
            "keyAdministrators": [KEY_ADMIN],
            "allowedBaseModels": ["amazon.nova-micro-v1:0:128k"],
            "apiGatewayCloudWatchRole": "existing",
        },
    )


def test_configured_key_administrators_and_the_deployment_role_administer_the_keys(
    team_b: Synthesized,
) -> None:
    for key_prefix in ("KeysDataKey", "KeysModelKey"):
        statements = _key_statements(team_b, key_prefix)
        (admin,) = [s for s in statements if s["Sid"] == "KeyAdministration"]
        principals = _as_list(admin["Principal"]["AWS"])
        # CloudFormation's role must keep kms:PutKeyPolicy (KMS's lockout safety check).
        assert principals == [
            KEY_ADMIN,
            f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1",
        ]
        assert not allows(statements, _use("kms:PutKeyPolicy", None))  # other roles of the account
        assert allows(statements, _use("kms:PutKeyPolicy", None, KEY_ADMIN))
        assert allows(statements, _use("kms:Decrypt", "s3" if key_prefix == "KeysDataKey" else "bedrock"))


def test_allowed_base_models_limit_the_foundation_models_of_the_submit_role(team_b: Synthesized) -> None:
    workflow = team_b.templates["team-b-workflow"]
    creates = [
        statement
        for resource in workflow["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "bedrock:CreateModelCustomizationJob" in _as_list(statement["Action"])
    ]
    (create,) = creates
    resources = json.dumps(create["Resource"])
    # Nova Micro and its teachers (Nova Pro, and Nova Premier through its inference profile).
    for model_id in ("amazon.nova-micro-v1:0:128k", "amazon.nova-pro-v1:0", "amazon.nova-premier-v1:0"):
        assert f"foundation-model/{model_id}" in resources
    assert "foundation-model/*" not in resources and "llama" not in resources
    assert create["Condition"]["StringEquals"] == {"aws:RequestTag/bmc:prefix": "team-b"}
    # Only Nova Premier teaches through a profile here: Llama's profile is not granted.
    service_role = _service_role_statements(team_b)["InvokeTeachersThroughInferenceProfiles"]
    assert "llama" not in json.dumps(service_role["Resource"])


def test_an_existing_api_gateway_account_role_is_left_alone(team_b: Synthesized) -> None:
    api = team_b.templates["team-b-api"]
    types = [resource["Type"] for resource in api["Resources"].values()]
    assert "AWS::ApiGateway::Account" not in types
    assert types.count("AWS::IAM::Role") == 1  # the function's only


def test_existing_vpc_mode_uses_the_given_ids_and_creates_no_network(team_b: Synthesized) -> None:
    app = team_b
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


# --- key policies -------------------------------------------------------------------------------

USE_ACTIONS = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
FUNCTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/bmc-workflow-SomeFunctionRole"


def _key_statements(app: Synthesized, key_prefix: str) -> list[dict[str, Any]]:
    """The key's policy, resolved to local values (us-east-1, account 123456789012)."""
    stack = f"{app.config.prefix}-foundation"
    template = app.templates[stack]
    key_id = _logical_ids(template, "AWS::KMS::Key", key_prefix)[0]
    cloud = LocalCloud(app.templates, prefix=app.config.prefix)
    return list(
        cloud.resolve_offline(stack, template["Resources"][key_id]["Properties"]["KeyPolicy"])["Statement"]
    )


def _use(action: str, via: str | None, principal: str = FUNCTION_ROLE, **context: Any) -> Request:
    values = {"kms:CallerAccount": ACCOUNT, **context}
    if via:
        values["kms:ViaService"] = f"{via}.us-east-1.amazonaws.com"
    return Request(action, "*", {"AWS": principal}, values)


@pytest.mark.parametrize("key_prefix", ["KeysDataKey", "KeysModelKey"])
def test_key_administrators_cannot_use_the_keys(app_default: Synthesized, key_prefix: str) -> None:
    statements = _key_statements(app_default, key_prefix)
    assert not any("kms:*" in _as_list(s["Action"]) for s in statements)
    (admin,) = [s for s in statements if s["Sid"] == "KeyAdministration"]
    assert admin["Principal"] == {"AWS": ROOT}  # default: the account's IAM policies decide
    assert not set(_as_list(admin["Action"])) & (USE_ACTIONS | {"kms:CreateGrant"})
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation"} <= set(admin["Action"])
    # Through IAM, a role of the account can administer but never decrypt directly...
    assert allows(statements, _use("kms:PutKeyPolicy", None))
    assert evaluate(statements, _use("kms:Decrypt", None)) == "ImplicitDeny"
    # ... nor create a grant for itself, only an AWS service for its resource.
    assert not allows(statements, _use("kms:CreateGrant", None))
    assert allows(statements, _use("kms:CreateGrant", None, **{"kms:GrantIsForAWSResource": "true"}))
    # Another account gets nothing.
    stranger = "arn:aws:iam::210987654321:role/x"
    assert not allows(
        statements, _use("kms:Decrypt", "s3", stranger, **{"kms:CallerAccount": "210987654321"})
    )


def test_the_data_key_is_used_only_through_the_services_that_hold_the_data(app_default: Synthesized) -> None:
    statements = _key_statements(app_default, "KeysDataKey")
    for service in ("s3", "dynamodb", "sns", "sqs", "lambda"):
        assert allows(statements, _use("kms:Decrypt", service)), service
        assert allows(statements, _use("kms:GenerateDataKey", service)), service
    assert not allows(statements, _use("kms:Decrypt", "bedrock"))
    # kms:Encrypt: only Lambda (environment variables) and CloudWatch Logs encrypt with the key.
    assert allows(statements, _use("kms:Encrypt", "lambda"))
    assert not allows(statements, _use("kms:Encrypt", "s3"))
    encrypting = {s["Sid"] for s in statements if "kms:Encrypt" in _as_list(s["Action"])}
    assert encrypting == {"EncryptLambdaEnvironments", "CloudWatchLogsOfThisDeployment"}


def test_cloudwatch_logs_may_use_the_data_key_for_this_deployments_log_groups_only(
    app_default: Synthesized,
) -> None:
    statements = _key_statements(app_default, "KeysDataKey")
    logs = {"Service": "logs.us-east-1.amazonaws.com"}

    def log_group(name: str) -> Request:
        arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"
        return Request("kms:GenerateDataKey", "*", logs, {"kms:EncryptionContext:aws:logs:arn": arn})

    for stack in app_default.templates:
        # CloudFormation names a log group `<stack>-<logical id>-<suffix>`.
        for logical_id, resource in app_default.templates[stack]["Resources"].items():
            if resource["Type"] == "AWS::Logs::LogGroup" and "KmsKeyId" in resource["Properties"]:
                assert allows(statements, log_group(f"{stack}-{logical_id}-AbCdEf123456")), logical_id
    assert not allows(statements, log_group("other-team-workflow-Logs-AbCdEf"))
    assert not allows(statements, log_group("/aws/lambda/someone-else"))


def test_bedrock_may_decrypt_custom_models_for_provisioned_throughput(app_default: Synthesized) -> None:
    """The Nova guide's PermissionsNovaProvisionedThroughput statement, scoped to this account."""
    statements = _key_statements(app_default, "KeysModelKey")
    bedrock = {"Service": "bedrock.amazonaws.com"}
    context = {"kms:EncryptionContextKeys": ["aws:bedrock:custom-model"], "aws:SourceAccount": ACCOUNT}
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert allows(statements, Request(action, "*", bedrock, context))
    assert not allows(statements, Request("kms:Decrypt", "*", bedrock, {**context, "aws:SourceAccount": "1"}))
    assert not allows(statements, Request("kms:Decrypt", "*", bedrock, {"aws:SourceAccount": ACCOUNT}))
    assert not allows(statements, Request("kms:CreateGrant", "*", bedrock, context))
    # The account's roles reach the model key through Bedrock only.
    assert allows(statements, _use("kms:Decrypt", "bedrock"))
    assert not allows(statements, _use("kms:Decrypt", "s3"))


# --- bucket policies ----------------------------------------------------------------------------


def _bucket_statements(app: Synthesized, bucket_prefix: str) -> tuple[str, str, list[dict[str, Any]]]:
    """(bucket ARN, data key ARN, resolved bucket policy statements)."""
    stack = f"{app.config.prefix}-foundation"
    template = app.templates[stack]
    cloud = LocalCloud(app.templates, prefix=app.config.prefix)
    bucket_id = _logical_ids(template, "AWS::S3::Bucket", bucket_prefix)[0]
    policy = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket_id}
    )
    key_id = _logical_ids(template, "AWS::KMS::Key", "KeysDataKey")[0]
    return (
        cloud.resolve_offline(stack, {"Fn::GetAtt": [bucket_id, "Arn"]}),
        cloud.resolve_offline(stack, {"Fn::GetAtt": [key_id, "Arn"]}),
        list(cloud.resolve_offline(stack, policy["Properties"]["PolicyDocument"])["Statement"]),
    )


@pytest.mark.parametrize("bucket_prefix", ["Datasets", "Artifacts"])
def test_buckets_refuse_uploads_not_encrypted_with_the_data_key(
    app_default: Synthesized, bucket_prefix: str
) -> None:
    bucket, data_key, statements = _bucket_statements(app_default, bucket_prefix)
    algorithm = "s3:x-amz-server-side-encryption"
    key_id = "s3:x-amz-server-side-encryption-aws-kms-key-id"

    def put(**headers: str) -> Request:
        tls = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
        return Request("s3:PutObject", f"{bucket}/jobs/x", {"AWS": FUNCTION_ROLE}, {**tls, **headers})

    # Without headers the bucket default applies (the data key): Bedrock writes this way.
    assert not denies(statements, put())
    assert not denies(statements, put(**{algorithm: "aws:kms", key_id: data_key}))
    assert denies(statements, put(**{algorithm: "AES256"}))
    assert denies(statements, put(**{algorithm: "aws:kms"}))  # S3 would use aws/s3
    assert denies(statements, put(**{algorithm: "aws:kms", key_id: data_key.replace("Key", "Other")}))
    assert denies(statements, put(**{algorithm: "aws:kms:dsse", key_id: data_key}))


def test_snapshots_are_written_only_by_the_workflow_and_deleted_only_by_a_purge(
    app_default: Synthesized,
) -> None:
    bucket, data_key, statements = _bucket_statements(app_default, "Datasets")
    writer = f"arn:aws:iam::{ACCOUNT}:role/bmc-us-east-1-snapshot-writer"
    purger = f"arn:aws:iam::{ACCOUNT}:role/bmc-us-east-1-api"
    admin = f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin"
    encrypted = {
        "aws:SecureTransport": "true",
        "s3:TlsVersion": "1.3",
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": data_key,
    }

    def request(action: str, role: str, key: str = "snapshots/run-1/training.jsonl") -> Request:
        return Request(action, f"{bucket}/{key}", {"AWS": role}, {**encrypted, "aws:PrincipalArn": role})

    assert not denies(statements, request("s3:PutObject", writer))
    for other in (FUNCTION_ROLE, purger, admin):
        assert denies(statements, request("s3:PutObject", other)), other
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert not denies(statements, request(action, purger))
        for other in (FUNCTION_ROLE, writer, admin):
            assert denies(statements, request(action, other)), (action, other)
    # Datasets outside snapshots/ are the teams' own: nothing here restricts them.
    assert not denies(statements, request("s3:PutObject", FUNCTION_ROLE, "datasets/support/train.jsonl"))
    assert not denies(statements, request("s3:DeleteObject", admin, "datasets/support/train.jsonl"))
