"""The customization workflow: functions, state machine, triggers and notifications."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from constructs_lib.bedrock_scope import deployment_models
from constructs_lib.evaluation import EvaluationFunctions, EvaluationResources
from constructs_lib.notifications import RunNotifications
from constructs_lib.sweeper import OrphanSweeper
from constructs_lib.triggers import WorkflowTriggers
from constructs_lib.workflow import CustomizationWorkflow, EvaluationWiring, WorkflowTimings
from constructs_lib.workflow_functions import WorkflowLambdas, WorkflowResources, WorkflowSettings
from stacks.config import AppConfig
from stacks.foundation_stack import FoundationStack


class WorkflowStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        foundation: FoundationStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal_policy = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        data_key = foundation.keys.data_key
        notifications = RunNotifications(
            self, "Notifications", prefix=config.prefix, data_key=data_key, emails=config.notification_emails
        )
        self.lambdas = WorkflowLambdas(
            self,
            "WorkflowLambdas",
            settings=WorkflowSettings(
                prefix=config.prefix,
                allowed_base_models=config.allowed_base_models,
                allow_legacy_base_models=config.allow_legacy_base_models,
                serving=config.serving,
                tenancy=config.tenancy,
            ),
            topic=notifications.topic,
            resources=WorkflowResources(
                registry=foundation.registry,
                datasets_bucket=foundation.datasets_bucket,
                artifacts_bucket=foundation.artifacts_bucket,
                data_key=data_key,
                model_key=foundation.keys.model_key,
                service_role=foundation.service_role,
                job_network=foundation.network.job_network,
                log_retention=foundation.log_retention,
                removal_policy=removal_policy,
            ),
        )
        self.evaluation = EvaluationFunctions(
            self.lambdas,
            "Evaluation",
            prefix=config.prefix,
            runtime=self.lambdas.runtime,
            settings=config.evaluation,
            resources=EvaluationResources(
                registry=foundation.registry,
                artifacts_bucket=foundation.artifacts_bucket,
                data_key=data_key,
                model_key=foundation.keys.model_key,
                base_models=deployment_models(config.allowed_base_models),
                schedule_group=self.lambdas.schedule_group,
            ),
        )
        self.evaluation.extend_workflow(
            prepare_run=self.lambdas.preparation.prepare_run,
            validate_datasets=self.lambdas.preparation.validate_datasets,
        )
        self.workflow = CustomizationWorkflow(
            self,
            "Workflow",
            prefix=config.prefix,
            functions=self.lambdas.workflow_functions,
            timings=WorkflowTimings(
                queue_hours=config.queue_hours,
                max_training_hours=config.max_training_hours,
            ),
            evaluation=EvaluationWiring(
                functions=self.evaluation, artifacts_bucket=foundation.artifacts_bucket
            ),
            data_key=data_key,
            log_retention=foundation.log_retention,
            removal_policy=removal_policy,
        )
        triggers = WorkflowTriggers(
            self,
            "Triggers",
            prefix=config.prefix,
            data_key=data_key,
            datasets_bucket=foundation.datasets_bucket,
            state_machine_arn=self.lambdas.state_machine_arn,
            start_run=self.lambdas.training.start_run.function,
            job_events=self.lambdas.training.job_events.function,
            reconcile=self.lambdas.training.reconcile.function,
            execution_ended=self.lambdas.outcome.execution_ended.function,
            reconcile_minutes=config.reconcile_minutes,
        )
        self.notifications_topic = notifications.topic
        self.sweeper = OrphanSweeper(
            self,
            "Sweeper",
            prefix=config.prefix,
            runtime=self.lambdas.runtime,
            mode=config.sweeper.mode,
            interval_minutes=config.sweeper.interval_minutes,
            idle_hours=config.sweeper.idle_hours,
            default_idle_action=config.serving.idle_action,
            registry=foundation.registry,
            data_key=data_key,
            topic=notifications.topic,
            state_machine_arn=self.lambdas.state_machine_arn,
            dead_letter_queue=triggers.dead_letters,
        )
        for name, value, description in (
            (
                "StateMachineArn",
                self.workflow.state_machine.state_machine_arn,
                "Start runs here (console or API)",
            ),
            ("NotificationTopicArn", notifications.topic.topic_arn, "Run outcomes"),
        ):
            CfnOutput(self, name, value=value, description=description, export_name=f"{config.prefix}-{name}")
