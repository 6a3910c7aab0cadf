"""The evaluation functions' code asset is self-contained, and its arm64 recipe is complete.

Lambda runs the asset on linux arm64 / CPython 3.14; this machine is x86_64 with another
Python. Two checks together cover it, in seconds:

1. The same recipe (the same pinned requirement files, the same locally built rouge-score
   wheel, binary wheels only) is built for this interpreter into a temporary folder, and the
   evaluation handlers are imported and a batch is scored in an isolated ``python -I -S``
   whose path is only the asset and the Powertools layer, as in Lambda (no site-packages).
2. The arm64 recipe is resolved by pip for the Lambda platform (``--dry-run --report``): it
   must resolve to exactly the pinned set, every distribution a wheel for aarch64 (or pure
   Python) and CPython 3.14. Every requirement of every bundled distribution, with markers
   evaluated for Lambda, is pinned: nothing can come in unpinned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from constructs_lib.functions import (
    BUNDLE_REQUIREMENTS,
    EVALUATION_REQUIREMENTS,
    RUNTIME_VERSION,
    build_sdist_wheels,
    pip_bundle,
    pip_install_command,
)

pytestmark = pytest.mark.infra

REQUIREMENTS = (BUNDLE_REQUIREMENTS, EVALUATION_REQUIREMENTS)
# What the official Powertools layer provides (the functions' other import source in Lambda).
LAYER_PACKAGES = ("aws_lambda_powertools", "aws_xray_sdk", "wrapt", "typing_extensions", "jmespath")
LAMBDA_MARKERS = {
    **default_environment(),
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": RUNTIME_VERSION,
    "python_full_version": f"{RUNTIME_VERSION}.0",
}

SCRIPT = """
import json, sys
sys.path[:0] = [ASSET, LAYER]
from bmc.handlers import evaluate_batch, summarize_evaluation  # noqa: F401
from bmc.evaluation.metrics import score_system
import numpy, rouge_score, sacrebleu
scores = score_system(["the cat sat on the mat"], ["the cat sat"])
outside = [m.__file__ for m in (numpy, rouge_score, sacrebleu) if not m.__file__.startswith(ASSET)]
print(json.dumps({"corpus": scores.corpus, "outside": outside, "path": sys.path}))
"""


def pinned() -> dict[str, str]:
    pins: dict[str, str] = {}
    for requirements in REQUIREMENTS:
        for line in requirements.read_text().splitlines():
            text = line.split("#", 1)[0].strip()
            if text:
                requirement = Requirement(text)
                pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


@pytest.fixture(scope="module")
def host_asset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    asset = tmp_path_factory.mktemp("asset")
    pip_bundle(asset, REQUIREMENTS, for_lambda=False)
    layer = tmp_path_factory.mktemp("layer")
    for package in LAYER_PACKAGES:
        module = __import__(package)
        origin = Path(module.__file__ or "")
        source = origin.parent if origin.name == "__init__.py" else origin
        (layer / source.name).symlink_to(source)
    yield asset, layer


def test_the_evaluation_asset_imports_and_scores_with_nothing_but_itself(
    host_asset: tuple[Path, Path],
) -> None:
    asset, layer = host_asset
    script = SCRIPT.replace("ASSET", repr(str(asset))).replace("LAYER", repr(str(layer)))
    environment = {"AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true", "PATH": os.environ["PATH"]}
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["outside"] == []
    assert not any("site-packages" in entry for entry in result["path"])
    assert result["corpus"]["rougeL"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_every_bundled_distribution_and_requirement_is_pinned(host_asset: tuple[Path, Path]) -> None:
    asset, _ = host_asset
    pins = pinned()
    bundled: dict[str, metadata.Distribution] = {
        canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(asset)])
    }
    assert set(bundled) == set(pins) | {"botocore", "jmespath", "python-dateutil", "s3transfer", "urllib3"}
    for name, version in pins.items():
        assert bundled[name].version == version, name
    for name, distribution in bundled.items():
        for text in distribution.requires or []:
            requirement = Requirement(text)
            environment = {**LAMBDA_MARKERS, "extra": ""}
            if requirement.marker is not None and not requirement.marker.evaluate(environment):  # type: ignore[arg-type]
                continue
            dependency = canonicalize_name(requirement.name)
            assert dependency in bundled, f"{name} needs {dependency}, which the bundle lacks"


def test_the_arm64_recipe_resolves_to_the_pinned_wheels(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    build_sdist_wheels(REQUIREMENTS, tmp_path)
    command = pip_install_command(tmp_path / "out", REQUIREMENTS, tmp_path, for_lambda=True)
    subprocess.run([*command, "--dry-run", "--ignore-installed", "--report", str(report)], check=True)
    installs = json.loads(report.read_text())["install"]
    resolved: dict[str, Any] = {canonicalize_name(i["metadata"]["name"]): i for i in installs}
    pins = pinned()
    for name, version in pins.items():
        assert resolved[name]["metadata"]["version"] == version, name
    for entry in resolved.values():
        wheel = entry["download_info"]["url"].rsplit("/", 1)[-1]
        assert wheel.endswith(".whl"), wheel
        tags = wheel.removesuffix(".whl").split("-")[-3:]
        assert tags[2] == "any" or "aarch64" in tags[2], wheel
        assert tags[0].startswith(("py3", "py2.py3", "cp314")) or tags[1] == "abi3", wheel
    assert {"numpy", "lxml", "regex", "orjson"} <= {
        n for n, e in resolved.items() if "aarch64" in e["download_info"]["url"]
    }
