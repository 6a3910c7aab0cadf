"""WriteReport / WriteFailureReport and the report of an aborted execution."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bmc.handlers import cleanup, execution_ended, notify, write_report

from tests.unit.workflow_support import (
    ARTIFACTS_BUCKET,
    STARTED_AT_MS,
    Cloud,
    collected,
    invoke,
    lambda_error,
    local_cloud,
    status_change,
    step,
    submitted,
)


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with local_cloud() as created:
        yield created


def report_of(cloud: Cloud, run_id: str) -> str:
    body = cloud.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=f"reports/{run_id}/report.html")
    assert body["ContentType"] == "text/html; charset=utf-8"
    return str(body["Body"].read().decode("utf-8"))


def test_the_success_path_completes_the_run_then_reports_it(cloud: Cloud) -> None:
    state = collected(cloud, "run-1")
    result = step("run-1", write_report.handler, state, None)
    uri = f"s3://{ARTIFACTS_BUCKET}/reports/run-1/report.html"
    assert result == {"written": True, "uri": uri, "bytes": result["bytes"]}
    run = cloud.run("run-1")
    assert run["status"] == "COMPLETED" and run["reports"]["report"] == uri
    page = report_of(cloud, "run-1")
    assert 'badge status-completed">COMPLETED<' in page
    assert 'data-chart="loss-per-step" data-empty="false"' in page
    assert 'data-chart="loss-per-epoch" data-empty="false"' in page
    assert 'id="validation"' in page and 'id="cost"' in page
    # Notify repeats the completion harmlessly and links the report.
    step("run-1", notify.handler, {**state, "report": result}, None)
    [message] = cloud.notifications()
    assert uri in message["Message"]
    assert (
        "/s3/object/bmc-artifacts-test?region=us-east-1&bucketType=general&prefix=reports/run-1/report.html"
        in message["Message"]
    )
    assert [entry["status"] for entry in run["statusHistory"]].count("COMPLETED") == 1


def test_the_failure_path_reports_the_error_after_cleanup(cloud: Cloud) -> None:
    state = submitted("run-1")
    state = {**state, "error": lambda_error(RuntimeError("training data <vanished>"))}
    state = step("run-1", cleanup.handler, state, "cleanup")
    assert step("run-1", write_report.handler, state, None)["written"] is True
    page = report_of(cloud, "run-1")
    assert 'badge status-failed">FAILED<' in page
    assert "training data &lt;vanished&gt;" in page
    assert cloud.run("run-1")["status"] == "FAILED"  # the report never changes a failed run


def test_a_report_that_cannot_be_written_is_recorded_never_raised(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = submitted("run-1")
    state = step("run-1", cleanup.handler, {**state, "error": lambda_error(RuntimeError("boom"))}, "cleanup")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "no-such-bucket")
    result = step("run-1", write_report.handler, state, None)
    assert result["written"] is False and "NoSuchBucket" in result["problem"]
    assert "NoSuchBucket" in cloud.run("run-1")["reportProblem"]
    step("run-1", notify.handler, {**state, "report": result}, None)
    assert "report: not written (NoSuchBucket" in cloud.notifications()[0]["Message"]


def test_a_broken_registry_does_not_stop_the_failure_path(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_TABLE", "no-such-table")
    state = {"error": lambda_error(RuntimeError("boom"))}
    result = step("run-1", write_report.handler, state, None)
    assert result["written"] is False and "ResourceNotFoundException" in result["problem"]


def test_an_aborted_execution_gets_its_report(cloud: Cloud) -> None:
    submitted("run-1")
    result = invoke(execution_ended.handler, status_change("run-1", "ABORTED"))
    assert result["report"]["written"] is True
    page = report_of(cloud, "run-1")
    assert "ExecutionAborted" in page and 'badge status-stopped">STOPPED<' in page
    assert result["report"]["uri"] in cloud.notifications()[-1]["Message"]


def test_a_run_id_used_again_never_overwrites_the_earlier_runs_report(cloud: Cloud) -> None:
    state = collected(cloud, "run-1")
    step("run-1", write_report.handler, state, None)
    before = report_of(cloud, "run-1")
    # A later execution with the same name (Step Functions frees names after 90 days) fails.
    later = invoke(
        execution_ended.handler, status_change("run-1", "ABORTED", startDate=STARTED_AT_MS + 86_400_000)
    )
    assert later["report"] == {
        "written": False,
        "problem": "run run-1 has no record of this execution; no report written",
    }
    assert report_of(cloud, "run-1") == before
    assert "reportProblem" not in cloud.run("run-1")
