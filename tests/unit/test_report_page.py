"""The run report page: its sections, escaping, the Content-Security-Policy and its inputs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import boto3
import pytest
from bmc.report import ReportInputs, load_inputs, render_report
from bmc.report.cost import training_cost
from moto import mock_aws

from tests.unit.report_fixtures import (
    GENERATED_AT,
    HOSTILE_FILE,
    HOSTILE_NAME,
    RUN_ID,
    full_documents,
    full_inputs,
    full_record,
)


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the stylesheet."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def plain(self) -> str:
        return " ".join(self.text)


@pytest.fixture(scope="module")
def full_page() -> str:
    return render_report(full_inputs())


def test_every_section_of_a_complete_run_is_there_in_order(full_page: str) -> None:
    page = Page(full_page)
    assert [s["id"] for s in page.all("section")] == [
        "overview",
        "timeline",
        "training",
        "validation",
        "hyperparameters",
        "cost",
        "evaluation",
        "lineage",
    ]
    assert [a["href"] for a in page.all("a")] == [f"#{s['id']}" for s in page.all("section")]
    figures = {f["data-chart"]: f["data-empty"] for f in page.all("figure")}
    assert figures == {
        "timeline": "false",
        "loss-per-step": "false",
        "loss-per-epoch": "false",
        "evaluation-scores": "false",
        "evaluation-deltas": "false",
    }


def test_values_from_users_are_text_never_markup(full_page: str) -> None:
    page = Page(full_page)
    assert not page.all("script") and not page.all("img")
    assert HOSTILE_NAME in page.plain  # shown, as text
    assert HOSTILE_FILE in page.plain
    assert "<b>inside</b>" in page.plain  # a finding's message, not bold text
    assert "&lt;script&gt;alert(&quot;run&quot;)&lt;/script&gt;" in full_page


def test_the_page_loads_nothing_and_runs_nothing(full_page: str) -> None:
    page = Page(full_page)
    names = {name for name, _ in page.tags}
    assert not names & {
        "script",
        "img",
        "link",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "base",
        "form",
    }
    for _, attrs in page.tags:
        assert "style" not in attrs  # the policy allows the stylesheet alone
        assert not any(name.startswith("on") for name in attrs)
        for name in ("href", "src", "xlink:href", "action"):
            assert attrs.get(name) is None or str(attrs[name]).startswith("#")
    assert "url(" not in page.style and "@import" not in page.style


def test_the_content_security_policy_allows_exactly_the_page_stylesheet(full_page: str) -> None:
    page = Page(full_page)
    [meta] = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = str(meta["content"])
    assert policy.startswith("default-src 'none'")
    digest = base64.b64encode(hashlib.sha256(page.style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy
    # The policy comes before the stylesheet it governs.
    assert full_page.index("Content-Security-Policy") < full_page.index("<style>")


def test_the_owner_reads_as_a_team_and_who_started_the_run(full_page: str) -> None:
    assert "team support (started by arn:aws:iam::123456789012:role/SupportML)" in Page(full_page).plain


def test_numbers_have_thousands_separators_and_costs_compare_plan_and_outcome(full_page: str) -> None:
    text = Page(full_page).plain
    assert "19,429" in text and "58,287" in text and "1.2 MiB" in text
    assert "0.0583 USD" in text
    assert "Bedrock reports no billed token count through its API" in text


def test_the_evaluation_shows_deltas_with_intervals_and_the_gate(full_page: str) -> None:
    text = Page(full_page).plain
    assert "+0.190 [+0.120, +0.260]" in text  # exactMatch, a 0-1 metric
    assert "-2.50 [-5.10, +0.20]" in text  # bleu, a 0-100 metric
    assert "120 / 40 / 38 on tokenF1" in text
    assert "passed: rougeL delta +0.06 >= 0.02" in text


def test_lineage_shows_datasets_parents_and_the_chain(full_page: str) -> None:
    text = Page(full_page).plain
    assert "3HL4kqtJlcpXroDTDmJ" in text and "support-bot-v1" in text
    assert "s3://artifacts/snapshots/support-bot/train.jsonl" in text
    chain = re.search(r'<ol class="chain">(.*?)</ol>', full_page)
    assert chain is not None and chain.group(1).count("<li>") == 2


def test_a_run_that_failed_early_shows_what_it_has() -> None:
    record = {
        "runId": "bad-run",
        "status": "FAILED",
        "statusHistory": [{"status": "FAILED", "at": "2025-06-02T09:00:00.000Z", "detail": "RunSpecInvalid"}],
        "error": {"error": "RunSpecInvalid", "cause": "baseModel: <unknown> model"},
    }
    page = Page(render_report(ReportInputs("bad-run", record, GENERATED_AT)))
    assert [s["id"] for s in page.all("section")] == ["overview", "timeline"]
    assert "ERROR RunSpecInvalid" in page.plain and "baseModel: <unknown> model" in page.plain


def test_a_run_with_no_record_at_all_still_gets_a_page() -> None:
    inputs = ReportInputs(
        "lost-run",
        {"runId": "lost-run"},
        GENERATED_AT,
        error={"error": "States.Timeout", "cause": "timed out"},
    )
    page = Page(render_report(inputs))
    assert "ERROR States.Timeout" in page.plain
    assert "no recorded status history" in page.plain


def test_a_job_without_metrics_says_the_curves_are_missing() -> None:
    record = {**full_record(), "metricsSummary": None, "lineage": None, "evaluation": None}
    documents = {"validation": full_documents()["validation"]}
    page = Page(render_report(ReportInputs(RUN_ID, record, GENERATED_AT, documents)))
    assert "The job's training metrics were not collected." in page.plain
    assert "lineage" not in [s["id"] for s in page.all("section")]


# --- cost ----------------------------------------------------------------------------------------

ESTIMATE = {
    "training_tokens": 10_000,
    "epochs": 3,
    "billed_tokens": 30_000,
    "price_per_1k_tokens": 0.002,
    "training_cost": 0.06,
    "currency": "USD",
}


def test_the_tokens_billed_follow_the_epochs_the_job_trained() -> None:
    stopped_early = training_cost(ESTIMATE, {"epochs": 1}, job_created=True)
    assert stopped_early is not None
    assert (stopped_early.planned_tokens, stopped_early.trained_tokens) == (30_000, 10_000)
    assert (stopped_early.planned_cost, stopped_early.trained_cost) == (0.06, 0.02)


def test_no_job_bills_nothing_and_no_metrics_is_unknown() -> None:
    never = training_cost(ESTIMATE, None, job_created=False)
    assert never is not None and never.trained_tokens == 0 and never.trained_cost == 0.0
    unknown = training_cost(ESTIMATE, {"epochs": 0}, job_created=True)
    assert unknown is not None and unknown.trained_epochs is None and unknown.trained_tokens is None
    assert "unknown" in unknown.basis
    assert training_cost(None, None, job_created=False) is None


# --- inputs --------------------------------------------------------------------------------------


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="artifacts")
        yield client


def test_documents_are_read_from_the_run_prefix_only(s3: Any) -> None:
    s3.put_object(Bucket="artifacts", Key=f"reports/{RUN_ID}/metrics.json", Body=b"{not json")
    s3.put_object(
        Bucket="artifacts", Key="reports/other-run/validation.json", Body=json.dumps({"valid": True}).encode()
    )
    s3.put_object(
        Bucket="artifacts", Key=f"reports/{RUN_ID}/evaluation.json", Body=json.dumps({"metrics": {}}).encode()
    )
    record = {
        "runId": RUN_ID,
        "reports": {
            "validation": "s3://artifacts/reports/other-run/validation.json",
            "metrics": f"s3://artifacts/reports/{RUN_ID}/metrics.json",
            "evaluation": f"s3://artifacts/reports/{RUN_ID}/evaluation.json",
        },
    }
    inputs = load_inputs(RUN_ID, record=record, bucket="artifacts", s3_client=s3, generated_at=GENERATED_AT)
    assert set(inputs.documents) == {"evaluation"}
    assert len(inputs.notes) == 2
    assert "is not under s3://artifacts/reports/" in inputs.notes[0]
    assert "is not JSON" in inputs.notes[1]


def test_a_missing_document_is_a_note(s3: Any) -> None:
    record = {"runId": RUN_ID, "reports": {"metrics": f"s3://artifacts/reports/{RUN_ID}/metrics.json"}}
    inputs = load_inputs(RUN_ID, record=record, bucket="artifacts", s3_client=s3, generated_at=GENERATED_AT)
    assert inputs.documents == {} and "NoSuchKey" in inputs.notes[0]
    assert "metrics report not shown" in Page(render_report(inputs)).plain
