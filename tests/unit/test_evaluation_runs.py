"""Generation, the batch and summary functions, and `bmc invoke`, against a served run in the local cloud."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from bmc.catalog.models import resolve_model
from bmc.cli.main import main
from bmc.evaluation import generation
from bmc.evaluation.generation import (
    Generator,
    InferenceSettings,
    RetryPolicy,
    Target,
    TargetUnusableError,
    base_target,
)
from bmc.handlers import evaluate_batch, serve, summarize_evaluation
from botocore.config import Config

from localcloud import samples
from localcloud.bedrock import throttling
from tests.unit.workflow_support import (
    REGION,
    TABLE,
    Cloud,
    aws_client,
    collected,
    invoke,
    local_cloud,
    step,
)

NO_RETRIES = Config(retries={"total_max_attempts": 1})
QUESTION = "Support ticket 3: how can I update the firmware?"
MODEL = resolve_model("amazon.nova-micro-v1")


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        created.put_jsonl("data/train.jsonl", list(samples.conversation_records(16)))
        yield created


def served(cloud: Cloud, run_id: str = "run-1", mode: str = "on-demand") -> str:
    """Walk a run through training and serving; returns its serving ARN."""
    state = collected(cloud, run_id, serving={"mode": mode})
    state = step(run_id, serve.handler, state, "serving", action="start")
    cloud.sim.advance(600)
    state = step(run_id, serve.handler, state, "serving", action="check")
    assert state["serving"]["ready"]
    return str(state["serving"]["arn"])


def runtime() -> Any:
    return aws_client("bedrock-runtime")


def recorded_generator(**options: Any) -> tuple[Generator, list[float]]:
    sleeps: list[float] = []
    return Generator(runtime(), sleep=sleeps.append, **options), sleeps


# --- generation ------------------------------------------------------------------------------------


def test_throttling_is_retried_with_backoff_and_permanent_failures_are_recorded(cloud: Cloud) -> None:
    base = base_target(MODEL, REGION)
    assert base == Target("amazon.nova-micro-v1:0")
    settings = InferenceSettings()
    generator, sleeps = recorded_generator()

    cloud.sim.fail_next("Converse", throttling(), count=2)
    answer = generator.generate(base, QUESTION, settings)
    assert answer.ok and answer.attempts == 3 and answer.output_tokens > 0
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 1 and 0 <= sleeps[1] <= 2

    cloud.sim.fail_next("Converse", "ModelErrorException", "the model failed")
    failed = generator.generate(base, QUESTION, settings)
    assert (failed.ok, failed.error, failed.message, failed.attempts) == (
        False,
        "ModelErrorException",
        "the model failed",
        1,
    )

    cloud.sim.fail_next("Converse", throttling(), count=6)
    exhausted = generator.generate(base, QUESTION, settings)
    assert exhausted.error == "ThrottlingException" and "gave up after 6 attempts" in str(exhausted.message)

    hurried, hurried_sleeps = recorded_generator(time_left=lambda: 10.0)
    cloud.sim.fail_next("Converse", throttling())
    late = hurried.generate(base, QUESTION, settings)
    assert (
        late.error == "ThrottlingException"
        and "time is running out" in str(late.message)
        and not hurried_sleeps
    )

    cloud.sim.fail_next("Converse", "AccessDeniedException", "not authorized")
    with pytest.raises(TargetUnusableError, match="AccessDeniedException"):
        generator.generate(base, QUESTION, settings)
    with pytest.raises(TargetUnusableError, match="ResourceNotFoundException"):
        generator.generate(
            Target(f"arn:aws:bedrock:{REGION}:123456789012:provisioned-model/abcdefabcdef"),
            QUESTION,
            settings,
        )


def test_the_default_sleep_can_be_replaced_for_the_local_cloud(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []
    monkeypatch.setattr(generation, "backoff_sleep", waited.append)
    cloud.sim.fail_next("Converse", throttling())
    assert (
        Generator(runtime(), policy=RetryPolicy(base_delay_seconds=0.5))
        .generate(base_target(MODEL, REGION), QUESTION, InferenceSettings())
        .ok
    )
    assert len(waited) == 1


def test_families_without_system_prompts_and_invoke_model_families(cloud: Cloud) -> None:
    generator, _ = recorded_generator()
    titan = base_target(resolve_model("amazon.titan-text-express-v1"), REGION)
    assert not titan.system_prompt
    assert generator.generate(titan, QUESTION, InferenceSettings(), system="Answer briefly.").ok  # folded in
    cohere = base_target(resolve_model("cohere.command-text-v14"), REGION)
    assert cohere.api == "invoke-model" and cohere.invoke_body == "cohere-command"
    answer = generator.generate(cohere, QUESTION, InferenceSettings(max_tokens=64, top_p=0.9))
    assert answer.ok and answer.input_tokens > 0 and answer.stop_reason == "COMPLETE"


def test_inference_settings_are_checked_field_by_field() -> None:
    assert InferenceSettings.from_dict(None).to_dict() == {"maxTokens": 512, "temperature": 0.0}
    assert InferenceSettings.from_dict({"maxTokens": 64, "topP": 0.9}).to_dict() == {
        "maxTokens": 64,
        "temperature": 0.0,
        "topP": 0.9,
    }
    for bad, field in (
        ({"maxTokens": 0}, "maxTokens"),
        ({"maxTokens": 5000}, "maxTokens"),
        ({"temperature": 2}, "temperature"),
        ({"topP": "0.5"}, "topP"),
        ({"seed": 1}, "seed"),
    ):
        with pytest.raises(ValueError, match=field):
            InferenceSettings.from_dict(bad)


# --- the batch and summary functions -----------------------------------------------------------


def test_bad_batches_are_refused(cloud: Cloud) -> None:
    from bmc.errors import InvalidTaskInput

    with pytest.raises(InvalidTaskInput, match="runId"):
        invoke(evaluate_batch.handler, {"Items": [{}]})
    with pytest.raises(InvalidTaskInput, match="malformed"):
        invoke(evaluate_batch.handler, {"BatchInput": {"runId": "r"}, "Items": [{"index": 0}]})
    with pytest.raises(InvalidTaskInput, match="has no evaluation"):
        step("run-1", summarize_evaluation.handler, collected(cloud, "run-1"), "evaluationSummary")


# --- bmc invoke --------------------------------------------------------------------------------------


def test_invoke_asks_a_runs_served_model_and_compares_with_its_base(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = served(cloud)
    monkeypatch.setenv("BMC_REGISTRY_TABLE", TABLE)
    assert main(["invoke", "--run", "run-1", QUESTION, "--compare", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["custom"]["modelId"] == arn and document["base"]["modelId"] == "amazon.nova-micro-v1:0"
    assert document["custom"]["response"] and document["custom"]["error"] is None

    assert main(["invoke", "--run", "run-1", QUESTION, "--compare"]) == 0
    columns = capsys.readouterr().out.splitlines()
    assert columns[0].startswith("custom: arn:") and " | base: amazon.nova-micro-v1:0" in columns[0]

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["invoke", "--run", "run-1", QUESTION]) == 0
    streamed = capsys.readouterr()
    assert streamed.out.strip() == document["custom"]["response"]
    assert "output tokens" in streamed.err
    assert [i.operation for i in cloud.sim.invocations(arn)][-1] == "ConverseStream"

    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(QUESTION))
    assert main(["invoke", "--model", arn, "--no-stream"]) == 0
    assert capsys.readouterr().out.strip() == document["custom"]["response"]


def test_invoke_explains_what_is_not_served_and_how_to_serve_it(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    collected(cloud, "run-2")  # trained, serving mode none
    monkeypatch.setenv("BMC_REGISTRY_TABLE", TABLE)
    assert main(["invoke", "--run", "run-2", QUESTION]) == 1
    error = capsys.readouterr().err
    assert "run run-2 is not served (it was trained without serving" in error
    assert "aws bedrock create-custom-model-deployment --region us-east-1" in error
    assert "delete-custom-model-deployment" in error
    assert main(["invoke", "--run", "nope", QUESTION]) == 1
    assert "not in the registry" in capsys.readouterr().err

    monkeypatch.delenv("BMC_REGISTRY_TABLE")
    with pytest.raises(SystemExit) as usage:
        main(["invoke", "--run", "run-2", QUESTION])
    assert usage.value.code == 2
    assert "cannot find the run registry" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["invoke", "--model", "amazon.nova-micro-v1:0", QUESTION, "--compare"])
    assert "--base-model" in capsys.readouterr().err


def test_invoke_reports_a_model_that_refuses(cloud: Cloud, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invoke", "--model", "amazon.nova-2-lite-v1:0", QUESTION, "--json"]) == 1
    assert "on-demand throughput isn't supported" in capsys.readouterr().err
    assert main(["invoke", "--model", "us.amazon.nova-2-lite-v1:0", QUESTION, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["custom"]["response"]
