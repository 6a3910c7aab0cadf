"""Workflow figures, measured in the local cloud (a script, not a timed test).

1. Execution history events of one run whose job trains 1 hour and 72 hours (simulated), next
   to a classic 5-minute polling loop (Wait -> GetModelCustomizationJob -> Choice) run against
   the same simulated Bedrock. Standard workflows stop at 25,000 history events.
2. The wall time of `make demo` (the default scenario, synthesis included).
3. The wall time of the end-to-end scenario suite.

    python scripts/bench_workflow.py [--skip-demo] [--skip-suite]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from localcloud.bedrock import JobScript  # noqa: E402
from localcloud.cloud import LocalCloud  # noqa: E402
from localcloud.deploy import synthesize_templates  # noqa: E402
from localcloud.scenarios import SCENARIOS  # noqa: E402

POLL_SECONDS = 300
POLLING_LOOP = {
    "StartAt": "WaitFiveMinutes",
    "States": {
        "WaitFiveMinutes": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": "GetJob"},
        "GetJob": {"Type": "Task", "Resource": "FUNCTION_ARN", "ResultPath": "$.status", "Next": "Finished?"},
        "Finished?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.status", "StringEquals": "InProgress", "Next": "WaitFiveMinutes"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def workflow_history(templates: dict[str, Any], prefix: str, hours: int) -> int:
    """History events of a real run (no serving) whose job trains `hours` simulated hours."""
    base = SCENARIOS["throttled-submit"]
    scenario = dataclasses.replace(
        base,
        name=f"history-{hours}h",
        script=lambda cloud: cloud.bedrock.script_job(JobScript(duration_seconds=hours * 3600)),
    )
    with LocalCloud(templates, prefix=prefix, log_level="ERROR") as cloud:
        result = scenario.run(cloud)
        assert result.execution["status"] == "SUCCEEDED", result.execution
        return len(cloud.history(result.execution_arn))


def polling_history(templates: dict[str, Any], prefix: str, hours: int) -> int:
    """History events of a 5-minute polling loop following one job of `hours` simulated hours."""
    with LocalCloud(templates, prefix=prefix, log_level="ERROR") as cloud:
        training = cloud.upload("datasets/poll/train.jsonl", "{}\n")
        bedrock = cloud.client("bedrock")
        cloud.bedrock.script_job(JobScript(duration_seconds=hours * 3600))
        job_arn = bedrock.create_model_customization_job(
            jobName="polling-loop-job",
            customModelName="polling-loop-model",
            roleArn=f"arn:aws:iam::123456789012:role/{prefix}-poller",
            baseModelIdentifier="amazon.nova-micro-v1:0:128k",
            trainingDataConfig={"s3Uri": training},
            outputDataConfig={"s3Uri": f"s3://{cloud.deployment.artifacts_bucket}/poll/"},
        )["jobArn"]

        def get_job(event: dict[str, Any], context: object) -> str:
            status: str = bedrock.get_model_customization_job(jobIdentifier=job_arn)["status"]
            return status

        lambda_client = cloud.client("lambda")
        role = cloud.client("iam").create_role(
            RoleName="poller", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        function_arn = lambda_client.create_function(
            FunctionName="poller",
            Runtime="python3.12",
            Role=role,
            Handler="poller.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )["FunctionArn"]
        cloud.patches.register("poller", get_job)
        definition = json.dumps(POLLING_LOOP).replace("FUNCTION_ARN", function_arn)
        sfn = cloud.client("stepfunctions")
        machine = sfn.create_state_machine(name="polling-loop", definition=definition, roleArn=role)
        execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")[
            "executionArn"
        ]
        description = cloud.wait_for_execution(execution, timeout=600)
        assert description["status"] == "SUCCEEDED", description
        return len(cloud.history(execution))


def timed(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-suite", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    # The hourly sweeper's metrics go to stdout as embedded-metric JSON: not the bench's figures.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="bmc-bench-") as outdir:
        templates, prefix = synthesize_templates(Path(outdir))
    print("Execution history events of one run (Standard workflows stop at 25,000)")
    print(f"  {'training time':>14}  {'this workflow':>14}  {'5-minute polling loop':>22}")
    for hours in (1, 72):
        ours = workflow_history(templates, prefix, hours)
        polling = polling_history(templates, prefix, hours)
        print(f"  {hours:>12} h  {ours:>14}  {polling:>22}")
    if not args.skip_demo:
        print(f"make demo wall time: {timed(['make', 'demo']):.1f} s")
    if not args.skip_suite:
        suite = timed(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e/test_scenarios.py"]
        )
        print(f"scenario suite wall time ({len(SCENARIOS)} scenarios, synthesis included): {suite:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
