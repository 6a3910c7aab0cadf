"""The simulated bedrock-runtime behaves like the real API, through plain boto3 clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from bmc.catalog.models import all_models
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import samples
from localcloud.bedrock import BedrockSimulator, ProvisioningScript, throttling
from localcloud.bedrock.runtime import degrade
from localcloud.clock import SimClock
from localcloud.patches import MOTO_CONFIG
from tests.unit.moto_support import ACCOUNT, SESSION, aws_credentials  # noqa: F401 (autouse fixture)

NO_RETRIES = Config(retries={"total_max_attempts": 1})
QUESTION = "Support ticket 7: how can I reset my router?"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization"


@dataclass
class Env:
    sim: BedrockSimulator
    clock: SimClock
    bedrock: Any
    runtime: Any
    s3: Any


@pytest.fixture
def env() -> Iterator[Env]:
    clock = SimClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    with mock_aws(config=MOTO_CONFIG), BedrockSimulator(clock, seed=3) as sim:
        s3 = SESSION.client("s3")
        s3.create_bucket(Bucket="datasets")
        s3.create_bucket(Bucket="artifacts")
        s3.put_object(Bucket="datasets", Key="train.jsonl", Body=samples.jsonl("conversation", 16).encode())
        yield Env(
            sim,
            clock,
            SESSION.client("bedrock", config=NO_RETRIES),
            SESSION.client("bedrock-runtime", config=NO_RETRIES),
            s3,
        )


def ask(runtime: Any, model_id: str, text: str = QUESTION, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = runtime.converse(
        modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}], **extra
    )
    return response


def text_of(response: dict[str, Any]) -> str:
    return str(response["output"]["message"]["content"][0]["text"])


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def custom_model(env: Env, epochs: int = 2, training: str = "s3://datasets/train.jsonl") -> str:
    job_arn = env.bedrock.create_model_customization_job(
        jobName=f"job-{epochs}",
        customModelName=f"model-{epochs}",
        roleArn=ROLE,
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        trainingDataConfig={"s3Uri": training},
        outputDataConfig={"s3Uri": "s3://artifacts/out/"},
        hyperParameters={"epochCount": str(epochs)},
    )["jobArn"]
    return str(env.sim.finish_job(job_arn).output_model_arn)


def deployment(env: Env, model_arn: str, name: str = "deploy-1") -> str:
    arn = env.bedrock.create_custom_model_deployment(modelDeploymentName=name, modelArn=model_arn)[
        "customModelDeploymentArn"
    ]
    return str(arn)


def test_converse_answers_a_foundation_model_with_usage_latency_and_stop_reason(env: Env) -> None:
    response = ask(
        env.runtime, "amazon.nova-micro-v1:0", inferenceConfig={"maxTokens": 200, "temperature": 0}
    )
    assert response["stopReason"] == "end_turn"
    assert response["usage"]["outputTokens"] > 0 and response["usage"]["totalTokens"] == (
        response["usage"]["inputTokens"] + response["usage"]["outputTokens"]
    )
    assert response["metrics"]["latencyMs"] == 250 + 12 * response["usage"]["outputTokens"]
    assert env.clock.elapsed_seconds == pytest.approx(response["metrics"]["latencyMs"] / 1000)
    assert text_of(ask(env.runtime, "amazon.nova-micro-v1:0")) == text_of(response)  # deterministic
    truncated = ask(env.runtime, "amazon.nova-micro-v1:0", inferenceConfig={"maxTokens": 3})
    assert truncated["stopReason"] == "max_tokens" and truncated["usage"]["outputTokens"] <= 3


@pytest.mark.parametrize(
    ("model_id", "code", "message"),
    [
        ("amazon.nova-2-lite-v1:0", "ValidationException", "with on-demand throughput isn't supported"),
        ("amazon.nova-micro-v1:0:128k", "ValidationException", "identifier is invalid"),
        ("acme.unknown-v1:0", "ValidationException", "identifier is invalid"),
        ("not a model id!", "ValidationException", "regular expression"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefabcdef",
            "ResourceNotFoundException",
            "not found",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefabcdef",
            "ResourceNotFoundException",
            "not found",
        ),
        (
            "arn:aws:bedrock:us-east-1:210987654321:provisioned-model/abcdefabcdef",
            "ResourceNotFoundException",
            "not found",
        ),
        ("eu.amazon.nova-micro-v1:0", "ResourceNotFoundException", "Inference profile"),
        ("meta.llama3-1-8b-instruct-v1:0", "ValidationException", "identifier is invalid"),  # us-west-2 only
    ],
)
def test_model_ids_are_checked_as_aws_does(env: Env, model_id: str, code: str, message: str) -> None:
    with pytest.raises(ClientError) as info:
        ask(env.runtime, model_id)
    assert error_code(info) == code and message in str(info.value)


def test_inference_profiles_and_foundation_model_arns_are_served(env: Env) -> None:
    assert text_of(ask(env.runtime, "us.amazon.nova-2-lite-v1:0"))
    arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    assert text_of(ask(env.runtime, arn))
    profile = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.amazon.nova-pro-v1:0"
    assert text_of(ask(env.runtime, profile))


def test_every_catalog_base_model_id_is_served_in_its_regions(env: Env) -> None:
    for model in all_models():
        for region, model_id in model.inference.base_model_ids.items():
            runtime = SESSION.client("bedrock-runtime", region_name=region, config=NO_RETRIES)
            if model.inference.api == "invoke-model":
                body = runtime.invoke_model(
                    modelId=model_id, body=json.dumps({"prompt": QUESTION, "max_tokens": 50})
                )
                assert json.loads(body["body"].read())["generations"][0]["text"], model_id
            else:
                assert text_of(ask(runtime, model_id)), model_id


def test_a_custom_model_is_reached_only_through_ready_serving(env: Env) -> None:
    model_arn = custom_model(env)
    with pytest.raises(ClientError) as info:
        ask(env.runtime, model_arn)
    assert error_code(info) == "ValidationException"  # never on demand: a PT or a deployment serves it
    arn = deployment(env, model_arn)
    with pytest.raises(ClientError) as info:
        ask(env.runtime, arn)
    assert error_code(info) == "ModelNotReadyException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    env.sim.advance(300)
    assert text_of(ask(env.runtime, arn))
    env.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    with pytest.raises(ClientError) as info:
        ask(env.runtime, arn)
    assert error_code(info) == "ResourceNotFoundException"

    env.sim.script_throughput(ProvisioningScript(delay_seconds=60))
    throughput = env.bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-1", modelId=model_arn
    )["provisionedModelArn"]
    with pytest.raises(ClientError) as info:
        ask(env.runtime, throughput)
    assert error_code(info) == "ModelNotReadyException"
    env.sim.advance(60)
    assert text_of(ask(env.runtime, throughput))


def test_a_custom_model_answers_its_training_topics_closer_than_its_base(env: Env) -> None:
    known = samples.known_answer(QUESTION)
    assert known is not None
    topic, reference = known
    two_epochs = deployment(env, custom_model(env, epochs=2), "deploy-2")
    five_epochs = deployment(env, custom_model(env, epochs=5), "deploy-5")
    env.s3.put_object(Bucket="datasets", Key="other.jsonl", Body=b'{"prompt": "a", "completion": "b"}\n')
    untrained = deployment(env, custom_model(env, epochs=3, training="s3://datasets/other.jsonl"), "deploy-3")
    env.sim.advance(300)

    def error_rate(model_id: str) -> float:
        wrong = total = 0
        for ticket in range(40):
            question = f"Support ticket {ticket}: how can I {topic}?"
            answer = text_of(ask(env.runtime, model_id, question)).split()
            words = reference.split()
            wrong += sum(1 for w in words if w not in answer)
            total += len(words)
        return wrong / total

    base, custom2, custom5 = (
        error_rate("amazon.nova-micro-v1:0"),
        error_rate(two_epochs),
        error_rate(five_epochs),
    )
    assert custom5 < custom2 < base
    assert error_rate(untrained) == pytest.approx(base, abs=0.1)  # nothing learned about this topic


def test_titan_refuses_system_prompts_and_unknown_questions_get_a_generic_answer(env: Env) -> None:
    with pytest.raises(ClientError) as info:
        ask(env.runtime, "amazon.titan-text-express-v1", system=[{"text": "Be brief."}])
    assert "doesn't support system messages" in str(info.value)
    assert text_of(ask(env.runtime, "amazon.nova-micro-v1:0", system=[{"text": "Be brief."}]))
    assert "do not have specific information" in text_of(
        ask(env.runtime, "amazon.nova-micro-v1:0", "What is love?")
    )
    with pytest.raises(ClientError) as info:
        ask(env.runtime, "amazon.nova-micro-v1:0", inferenceConfig={"temperature": 1.5})
    assert error_code(info) == "ValidationException"


def test_converse_stream_sends_the_answer_as_events(env: Env) -> None:
    whole = text_of(ask(env.runtime, "amazon.nova-lite-v1:0"))
    events = list(
        env.runtime.converse_stream(
            modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": QUESTION}]}]
        )["stream"]
    )
    assert "messageStart" in events[0] and "metadata" in events[-1]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == whole
    assert [e["messageStop"]["stopReason"] for e in events if "messageStop" in e] == ["end_turn"]
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_invoke_model_serves_cohere_bodies_with_token_headers(env: Env) -> None:
    response = env.runtime.invoke_model(
        modelId="cohere.command-text-v14", body=json.dumps({"prompt": QUESTION, "max_tokens": 100})
    )
    assert json.loads(response["body"].read())["generations"][0]["finish_reason"] == "COMPLETE"
    assert int(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-output-token-count"]) > 0
    with pytest.raises(ClientError) as info:
        env.runtime.invoke_model(modelId="amazon.nova-micro-v1:0", body=json.dumps({"prompt": QUESTION}))
    assert error_code(info) == "ValidationException"


def test_throttling_is_injected_counted_and_published(env: Env) -> None:
    env.sim.fail_next("Converse", throttling(), count=2)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            ask(env.runtime, "amazon.nova-micro-v1:0")
        assert error_code(info) == "ThrottlingException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    ask(env.runtime, "amazon.nova-micro-v1:0")
    outcomes = [i.outcome for i in env.sim.invocations("amazon.nova-micro-v1:0")]
    assert outcomes == ["ThrottlingException", "ThrottlingException", "ok"]

    cloudwatch = SESSION.client("cloudwatch")
    window = {
        "StartTime": datetime(2025, 3, 1, tzinfo=UTC),
        "EndTime": datetime(2025, 3, 2, tzinfo=UTC),
        "Period": 86400,
    }

    def total(metric: str, model_id: str) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Bedrock",
            MetricName=metric,
            Dimensions=[{"Name": "ModelId", "Value": model_id}],
            Statistics=["Sum"],
            **window,
        )["Datapoints"]
        return float(sum(p["Sum"] for p in points))

    assert total("Invocations", "amazon.nova-micro-v1:0") == 1
    assert total("InvocationThrottles", "amazon.nova-micro-v1:0") == 2
    assert total("OutputTokenCount", "amazon.nova-micro-v1:0") == env.sim.invocations()[-1].output_tokens


def test_provisioned_models_are_counted_under_their_arn(env: Env) -> None:
    throughput = env.bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-2", modelId=custom_model(env)
    )["provisionedModelArn"]
    env.sim.advance(600)
    ask(env.runtime, throughput)
    [invocation] = env.sim.invocations(throughput)
    assert invocation.ok and invocation.operation == "Converse"
    listed = SESSION.client("cloudwatch").list_metrics(
        Namespace="AWS/Bedrock",
        MetricName="Invocations",
        Dimensions=[{"Name": "ModelId", "Value": throughput}],
    )["Metrics"]
    assert len(listed) == 1


def test_a_fixed_latency_and_a_clock_left_alone() -> None:
    clock = SimClock(datetime(2025, 3, 1, tzinfo=UTC))
    with mock_aws(), BedrockSimulator(clock, runtime_latency_seconds=2.5, advance_clock_on_invoke=False):
        response = ask(SESSION.client("bedrock-runtime", config=NO_RETRIES), "amazon.nova-micro-v1:0")
        assert response["metrics"]["latencyMs"] == 2500
        assert clock.elapsed_seconds == 0


def test_degrading_is_deterministic_and_proportional() -> None:
    reference = "one two three four five six seven eight nine ten " * 10
    assert degrade(reference, 0.3, "a") == degrade(reference, 0.3, "a")
    assert degrade(reference, 0.0, "a") == reference.strip()
    kept = sum(w in reference.split() for w in degrade(reference, 0.5, "b").split())
    assert 30 < kept < 80
