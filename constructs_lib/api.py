"""The `/custom-models` REST API: API Gateway (IAM auth, validation, throttling, access logs,
tracing) in front of one Lambda function with a least-privilege role, and the table that makes
POST idempotent. docs/api.md is the reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from bmc.api.models import CreateCustomModelRequest, InvokeRequest, ThroughputRequest
from bmc.tenancy import SNAPSHOTS_PREFIX, TENANCY_VARIABLE, Tenancy
from constructs import Construct
from pydantic import BaseModel

from constructs_lib.bedrock_scope import bedrock_arn, merge_conditions, own_resources, tagged_on_create
from constructs_lib.buckets import read_objects
from constructs_lib.compliance import acknowledge_nag, arn_wildcard_finding, skip_checkov
from constructs_lib.functions import FunctionSpec, RuntimeFunction, RuntimeFunctions
from constructs_lib.keys import grant_key_use
from constructs_lib.registry import AWAITING_INDEX, JOB_ARN_INDEX
from constructs_lib.snapshots import DATA_PURGER, role_name

STAGE = "v1"
# Per-stage limits across all callers; Lambda concurrency and Bedrock quotas are far lower
# than what an unthrottled API could send.
THROTTLE_RATE_PER_SECOND = 20
THROTTLE_BURST = 40
# API Gateway ends an integration after 29 s: the function must answer before.
FUNCTION_TIMEOUT = Duration.seconds(28)
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"  # Powertools' DynamoDB persistence layer writes it
JSON_SCHEMA_DRAFT_4 = "http://json-schema.org/draft-04/schema#"

# The handler names each field; at the gateway, API Gateway's own validation message is all
# there is. Both answer 400 with the same shape.
# VTL runs before the text is JSON: escapeJavaScript escapes quotes for JSON except the single
# quote, which it writes as \' (not valid JSON); replaceAll undoes that one.
_VALIDATION_TEMPLATE = (
    '{"message": "Invalid request", "errors": [{"field": "request", "message": '
    r""""$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\'","'")"}]}"""
)


@dataclass(frozen=True)
class ApiResources:
    """What the API works on: the foundation's data and the workflow it starts."""

    registry: dynamodb.ITable
    datasets_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    data_key: kms.IKey
    model_key: kms.IKey
    state_machine_arn: str
    schedule_group: scheduler.CfnScheduleGroup  # TTL schedules of served models
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy


def gateway_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The pydantic model as the JSON Schema draft 4 API Gateway validates bodies with.

    Titles and defaults are documentation only (and `default` is not a validation keyword).
    An API Gateway model cannot refer to definitions of its own (``$ref`` there names other
    models of the API), so nested models (``Evaluation``) are written in place; everything else
    pydantic emits for these models is valid draft 4.
    """
    document = model.model_json_schema()
    definitions = document.pop("$defs", {})

    def strip(value: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(value, dict):
            reference = value.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                name = reference.removeprefix("#/$defs/")
                if name in seen:
                    raise ValueError(f"{model.__name__}: recursive model {name} cannot be written in place")
                return strip(definitions[name], (*seen, name))
            return {k: strip(v, seen) for k, v in value.items() if k not in ("title", "default")}
        if isinstance(value, list):
            return [strip(v, seen) for v in value]
        return value

    return {"$schema": JSON_SCHEMA_DRAFT_4, **strip(document)}


class CustomModelsApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        resources: ApiResources,
        allowed_base_models: tuple[str, ...],
        tenancy: Tenancy,
        judge_models: tuple[str, ...] = (),
        create_account_cloudwatch_role: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = prefix
        self._resources = resources
        self._create_account_cloudwatch_role = create_account_cloudwatch_role
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=resources.data_key,
            time_to_live_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Records live 24 hours and can always be dropped: a lost record only forgets a replay.
            removal_policy=RemovalPolicy.DESTROY,
        )
        shared = RuntimeFunctions(
            self,
            "Runtime",
            prefix=prefix,
            data_key=resources.data_key,
            log_retention=resources.log_retention,
            removal_policy=resources.removal_policy,
            common_environment={
                "PREFIX": prefix,
                "REGISTRY_TABLE": resources.registry.table_name,
                "JOB_ARN_INDEX": JOB_ARN_INDEX,
                "AWAITING_INDEX": AWAITING_INDEX,
            },
        )
        self.function = shared.add(
            FunctionSpec(
                "api",
                "the /custom-models REST API",
                timeout=FUNCTION_TIMEOUT,
                # Named: the datasets bucket's policy lets only this role delete snapshots (purgeData).
                role_name=role_name(prefix, DATA_PURGER),
                environment={
                    "STATE_MACHINE_ARN": resources.state_machine_arn,
                    "DATASETS_BUCKET": resources.datasets_bucket.bucket_name,
                    "ARTIFACTS_BUCKET": resources.artifacts_bucket.bucket_name,
                    "ALLOWED_BASE_MODELS": ",".join(allowed_base_models),
                    "EVALUATION_JUDGE_MODELS": ",".join(judge_models),
                    "SCHEDULE_GROUP": resources.schedule_group.ref,
                    "IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                    TENANCY_VARIABLE: tenancy.to_environment(),
                },
            )
        )
        self._grant(self.function)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            encryption_key=resources.data_key,
            retention=resources.log_retention,
            removal_policy=resources.removal_policy,
        )
        self.rest_api = self._rest_api()
        self._routes()

    # --- the function's permissions --------------------------------------------------------------

    def _grant(self, function: RuntimeFunction) -> None:
        resources = self._resources
        role = function.role
        # Read runs, write the API's fields and transitions, list through byCreatedAt.
        resources.registry.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query")
        # Powertools idempotency: put the in-progress record, read, complete or delete it.
        self.idempotency_table.grant(
            role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )
        # Registry, idempotency table and presigned S3 downloads: the data key, through those services.
        grant_key_use(role, resources.data_key, services=["dynamodb", "s3"])
        # A throughput serves a custom model encrypted with the model key: Bedrock creates grants.
        grant_key_use(role, resources.model_key, services=["bedrock"], grants=True)
        # Presigned downloads are signed with this role: only the model's data and reports. Listing
        # the same prefixes makes a deleted object a 404, not a 403.
        read_objects(role, resources.datasets_bucket, "")
        read_objects(role, resources.artifacts_bucket, "reports/")
        group_stack = Stack.of(resources.schedule_group)
        execution_arns = resources.state_machine_arn.replace(":stateMachine:", ":execution:") + ":*"
        own = own_resources(self._prefix)
        for sid, actions, arns, conditions in (
            ("StartRuns", ["states:StartExecution"], [resources.state_machine_arn], None),
            ("StopRunsOfDeletedModels", ["states:StopExecution"], [execution_arns], None),
            (
                "StopJobsOfDeletedModels",
                ["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
                [bedrock_arn("model-customization-job/*")],
                own,
            ),
            ("DeleteCustomModels", ["bedrock:DeleteCustomModel"], [bedrock_arn("custom-model/*")], own),
            (
                "CreateThroughput",
                ["bedrock:CreateProvisionedModelThroughput"],
                [bedrock_arn("custom-model/*")],
                merge_conditions(own, tagged_on_create(self._prefix)),
            ),
            (
                "TagThroughputOnCreate",
                ["bedrock:TagResource"],
                [bedrock_arn("provisioned-model/*")],
                tagged_on_create(self._prefix),
            ),
            (
                "FollowAndDeleteThroughput",
                ["bedrock:GetProvisionedModelThroughput", "bedrock:DeleteProvisionedModelThroughput"],
                [bedrock_arn("provisioned-model/*")],
                own,
            ),
            (
                # POST .../invoke: only the throughputs and deployments of this deployment.
                "InvokeOwnServing",
                ["bedrock:InvokeModel"],
                [bedrock_arn("provisioned-model/*"), bedrock_arn("custom-model-deployment/*")],
                own,
            ),
            (
                "DeleteDeploymentsOfDeletedModels",
                ["bedrock:DeleteCustomModelDeployment"],
                [bedrock_arn("custom-model-deployment/*")],
                own,
            ),
            # DELETE ?purgeData=true: every version of the model's snapshots.
            (
                "PurgeSnapshots",
                ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                [resources.datasets_bucket.arn_for_objects(f"{SNAPSHOTS_PREFIX}*")],
                None,
            ),
            (
                "ListSnapshotVersions",
                ["s3:ListBucketVersions"],
                [resources.datasets_bucket.bucket_arn],
                {"StringLike": {"s3:prefix": [f"{SNAPSHOTS_PREFIX}*"]}},
            ),
            (
                "DeleteServingExpiry",
                ["scheduler:DeleteSchedule"],
                [
                    f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/"
                    f"{resources.schedule_group.ref}/*"
                ],
                None,
            ),
        ):
            role.add_to_principal_policy(
                iam.PolicyStatement(sid=sid, actions=actions, resources=arns, conditions=conditions)
            )
        acknowledge_nag(
            role,
            "AwsSolutions-IAM5",
            "Custom model, job, throughput, deployment and execution names are chosen per request or by "
            "Bedrock at run time, so statements are scoped to those resource types of this account and region "
            "(executions to this deployment's state machine); registry access includes its indexes (listing "
            "reads byCreatedAt); S3 reads are limited to the datasets bucket's objects and the artifacts "
            "bucket's reports/ prefix, deletions (purgeData) to the datasets bucket's snapshots/ prefix; schedules to this deployment's schedule group.",
            applies_to=[
                arn_wildcard_finding(resources.registry, "/index/*"),
                arn_wildcard_finding(resources.datasets_bucket, "/*"),
                arn_wildcard_finding(resources.datasets_bucket, f"/{SNAPSHOTS_PREFIX}*"),
                arn_wildcard_finding(resources.artifacts_bucket, "/reports/*"),
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model/*",
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:model-customization-job/*",
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:provisioned-model/*",
                "Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:custom-model-deployment/*",
                f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"{self._prefix}-customization:*",
                "Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/"
                f"<{group_stack.resolve(group_stack.get_logical_id(resources.schedule_group))}>/*",
            ],
            apply_to_children=True,
        )

    # --- API Gateway -------------------------------------------------------------------------------

    def _rest_api(self) -> apigateway.RestApi:
        api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{self._prefix}-custom-models",
            description=f"{self._prefix}: Amazon Bedrock custom models (docs/api.md)",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Access logging needs API Gateway's account-level CloudWatch Logs role (one per account
            # and region, shared by every REST API). Config `apiGatewayCloudWatchRole`: "create" sets it
            # here, role and setting retained when the stack goes, so other APIs never lose it;
            # "existing" relies on the one already set (docs/decisions.md).
            **self._account_cloudwatch_role(),
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
            ),
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM
            ),
        )
        for response_type in (
            apigateway.ResponseType.BAD_REQUEST_BODY,
            apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
        ):
            api.add_gateway_response(
                f"{response_type.response_type}Response",
                type=response_type,
                status_code="400",
                templates={"application/json": _VALIDATION_TEMPLATE},
            )
        self._acknowledge_api(api)
        return api

    def _account_cloudwatch_role(self) -> dict[str, Any]:
        if not self._create_account_cloudwatch_role:
            return {"cloud_watch_role": False}
        return {"cloud_watch_role": True, "cloud_watch_role_removal_policy": RemovalPolicy.RETAIN}

    def _model(self, api: apigateway.RestApi, model_id: str, model: type[BaseModel]) -> apigateway.IModel:
        cfn_model = apigateway.CfnModel(
            self,
            model_id,
            rest_api_id=api.rest_api_id,
            content_type="application/json",
            name=model.__name__,
            schema=gateway_schema(model),
        )
        return apigateway.Model.from_model_name(self, f"{model_id}Ref", cfn_model.ref)

    def _routes(self) -> None:
        api = self.rest_api
        integration = apigateway.LambdaIntegration(
            self.function.function, proxy=True, allow_test_invoke=False
        )
        validator = api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        create_model = self._model(api, "CreateCustomModelModel", CreateCustomModelRequest)
        throughput_model = self._model(api, "ThroughputModel", ThroughputRequest)
        invoke_model = self._model(api, "InvokeModel", InvokeRequest)

        def method(
            resource: apigateway.IResource,
            verb: str,
            *,
            query: dict[str, bool] | None = None,
            headers: dict[str, bool] | None = None,
            body: apigateway.IModel | None = None,
        ) -> None:
            parameters = {
                f"method.request.querystring.{name}": required for name, required in (query or {}).items()
            }
            parameters |= {
                f"method.request.header.{name}": required for name, required in (headers or {}).items()
            }
            resource.add_method(
                verb,
                integration,
                request_validator=validator,
                request_parameters=parameters or None,
                request_models={"application/json": body} if body else None,
            )

        models = api.root.add_resource("custom-models")
        method(models, "POST", headers={"Idempotency-Key": False}, body=create_model)
        method(models, "GET", query={"limit": False, "nextToken": False, "status": False})
        model = models.add_resource("{id}")
        method(model, "GET")
        method(model, "DELETE", query={"force": False})
        method(model.add_resource("download"), "GET", query={"type": True})
        method(model.add_resource("invoke"), "POST", body=invoke_model)
        throughput = model.add_resource("throughput")
        method(throughput, "PUT", body=throughput_model)
        method(throughput, "DELETE")
        for child in api.node.find_all():
            if isinstance(child, apigateway.Method):
                acknowledge_nag(
                    child,
                    "AwsSolutions-COG4",
                    "Every method uses AWS_IAM authorization (SigV4): callers are platform services and "
                    "operators with IAM identities, and access is granted per method with execute-api:Invoke "
                    "policies. There is no end-user population for a Cognito user pool.",
                )

    def _acknowledge_api(self, api: apigateway.RestApi) -> None:
        stage = api.deployment_stage
        acknowledge_nag(
            stage,
            "AwsSolutions-APIG6",
            "Execution logs would go to a log group API Gateway creates itself (API-Gateway-Execution-Logs_"
            "<api>/<stage>), not encrypted with the data key and kept forever, and at INFO level would hold "
            "request bodies. Access logs (encrypted, one JSON line per request with caller, status and "
            "latency), X-Ray traces and the function's own structured logs cover each request.",
        )
        role = api.node.try_find_child("CloudWatchRole")
        if role is not None:
            acknowledge_nag(
                role,
                "AwsSolutions-IAM4",
                "API Gateway's account-level CloudWatch Logs role serves every REST API of the account and "
                "region, whose log groups this stack cannot name; AmazonAPIGatewayPushToCloudWatchLogs is the "
                "AWS-maintained policy API Gateway documents for it, and only apigateway.amazonaws.com can "
                "assume the role.",
                applies_to=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                ],
            )
        acknowledge_nag(
            stage,
            "AwsSolutions-APIG3",
            "IAM (SigV4) authorization rejects unsigned requests before the integration runs and the stage "
            "is throttled; a WAF web ACL adds no protection against callers that must hold IAM credentials.",
        )
        skip_checkov(
            stage,
            "CKV_AWS_120",
            "Responses must not be cached: a custom model's status changes while a run progresses, and "
            "GET refreshes throughput status from Bedrock.",
        )
