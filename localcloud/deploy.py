"""Deploy the synthesized templates into moto, as CloudFormation would create their resources.

`TemplateDeployer` names every resource deterministically (physical names and ARNs), resolves
the templates' intrinsic functions to those names, and creates what the local cloud runs:
keys with their key policies, buckets with EventBridge notifications and their policies, the
tables, roles, topic, queues, schedule group, the functions with the environment the template
gives them (and their role policies, for what AWS decides from them), the state machine with its
definition resolved to local ARNs and the EventBridge rules. `synthesize_templates` makes the
templates it reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.template import Template, resolve

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
# Resources that exist only at deploy time in AWS and have no local counterpart.
PREFIX_LIST_ID = "pl-63a5400a"
POWERTOOLS_LAYER = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:1"
# The runtime moto knows closest to the template's (handlers run in this interpreter anyway).
MOTO_RUNTIME = "python3.12"
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# What API Gateway answers when a stage logs and the account has no CloudWatch Logs role.
NO_CLOUDWATCH_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


class DeploymentError(RuntimeError):
    """A resource fails to create as it would in CloudFormation (the message is AWS's)."""


@dataclass
class LocalDeployment:
    """Where things are in the local cloud, for scenarios and the demo."""

    prefix: str
    datasets_bucket: str = ""
    artifacts_bucket: str = ""
    registry_table: str = ""
    topic_arn: str = ""
    state_machine_arn: str = ""
    functions: dict[str, str] = field(default_factory=dict)  # handler module -> function name
    schedule_group: str = ""  # where serve creates the TTL schedules
    # (rule and target, function ARN, interval in seconds, the target's constant input or None)
    scheduled_rules: list[tuple[str, str, float, str | None]] = field(default_factory=list)


class TemplateDeployer:
    """The app's templates deployed into moto (which must be active), and their local names.

    `client` returns the local cloud's boto3 client of a service. One deployer per local cloud.
    """

    def __init__(
        self,
        templates: Mapping[str, dict[str, Any]],
        *,
        prefix: str,
        client: Callable[[str], Any],
        log_level: str | None = None,
    ) -> None:
        self.templates = {name: Template(stack_name=name, body=body) for name, body in templates.items()}
        self.prefix = prefix
        self.deployment = LocalDeployment(prefix=prefix)
        self._client = client
        self._log_level = log_level
        self._physical: dict[str, dict[str, str]] = {}  # logical id -> attribute -> value
        self._exports: dict[str, str] = {}
        # Function name -> (role ARN, its policy statements), read by the S3 policy patch.
        self._identity_policies: dict[str, tuple[str, list[dict[str, Any]]]] = {}

    def resolve_offline(self, stack_name: str, value: Any) -> Any:
        """`value` of the stack's template with intrinsic functions resolved to local names.

        Needs no AWS: resources get the names `_name_resources` gives them (keys keep their
        placeholder ARNs). Tests use it to evaluate policies the way AWS would.
        """
        if not self._physical:
            for template in self.templates.values():
                self._name_resources(template)
            for template in self.templates.values():
                self._collect_exports(template)
        return self._resolve(value, self.templates[stack_name])

    def deploy(self, identity_policies: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
        """Create every resource; each function's role policies go into ``identity_policies``."""
        self._identity_policies = identity_policies
        foundation = self.templates[f"{self.prefix}-foundation"]
        workflow = self.templates[f"{self.prefix}-workflow"]
        # The API stack is optional: its function and idempotency table; API Gateway has no
        # local counterpart (`api()` builds the proxy event the gateway would send).
        api = self.templates.get(f"{self.prefix}-api")
        templates = [foundation, workflow] + ([api] if api else [])
        for template in templates:
            self._name_resources(template)
        self._create_keys(foundation)
        self._create_buckets(foundation)
        for template in templates:
            self._create_tables(template)
        self._collect_exports(foundation)
        self._collect_exports(workflow)
        self._create_roles(workflow)
        self._create_topics(workflow)
        self._create_queues(workflow)
        self._create_schedule_groups(workflow)
        self._create_functions(workflow)
        self._create_state_machine(workflow)
        self._create_rules(workflow)
        if api:
            self._set_api_gateway_account(templates)
            self._create_roles(api)
            self._create_functions(api)

    def _name_resources(self, template: Template) -> None:
        """Deterministic physical names and ARNs, as CloudFormation would generate them."""
        for logical_id, resource in template.resources.items():
            name = f"{self.prefix}-{logical_id}"[:64]
            resource_type = resource["Type"]
            properties = resource.get("Properties", {})
            values = {"Ref": name, "Arn": f"arn:{PARTITION}:local:{REGION}:{ACCOUNT}:{name}"}
            if resource_type == "AWS::S3::Bucket":
                name = name.lower()[:63]
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:s3:::{name}"}
            elif resource_type == "AWS::DynamoDB::Table":
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
            elif resource_type == "AWS::IAM::Role":
                # A fixed RoleName (the roles a bucket policy names) refers to pseudo parameters only.
                if "RoleName" in properties:
                    name = str(self._resolve(properties["RoleName"], template))
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"}
            elif resource_type == "AWS::Lambda::Function":
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"}
            elif resource_type == "AWS::SNS::Topic":
                arn = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
                values = {"Ref": arn, "TopicArn": arn, "TopicName": name}
            elif resource_type == "AWS::SQS::Queue":
                values = {
                    "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                    "Arn": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
                    "QueueName": name,
                }
            elif resource_type == "AWS::StepFunctions::StateMachine":
                name = properties.get("StateMachineName", name)
                arn = f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
                values = {"Ref": arn, "Arn": arn, "Name": name}
            elif resource_type == "AWS::Logs::LogGroup":
                values = {"Ref": name, "Arn": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"}
            elif resource_type == "AWS::EC2::Subnet":
                values = {"Ref": _fake_id("subnet", logical_id)}
            elif resource_type == "AWS::EC2::SecurityGroup":
                values = {"Ref": _fake_id("sg", logical_id), "GroupId": _fake_id("sg", logical_id)}
            elif resource_type == "AWS::EC2::VPC":
                values = {"Ref": _fake_id("vpc", logical_id)}
            elif resource_type == "Custom::AWS":
                values = {"PrefixLists.0.PrefixListId": PREFIX_LIST_ID, "Ref": name}
            self._physical[logical_id] = values
        for logical_id in template.body.get("Parameters", {}):
            self._physical[logical_id] = {"Ref": POWERTOOLS_LAYER}

    def _value(self, logical_id: str, attribute: str) -> str:
        try:
            return self._physical[logical_id][attribute]
        except KeyError:
            raise KeyError(f"no local value for {logical_id}.{attribute}") from None

    def _resolve(self, value: Any, template: Template) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": template.stack_name,
        }
        return resolve(value, self._value, pseudo=pseudo, exports=self._exports)

    def physical_names_of_type(self, resource_type: str) -> list[str]:
        return [
            self._physical[logical_id]["Ref"]
            for template in self.templates.values()
            for logical_id in template.of_type(resource_type)
        ]

    def _create_keys(self, template: Template) -> None:
        """Keys with the template's key policy: the simulated Bedrock reads it."""
        kms = self._client("kms")
        for logical_id, resource in template.of_type("AWS::KMS::Key").items():
            policy = self._resolve(resource["Properties"]["KeyPolicy"], template)
            key = kms.create_key(Description=logical_id, Policy=json.dumps(policy))["KeyMetadata"]
            self._physical[logical_id] = {"Ref": key["KeyId"], "Arn": key["Arn"]}

    def _create_buckets(self, template: Template) -> None:
        s3 = self._client("s3")
        notified = {
            self._resolve(r["Properties"]["BucketName"], template)
            for r in template.of_type("Custom::S3BucketNotifications").values()
            if "EventBridgeConfiguration" in r["Properties"]["NotificationConfiguration"]
        }
        for logical_id, resource in template.of_type("AWS::S3::Bucket").items():
            name = self._physical[logical_id]["Ref"]
            s3.create_bucket(Bucket=name)
            properties = self._resolve(resource["Properties"], template)
            if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            rules = properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            if rules:
                s3.put_bucket_encryption(
                    Bucket=name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                            }
                            for rule in rules
                        ]
                    },
                )
            if name in notified:
                s3.put_bucket_notification_configuration(
                    Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
                )
            if logical_id.startswith("Datasets"):
                self.deployment.datasets_bucket = name
            elif logical_id.startswith("Artifacts"):
                self.deployment.artifacts_bucket = name
        # Bucket policies are evaluated with their conditions (localcloud.patches.s3).
        for resource in template.of_type("AWS::S3::BucketPolicy").values():
            properties = self._resolve(resource["Properties"], template)
            s3.put_bucket_policy(Bucket=properties["Bucket"], Policy=json.dumps(properties["PolicyDocument"]))

    def _create_tables(self, template: Template) -> None:
        dynamodb = self._client("dynamodb")
        for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
            properties = resource["Properties"]
            name = self._physical[logical_id]["Ref"]
            indexes = properties.get("GlobalSecondaryIndexes")
            dynamodb.create_table(
                TableName=name,
                KeySchema=properties["KeySchema"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
                **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            )
            if logical_id.startswith("Registry"):
                self.deployment.registry_table = name

    def _collect_exports(self, template: Template) -> None:
        for output in template.body.get("Outputs", {}).values():
            if "Export" in output:
                self._exports[self._resolve(output["Export"]["Name"], template)] = self._resolve(
                    output["Value"], template
                )

    def _create_roles(self, template: Template) -> None:
        iam = self._client("iam")
        for logical_id, resource in template.of_type("AWS::IAM::Role").items():
            document = self._resolve(resource["Properties"]["AssumeRolePolicyDocument"], template)
            iam.create_role(
                RoleName=self._physical[logical_id]["Ref"], AssumeRolePolicyDocument=json.dumps(document)
            )

    def _create_topics(self, template: Template) -> None:
        sns = self._client("sns")
        for logical_id in template.of_type("AWS::SNS::Topic"):
            self.deployment.topic_arn = sns.create_topic(Name=self._physical[logical_id]["TopicName"])[
                "TopicArn"
            ]

    def _create_queues(self, template: Template) -> None:
        sqs = self._client("sqs")
        for logical_id in template.of_type("AWS::SQS::Queue"):
            sqs.create_queue(QueueName=self._physical[logical_id]["Arn"].rsplit(":", 1)[1])

    def _set_api_gateway_account(self, templates: list[Template]) -> None:
        """A stage that logs needs API Gateway's account-level CloudWatch Logs role, as in AWS."""
        apigateway = self._client("apigateway")
        for template in templates:
            for resource in template.of_type("AWS::ApiGateway::Account").values():
                role_arn = self._resolve(resource["Properties"]["CloudWatchRoleArn"], template)
                apigateway.update_account(
                    patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
                )
        logging_stages = [
            logical_id
            for template in templates
            for logical_id, stage in template.of_type("AWS::ApiGateway::Stage").items()
            if "AccessLogSetting" in stage["Properties"]
            or any(setting.get("LoggingLevel") for setting in stage["Properties"].get("MethodSettings", []))
        ]
        if logging_stages and not apigateway.get_account().get("cloudwatchRoleArn"):
            raise DeploymentError(
                f"{logging_stages[0]}: BadRequestException: {NO_CLOUDWATCH_ROLE} "
                "(Service: ApiGateway, Status Code: 400)"
            )

    def _create_schedule_groups(self, template: Template) -> None:
        scheduler = self._client("scheduler")
        for logical_id in template.of_type("AWS::Scheduler::ScheduleGroup"):
            scheduler.create_schedule_group(Name=self._physical[logical_id]["Ref"])
            self.deployment.schedule_group = self._physical[logical_id]["Ref"]

    def _create_functions(self, template: Template) -> None:
        client = self._client("lambda")
        for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
            properties = resource["Properties"]
            name = self._physical[logical_id]["Ref"]
            variables = self._resolve(properties.get("Environment", {}).get("Variables", {}), template)
            client.create_function(
                FunctionName=name,
                Runtime=MOTO_RUNTIME,
                Role=self._resolve(properties["Role"], template),
                Handler=properties["Handler"],
                Code={"ZipFile": _placeholder_zip()},
                Timeout=int(properties.get("Timeout", 60)),
                MemorySize=int(properties.get("MemorySize", 512)),
                Environment={"Variables": {**variables, **self._local_environment()}},
            )
            handler = properties["Handler"]
            if handler.startswith("bmc.handlers."):
                self.deployment.functions[handler.split(".")[2]] = name
        self._register_identity_policies(template)
        for resource in template.of_type("AWS::Lambda::EventInvokeConfig").values():
            properties = self._resolve(resource["Properties"], template)
            client.put_function_event_invoke_config(
                FunctionName=properties["FunctionName"],
                MaximumRetryAttempts=int(properties.get("MaximumRetryAttempts", 2)),
                DestinationConfig=properties.get("DestinationConfig", {}),
            )

    def _register_identity_policies(self, template: Template) -> None:
        """Each function's role policies, for what AWS decides from them (S3's 403 or 404)."""
        statements: dict[str, list[dict[str, Any]]] = {}
        for resource in template.of_type("AWS::IAM::Policy").values():
            document = self._resolve(resource["Properties"]["PolicyDocument"], template)
            for role in resource["Properties"]["Roles"]:
                statements.setdefault(role["Ref"], []).extend(document["Statement"])
        for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
            role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            self._identity_policies[self._physical[logical_id]["Ref"]] = (
                self._physical[role_id]["Arn"],
                statements.get(role_id, []),
            )

    def _local_environment(self) -> dict[str, str]:
        """No X-Ray daemon runs here; the log level may be lowered for a readable demo."""
        overrides = {"POWERTOOLS_TRACE_DISABLED": "true"}
        if self._log_level:
            overrides["POWERTOOLS_LOG_LEVEL"] = self._log_level
        return overrides

    def _create_state_machine(self, template: Template) -> None:
        sfn = self._client("stepfunctions")
        logical_id, resource = template.one_of_type("AWS::StepFunctions::StateMachine")
        properties = resource["Properties"]
        self.deployment.state_machine_arn = sfn.create_state_machine(
            name=self._physical[logical_id]["Name"],
            definition=self._resolve(properties["DefinitionString"], template),
            roleArn=self._resolve(properties["RoleArn"], template),
            type=properties.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]

    def _create_rules(self, template: Template) -> None:
        events = self._client("events")
        for logical_id, resource in template.of_type("AWS::Events::Rule").items():
            properties = self._resolve(resource["Properties"], template)
            targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in properties.get("Targets", [])]
            schedule = properties.get("ScheduleExpression")
            if schedule:
                match = _RATE.fullmatch(schedule)
                if match is None:
                    raise NotImplementedError(f"{logical_id}: schedule {schedule} is not supported locally")
                seconds = int(match.group(1)) * _RATE_SECONDS[match.group(2).removesuffix("s")]
                self.deployment.scheduled_rules += [
                    (f"{logical_id}/{t['Id']}", t["Arn"], float(seconds), t.get("Input"))
                    for t in properties.get("Targets", [])
                ]
                continue
            name = self._physical[logical_id]["Ref"]
            events.put_rule(Name=name, EventPattern=json.dumps(properties["EventPattern"]), State="ENABLED")
            events.put_targets(Rule=name, Targets=targets)


def _fake_id(kind: str, logical_id: str) -> str:
    return f"{kind}-{hashlib.sha256(logical_id.encode()).hexdigest()[:17]}"


def _placeholder_zip() -> bytes:
    """moto stores code but never runs it: handlers are imported in process from the repo."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Handlers run in process from the repository's lambda/ package.\n")
    return buffer.getvalue()


def synthesize_templates(
    outdir: Path, context: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """Synthesize the app (no asset bundling) and return its templates and the prefix."""
    from stacks.application import build_app, nag_errors

    app, config = build_app({"aws:cdk:bundling-stacks": [], **(context or {})}, outdir=str(outdir))
    assembly = app.synth()
    errors = nag_errors(assembly)
    if errors:
        raise RuntimeError("the app does not pass its compliance gate:\n" + "\n".join(errors))
    templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
    return templates, config.prefix
