"""``bmc lineage``: a run's chain, from the registry the way ``bmc invoke`` finds it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from bmc.cli.main import main

from tests.unit.workflow_support import TABLE, Cloud, collected, local_cloud


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def test_lineage_shows_every_step_with_its_data_versions_and_digests(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    collected(cloud, "run-0")
    cloud.registry.update("run-0", fields={"status": "COMPLETED"})
    collected(cloud, "run-1", baseModel="run:run-0")
    parent, child = cloud.run("run-0"), cloud.run("run-1")
    monkeypatch.setenv("BMC_REGISTRY_TABLE", TABLE)

    assert main(["lineage", "run-1"]) == 0
    text = capsys.readouterr().out
    training = parent["lineage"]["datasets"]["training"]
    assert text.startswith("Lineage of run run-1 (TRAINED)\nfoundation model: amazon.nova-micro-v1:0:128k\n")
    assert "1. run run-0 (COMPLETED)\n   FINE_TUNING of amazon.nova-micro-v1:0:128k\n" in text
    assert f"2. run run-1 (TRAINED)\n   FINE_TUNING of {parent['customModelArn']}\n" in text
    assert f"version {training['versionId']}, sha256 {training['sha256'][:16]}, 12 records" in text
    assert "trained from s3://bmc-datasets-test/snapshots/run-0/training.jsonl" in text
    assert "hyperparameters: epochCount=2, learningRate=1e-05" in text

    assert main(["lineage", "run-1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["parentRunId"] == "run-0"
    assert [s["customModelArn"] for s in document["chain"]] == [
        parent["customModelArn"],
        child["customModelArn"],
    ]
    assert document["chain"][1]["datasets"][0]["sha256"] == child["lineage"]["datasets"]["training"]["sha256"]


def test_lineage_of_an_unknown_run_or_without_a_registry(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BMC_REGISTRY_TABLE", TABLE)
    assert main(["lineage", "nope"]) == 1
    assert "run nope is not in the registry" in capsys.readouterr().err
    monkeypatch.delenv("BMC_REGISTRY_TABLE")
    with pytest.raises(SystemExit) as usage:
        main(["lineage", "nope", "--prefix", "elsewhere"])
    assert usage.value.code == 2
    assert "stack elsewhere-foundation cannot be read" in capsys.readouterr().err
