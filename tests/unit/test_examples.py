"""examples/: every dataset is valid for its model, every run spec is valid, the files are what
scripts/make_examples.py writes, each mistake's output is exactly the recorded one, and the
README's `bmc validate` example runs as written."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from bmc.catalog.models import all_models, resolve_model
from bmc.runspec import validate_spec
from bmc.validation import validate_datasets

ROOT = Path(__file__).resolve().parents[2]


def _load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


make_examples = _load_script("make_examples")

EXAMPLES = make_examples.examples()
MISTAKES = make_examples.mistakes()


def test_examples_are_what_the_script_writes() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, content in make_examples.rendered().items()
        if not path.exists() or path.read_bytes() != content
    ]
    assert stale == [], "run .venv/bin/python scripts/make_examples.py and review the diff"


def test_examples_cover_every_family_and_customization_type() -> None:
    offered = {(m.family, c.customization_type) for m in all_models() for c in m.customizations}
    covered = {(resolve_model(e.model).family, e.customization_type) for e in EXAMPLES}
    assert offered - covered == set()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_every_example_is_valid_for_its_model(example: Any) -> None:
    folder = ROOT / "examples" / example.name
    validation = [str(folder / "validation.jsonl")] if example.validation else []
    report = validate_datasets(
        model_id=example.model,
        customization_type=example.customization_type,
        training=str(folder / "train.jsonl"),
        validation=validation,
        hyperparameters=example.hyperparameters,
        teacher_model=example.teacher,
    )
    assert report.valid, report.errors
    # Small on purpose: only the advice to use more records.
    assert {f.code for f in report.warnings} <= {"FEW_RECORDS"}, report.warnings
    spec = json.loads((folder / "run-spec.json").read_text(encoding="utf-8"))
    check = validate_spec(spec, source="run-spec.json")
    assert check.ok, check.errors


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_mistake_gives_the_recorded_output(mistake: Any) -> None:
    recorded = (ROOT / "examples" / "mistakes" / f"{mistake.name}.txt").read_text(encoding="utf-8")
    command_line, _, expected = recorded.partition("\n")
    argv = shlex.split(command_line.removeprefix("$ "))
    code, output = make_examples.run_bmc(argv)
    assert f"{output}(exit code {code})\n" == expected


def test_the_readme_validate_example_runs_as_written() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(pip install \..*?)```", readme, re.DOTALL)
    assert block, "README: the `pip install .` block is missing"
    commands = block.group(1).replace("\\\n", " ").splitlines()
    validate = [line.split("#")[0] for line in commands if line.startswith("bmc validate")]
    assert validate, "README: no `bmc validate` example"
    for line in validate:
        code, output = make_examples.run_bmc(shlex.split(line))
        assert code == 0, output
        assert output.startswith("VALID: "), output
