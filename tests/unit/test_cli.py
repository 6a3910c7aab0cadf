"""The `bmc` command: exit codes, the --json shape, human output and the catalog browser."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bmc.cli import main as cli
from bmc.cli import validate as validate_command
from bmc.cli.validate import ProgressLine

from tests.unit.fixtures_datasets import Line, continued_pre_training, conversation, dataset

NOVA = "amazon.nova-micro-v1"
NOVA_FINE_TUNING = ("--base-model", NOVA, "--customization-type", "FINE_TUNING")


def bmc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def nova_dataset(tmp_path: Path, **kwargs: Any) -> str:
    return dataset(tmp_path, conversation, 10, **kwargs)


def validate_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = bmc(capsys, "validate", "--json", *argv)
    return code, json.loads(out)  # exactly one JSON object: json.loads rejects trailing output


def test_valid_dataset_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = validate_json(capsys, *NOVA_FINE_TUNING, nova_dataset(tmp_path))
    assert code == 0
    assert set(report) == {"valid", "errors", "warnings", "acknowledged", "hints", "stats", "estimate"}
    assert report["valid"] is True
    assert report["errors"] == []
    assert [w["code"] for w in report["warnings"]] == ["FEW_RECORDS"]
    assert report["estimate"]["epochs"] == 2


def test_invalid_dataset_exits_1_with_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nova_dataset(
        tmp_path, replace={4: {"schemaVersion": "bedrock-conversation-2024", "messages": "hi"}}
    )
    code, report = validate_json(capsys, *NOVA_FINE_TUNING, path)
    assert code == 1
    assert report["valid"] is False
    assert report["errors"] == [
        {
            "file": path,
            "line": 4,
            "field": "messages",
            "code": "WRONG_TYPE",
            "message": "messages must be an array, got string",
            "count": 1,
            "lines": [4],
        }
    ]


def test_bad_hyperparameters_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = validate_json(
        capsys,
        "--base-model",
        "amazon.nova-micro-v1:0:128k",
        "--customization-type",
        "FINE_TUNING",
        "--hyperparameters",
        '{"epochs": 3, "learningRate": "fast"}',
        nova_dataset(tmp_path),
    )
    assert code == 1
    assert [(e["file"], e["field"], e["code"]) for e in report["errors"]] == [
        ("--hyperparameters", "hyperparameters.epochs", "UNKNOWN_HYPERPARAMETER"),
        ("--hyperparameters", "hyperparameters.learningRate", "INVALID_HYPERPARAMETER_TYPE"),
    ]
    assert "did you mean 'epochCount'" in report["errors"][0]["message"]


def test_hyperparameters_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "hp.json"
    spec.write_text('{"epochCount": 9}')
    code, report = validate_json(
        capsys,
        *NOVA_FINE_TUNING,
        "--hyperparameters",
        f"@{spec}",
        nova_dataset(tmp_path),
    )
    assert code == 1
    assert report["errors"][0]["file"] == str(spec)
    assert report["errors"][0]["code"] == "HYPERPARAMETER_OUT_OF_RANGE"


@pytest.mark.parametrize(
    ("model", "customization_type", "code"),
    [
        ("amazon.nova-mikro-v1", "FINE_TUNING", "UNKNOWN_MODEL"),
        (NOVA, "CONTINUED_PRE_TRAINING", "UNSUPPORTED_CUSTOMIZATION_TYPE"),
    ],
)
def test_unknown_model_or_unsupported_type_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, customization_type: str, code: str
) -> None:
    exit_code, report = validate_json(
        capsys, "--base-model", model, "--customization-type", customization_type, nova_dataset(tmp_path)
    )
    assert exit_code == 1
    assert [e["code"] for e in report["errors"]] == [code]


def test_missing_file_exits_2_and_still_prints_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = validate_json(capsys, *NOVA_FINE_TUNING, str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert [e["code"] for e in report["errors"]] == ["FILE_NOT_FOUND"]


def test_missing_validation_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = bmc(
        capsys,
        "validate",
        *NOVA_FINE_TUNING,
        "--validation-file",
        str(tmp_path / "nope.jsonl"),
        nova_dataset(tmp_path),
    )
    assert code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "--base-model", NOVA, "train.jsonl"], "--customization-type"),
        (
            ["validate", "--base-model", NOVA, "--customization-type", "RFT", "train.jsonl"],
            "not a customization",
        ),
        (
            ["validate", "--base-model", NOVA, "--customization-type", "fine-tunin", "t.jsonl"],
            "did you mean FINE_TUNING?",
        ),
        (
            ["validate", *NOVA_FINE_TUNING, "--allow", "RESERVED_STRNG", "t.jsonl"],
            "did you mean RESERVED_STRING",
        ),
        (["validate", *NOVA_FINE_TUNING, "--allow", "INVALID_JSON", "t.jsonl"], "cannot be acknowledged"),
        (["validate", *NOVA_FINE_TUNING, "--max-findings", "0", "t.jsonl"], "positive number or 'all'"),
        (["validate", *NOVA_FINE_TUNING, "--region", "virginia", "t.jsonl"], "not an AWS region"),
        (["validate", "--customization-type", "FINE_TUNING", "train.jsonl"], "--base-model"),
        (
            [
                "validate",
                *NOVA_FINE_TUNING,
                "--hyperparameters",
                "{bad",
                "t.jsonl",
            ],
            "not valid JSON",
        ),
        (
            [
                "validate",
                *NOVA_FINE_TUNING,
                "--hyperparameters",
                "[1]",
                "t.jsonl",
            ],
            "JSON object",
        ),
        (
            [
                "validate",
                *NOVA_FINE_TUNING,
                "--hyperparameters",
                "@/nonexistent/hp.json",
                "t.jsonl",
            ],
            "cannot read",
        ),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = bmc(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_human_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = dataset(tmp_path, continued_pre_training, 30, replace={n: {"input": ""} for n in range(5, 30)})
    code, out, _ = bmc(
        capsys,
        "validate",
        "--base-model",
        "amazon.titan-text-lite-v1",
        "--customization-type",
        "CONTINUED_PRE_TRAINING",
        path,
    )
    assert code == 1
    assert out.startswith(
        "INVALID: amazon.titan-text-lite-v1:0:4k CONTINUED_PRE_TRAINING - 25 error(s), 0 warning(s)"
    )
    assert (
        f"{path}:5: input [EMPTY_VALUE] input is empty\n    repeated on 25 lines: 5, 6, 7, 8, 9, ...\n" in out
    )
    assert "training:" in out
    assert "Estimate:" in out
    assert "Example prices as of" in out


def test_progress_line_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = ProgressLine(total=200_000_000, stream=stream)
    progress(50_000_000)
    progress(60_000_000)  # within the redraw interval: skipped
    progress.clear()
    text = stream.getvalue()
    assert "validating: 50.0 MB of 200.0 MB (25%)" in text
    assert "60.0 MB" not in text
    assert text.endswith("\r\033[K")


def test_no_traceback_on_unexpected_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(**_: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(validate_command, "validate_datasets", explode)
    code, _, err = bmc(
        capsys,
        "validate",
        *NOVA_FINE_TUNING,
        nova_dataset(tmp_path),
    )
    assert code == 2
    assert err == "bmc: unexpected error: RuntimeError: disk on fire\n"


def test_models_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = bmc(capsys, "models")
    assert code == 0
    assert "amazon.nova-micro-v1:0:128k" in out
    assert "Amazon Titan Text G1 - Lite (legacy)" in out
    code, out, _ = bmc(capsys, "models", "--json")
    data = json.loads(out)
    assert code == 0
    assert len(data["models"]) == 19
    assert {"amazon.nova-pro-v1:0", "meta.llama3-1-405b-instruct-v1:0"} <= {
        t["model_id"] for t in data["distillation_teachers"]
    }


def test_models_shows_one_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = bmc(capsys, "models", "cohere.command-text-v14")
    assert code == 0
    assert "Cohere Command (cohere.command-text-v14:7:4k) - legacy" in out
    assert "evalPercentage" in out
    assert "(only without validation data)" in out
    assert "provisioned throughput yes, on-demand deployment no" in out
    code, out, _ = bmc(capsys, "models", "--json", NOVA)
    data = json.loads(out)
    assert data["customization_id"] == "amazon.nova-micro-v1:0:128k"
    assert data["serving"] == {"provisioned_throughput": True, "on_demand_deployment": True}
    assert data["training_price_per_1k_tokens"] == 0.001
    assert [h["name"] for h in data["customizations"]["FINE_TUNING"]["hyperparameters"]] == [
        "epochCount",
        "learningRate",
        "learningRateWarmupSteps",
    ]


def test_models_unknown_id_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bmc(capsys, "models", "amazon.nova-mikro")
    assert code == 1
    assert out == ""
    assert "did you mean amazon.nova-micro-v1:0:128k" in err


def test_runs_as_a_program(tmp_path: Path) -> None:
    path = nova_dataset(tmp_path, replace={2: "not json"})
    argv = [
        sys.executable,
        "-m",
        "bmc.cli",
        "validate",
        "--json",
        *NOVA_FINE_TUNING,
        path,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"][0]["code"] == "INVALID_JSON"
    assert result.stderr == ""


def test_customization_type_in_any_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = validate_json(
        capsys, "--base-model", NOVA, "--customization-type", "fine-tuning", nova_dataset(tmp_path)
    )
    assert code == 0
    assert report["stats"]["customization_type"] == "FINE_TUNING"


def test_unreadable_input_gives_the_error_not_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.jsonl")
    code, out, err = bmc(capsys, "validate", *NOVA_FINE_TUNING, missing)
    assert (code, out) == (2, "")
    assert err == f"bmc: error: {missing}: no such file [FILE_NOT_FOUND]\n"
    code, report = validate_json(capsys, *NOVA_FINE_TUNING, missing)
    assert code == 2
    assert report["estimate"] is None  # never a 0.00 USD estimate for data that was not read
    code, out, err = bmc(
        capsys,
        "validate",
        "--base-model",
        "amazon.nova-micro-v9",
        "--customization-type",
        "FINE_TUNING",
        missing,
    )
    assert (code, out) == (1, "")
    assert err.startswith(
        "bmc: error: unknown model 'amazon.nova-micro-v9'; did you mean amazon.nova-micro-v1"
    )


def test_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = Path(nova_dataset(tmp_path, replace={3: "not json"})).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, report = validate_json(capsys, *NOVA_FINE_TUNING, "-")
    assert code == 1
    assert [(e["file"], e["line"], e["code"]) for e in report["errors"]] == [("<stdin>", 3, "INVALID_JSON")]
    assert report["stats"]["training"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_max_findings_all_lists_every_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken: dict[int, Line] = {n: {"input": ""} for n in range(1, 41)}
    path = dataset(tmp_path, continued_pre_training, 40, replace=broken)
    argv = (
        "--base-model",
        "amazon.titan-text-lite-v1",
        "--customization-type",
        "CONTINUED_PRE_TRAINING",
        path,
    )
    _, capped = validate_json(capsys, *argv)
    assert capped["errors"][0]["count"] == 40
    assert capped["errors"][0]["lines"] == list(range(1, 21))
    _, every = validate_json(capsys, "--max-findings", "all", *argv)
    assert every["errors"][0]["lines"] == list(range(1, 41))
    _, out, _ = bmc(capsys, "validate", "--max-findings", "all", *argv)
    assert "repeated on 40 lines: " + ", ".join(str(n) for n in range(1, 41)) + "\n" in out


def test_teacher_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = dataset(tmp_path, lambda i: conversation(i, answer=False), 100)
    argv = ("--base-model", NOVA, "--customization-type", "DISTILLATION", prompts)
    code, report = validate_json(capsys, "--teacher-model", "amazon.nova-pro-v1:0", *argv)
    assert code == 0, report["errors"]
    code, report = validate_json(capsys, "--teacher-model", "meta.llama3-1-405b-instruct-v1:0", *argv)
    assert code == 1
    assert [e["code"] for e in report["errors"]] == ["TEACHER_NOT_SUPPORTED"]


def test_acknowledged_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = conversation(3)
    record["system"] = [{"text": "System: answer briefly."}]
    path = nova_dataset(tmp_path, replace={3: record})
    code, out, _ = bmc(capsys, "validate", *NOVA_FINE_TUNING, "--allow", "reserved_string", path)
    assert code == 0
    assert "Acknowledged for this run (--allow): RESERVED_STRING 1" in out


@pytest.mark.parametrize(
    "value", ['{"epochCount": ' + "7" * 10_000 + "}", '{"epochCount": ' + "[" * 100_000 + "]" * 100_000 + "}"]
)
def test_hyperparameters_python_cannot_read_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _, err = bmc(
        capsys, "validate", *NOVA_FINE_TUNING, "--hyperparameters", value, nova_dataset(tmp_path)
    )
    assert code == 2 and "--hyperparameters" in err


# --- serving cost in the estimate ---------------------------------------------------------------


def test_the_estimate_adds_the_serving_cost_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command_light = ("--base-model", "cohere.command-light-text-v14", "--customization-type", "FINE_TUNING")
    path = dataset(tmp_path, lambda i: {"prompt": f"question {i}", "completion": "answer"}, 20)
    serving = ("--serving", "provisioned", "--model-units", "2", "--ttl-hours", "8")
    code, report = validate_json(capsys, *command_light, *serving, path)
    assert code == 0
    requested = report["estimate"]["serving"]["requested"]
    assert (requested["hourly_cost"], requested["total_cost"]) == (17.12, 136.96)  # 2 x 8.56 x 8 h
    assert report["estimate"]["serving"]["provisioned_per_model_unit_hour"]["OneMonth"] is None
    code, out, _ = bmc(capsys, "validate", *command_light, *serving, path)
    assert "Serving: provisioned throughput, 2 model unit(s), no commitment: 17.12 USD per hour, " in out
    assert "136.96 USD for its 8 hour(s)" in out
    assert "per model unit and hour: no commitment 8.56 USD, 1 month unknown, 6 months unknown" in out


def test_without_serving_options_the_estimate_gives_the_model_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = bmc(capsys, "validate", *NOVA_FINE_TUNING, nova_dataset(tmp_path))
    assert code == 0 and "Serving:" not in out
    assert "On-demand deployment per 1K tokens: input 0.000035 USD, output 0.000140 USD" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--ttl-hours", "3"), "need --serving provisioned or on-demand"),
        (("--serving", "provisioned", "--commitment", "OneMonth", "--ttl-hours", "3"), "cannot be deleted"),
        (
            ("--serving", "on-demand", "--commitment", "OneMonth"),
            "commitment applies only to mode provisioned",
        ),
    ],
)
def test_inconsistent_serving_options_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = bmc(capsys, "validate", *NOVA_FINE_TUNING, *argv, nova_dataset(tmp_path))
    assert code == 2 and message in err
