"""Lambda functions of the runtime package: shared code assets, one role and log group each.

Two assets, bundled at ``cdk synth`` without Docker (pip downloads linux arm64 wheels): the
runtime package with orjson and boto3 for every function, and the same plus the scoring
libraries (rouge-score, sacrebleu, numpy, lxml, ...) for the functions that score evaluations
only (``FunctionSpec.scoring``), so no other function carries tens of MB it never imports.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag, skip_checkov
from constructs_lib.keys import grant_key_use

LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambda"
RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_VERSION = "3.14"
POWERTOOLS_VERSION = "3.37.0"
# Public SSM parameter maintained by the Powertools team; resolved by CloudFormation at deploy time.
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/arm64/python{RUNTIME_VERSION}/{POWERTOOLS_VERSION}"
)
METRICS_NAMESPACE = "BedrockModelCustomization"


BUNDLE_REQUIREMENTS = LAMBDA_SOURCE / "requirements-bundle.txt"
EVALUATION_REQUIREMENTS = LAMBDA_SOURCE / "requirements-evaluation.txt"
# Lambda's Python 3.14 runtime runs Amazon Linux 2023 (glibc 2.34): manylinux 2014 and 2_28
# wheels both load (numpy publishes aarch64 wheels for 2_28 only).
LAMBDA_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# Published only as source distributions: their (pure-Python) wheels are built locally first,
# since a cross-platform install accepts binary wheels only.
SDIST_ONLY = ("rouge-score",)


def pinned_requirement(requirements: Path, name: str) -> str | None:
    """``name==version`` as pinned in a requirements file, if listed."""
    for line in requirements.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement.lower().startswith(f"{name.lower()}=="):
            return requirement
    return None


def build_sdist_wheels(requirements: Sequence[Path], wheel_dir: Path) -> None:
    """Build the wheels of the pinned sdist-only packages into ``wheel_dir``."""
    sdists = [r for req in requirements for name in SDIST_ONLY if (r := pinned_requirement(req, name))]
    if sdists:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--wheel-dir",
                str(wheel_dir),
                *sdists,
            ],
            check=True,
        )


def pip_install_command(
    output_dir: Path, requirements: Sequence[Path], wheel_dir: Path, *, for_lambda: bool = True
) -> list[str]:
    """``pip install`` of the pinned requirements, binary wheels only (plus ``wheel_dir``'s).

    ``for_lambda``: wheels for linux arm64 / CPython 3.14 (the deployed recipe); False installs
    the same requirements for the running interpreter (how tests check the recipe quickly).
    """
    platform = (
        [
            *(f"--platform={p}" for p in LAMBDA_PLATFORMS),
            "--implementation=cp",
            f"--python-version={RUNTIME_VERSION}",
        ]
        if for_lambda
        else []
    )
    return [
        *(sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", *platform),
        *("--only-binary=:all:", "--find-links", str(wheel_dir), "--target", str(output_dir)),
        *(arg for req in requirements for arg in ("-r", str(req))),
    ]


def pip_bundle(output_dir: Path, requirements: Sequence[Path], *, for_lambda: bool = True) -> None:
    """Install the pinned requirements and the runtime package into ``output_dir``."""
    with tempfile.TemporaryDirectory(prefix="bmc-wheels-") as wheels:
        build_sdist_wheels(requirements, Path(wheels))
        subprocess.run(
            pip_install_command(output_dir, requirements, Path(wheels), for_lambda=for_lambda), check=True
        )
    shutil.copytree(
        LAMBDA_SOURCE / "bmc",
        output_dir / "bmc",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Bundle the runtime package with arm64 wheels of its extra dependencies, without Docker."""

    def __init__(self, *requirements: Path) -> None:
        self.requirements = requirements or (BUNDLE_REQUIREMENTS,)

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        pip_bundle(Path(output_dir), self.requirements)
        return True


def runtime_code(*requirements: Path) -> lambda_.Code:
    """The runtime package as an asset with ``requirements`` (default: orjson and boto3)."""
    return lambda_.Code.from_asset(
        str(LAMBDA_SOURCE),
        exclude=["**/__pycache__", "*.egg-info", "requirements*.txt"],
        bundling=BundlingOptions(
            # Never used: local bundling always succeeds or raises. CDK requires an image.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
            local=PipLocalBundling(*requirements),
        ),
    )


def evaluation_code() -> lambda_.Code:
    """The runtime package plus the scoring libraries, for the evaluation functions only."""
    return runtime_code(BUNDLE_REQUIREMENTS, EVALUATION_REQUIREMENTS)


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the workflow's functions."""

    name: str  # module under bmc.handlers
    description: str
    timeout: Duration = field(default_factory=lambda: Duration.seconds(60))
    memory_mb: int = 512
    environment: dict[str, str] = field(default_factory=dict)
    # Invoked asynchronously (EventBridge, Scheduler): failed invocations go to an on-failure destination.
    asynchronous: bool = False
    scoring: bool = False  # gets the evaluation asset (rouge-score, sacrebleu, numpy, ...)
    role_name: str | None = None  # a fixed role name, for policies that must name the role in advance


class RuntimeFunctions(Construct):
    """Shared pieces of every function: the code asset, the Powertools layer, common settings."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        data_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        common_environment: dict[str, str],
        failed_invocations: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.prefix = prefix
        self.failed_invocations = failed_invocations
        self.data_key = data_key
        self.log_retention = log_retention
        self.removal_policy = removal_policy
        self.common_environment = common_environment
        self.code = runtime_code()
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER),
        )

    @cached_property
    def evaluation_code(self) -> lambda_.Code:
        """Created on first use: a deployment without scoring functions bundles no scoring libraries."""
        return evaluation_code()

    def add(self, spec: FunctionSpec) -> RuntimeFunction:
        return RuntimeFunction(self, spec.name, shared=self, spec=spec)


class RuntimeFunction(Construct):
    """One handler of bmc.handlers with its own role (least privilege) and encrypted log group."""

    def __init__(
        self, scope: Construct, construct_id: str, *, shared: RuntimeFunctions, spec: FunctionSpec
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=shared.data_key,
            retention=shared.log_retention,
            removal_policy=shared.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{shared.prefix} {spec.name}: only the calls this function makes",
            role_name=spec.role_name,
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"{shared.prefix}: {spec.description}",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=shared.evaluation_code if spec.scoring else shared.code,
            handler=f"bmc.handlers.{spec.name}.handler",
            layers=[shared.powertools],
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            timeout=spec.timeout,
            memory_size=spec.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            environment_encryption=shared.data_key,
            environment={
                **shared.common_environment,
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **spec.environment,
            },
        )
        if spec.asynchronous:
            self._keep_failed_invocations(shared)
        self._acknowledge(shared.prefix, asynchronous=spec.asynchronous)

    def _keep_failed_invocations(self, shared: RuntimeFunctions) -> None:
        """After Lambda's two retries, a failed event goes with its error to the encrypted queue."""
        queue = shared.failed_invocations
        if queue is None:
            raise ValueError(f"{self.node.path}: an asynchronous function needs the failed-invocations queue")
        self.function.configure_async_invoke(
            on_failure=EncryptedQueueDestination(queue, shared.data_key), retry_attempts=2
        )

    def _acknowledge(self, prefix: str, *, asynchronous: bool) -> None:
        acknowledge_nag(
            self.role,
            "AwsSolutions-IAM5",
            "X-Ray trace submission (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level "
            "permissions.",
            applies_to=["Resource::*"],
            apply_to_children=True,
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "The function calls only AWS APIs over TLS with IAM auth; a VPC would need NAT or seven interface "
            "endpoints billed hourly for no isolation gain. Training jobs themselves run in the isolated VPC.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_115",
            "Reserved concurrency would take from the account pool (10 on new accounts) and can block "
            "deployment; Step Functions and EventBridge bound the invocation rate of these functions.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "Invoked asynchronously (EventBridge or Scheduler): an event that still fails after Lambda's two "
            "retries goes to an on-failure destination, an SQS queue encrypted with the data key, which keeps "
            "the whole invocation record (event, error, request id) where a function DLQ keeps only the "
            "event; checkov looks only for DeadLetterConfig."
            if asynchronous
            else "Invoked synchronously (by Step Functions or API Gateway): the caller receives the error "
            "(Step Functions retries or catches it into the cleanup path, API Gateway answers 5xx). A DLQ "
            "applies only to asynchronous invocations.",
        )


@jsii.implements(lambda_.IDestination)
class EncryptedQueueDestination:
    """An on-failure destination: an SQS queue encrypted with `key`.

    CDK's SqsDestination grants kms:Encrypt and kms:ReEncrypt* as well; sending to an encrypted
    queue needs only kms:GenerateDataKey and kms:Decrypt, through SQS.
    """

    def __init__(self, queue: sqs.IQueue, key: kms.IKey) -> None:
        self._queue = queue
        self._key = key

    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType | None = None
    ) -> lambda_.DestinationConfig:
        if fn.role is None:
            raise ValueError(f"{fn.node.path} has no role to send failed invocations with")
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="KeepFailedInvocations", actions=["sqs:SendMessage"], resources=[self._queue.queue_arn]
            )
        )
        grant_key_use(fn.role, self._key, services=["sqs"], actions=("kms:GenerateDataKey", "kms:Decrypt"))
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)
