"""The /custom-models REST API over the workflow (docs/api.md)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from constructs_lib.api import ApiResources, CustomModelsApi
from stacks.config import AppConfig
from stacks.foundation_stack import FoundationStack
from stacks.workflow_stack import WorkflowStack


class ApiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        foundation: FoundationStack,
        workflow: WorkflowStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal_policy = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.api = CustomModelsApi(
            self,
            "CustomModelsApi",
            prefix=config.prefix,
            allowed_base_models=tuple(config.allowed_base_models),
            tenancy=config.tenancy,
            judge_models=tuple(config.evaluation.judge_models),
            create_account_cloudwatch_role=config.api_gateway_cloudwatch_role == "create",
            resources=ApiResources(
                registry=foundation.registry,
                datasets_bucket=foundation.datasets_bucket,
                artifacts_bucket=foundation.artifacts_bucket,
                data_key=foundation.keys.data_key,
                model_key=foundation.keys.model_key,
                state_machine_arn=workflow.lambdas.state_machine_arn,
                schedule_group=workflow.lambdas.schedule_group,
                log_retention=foundation.log_retention,
                removal_policy=removal_policy,
            ),
        )
        CfnOutput(
            self,
            "ApiUrl",
            value=self.api.rest_api.url,
            description="Base URL of the /custom-models API (SigV4, service execute-api)",
            export_name=f"{config.prefix}-ApiUrl",
        )
