"""Mutation testing of the domain modules with mutmut, one module at a time (`make mutation`).

Each module is mutated against the fast unit tests that cover it (MODULES below), in a work
directory of its own under build/mutation/<module>/: mutmut copies the runtime package and the
tests into <work>/mutants/ and runs pytest there, so the checkout is never modified. The
package is imported from the mutated copy (PYTHONPATH), not from the editable install.

    python scripts/mutation.py                      # every module, fresh
    python scripts/mutation.py registry cleanup     # some modules
    python scripts/mutation.py --list               # the modules and their tests
    python scripts/mutation.py registry --keep      # reuse the earlier results of the module
    python scripts/mutation.py --report             # the scores of the last runs, nothing run
    python scripts/mutation.py registry --show      # the diff of each survivor of the last run

mutmut forks each mutant's test run from a fork server that has only collected the tests (no
test has run in it, so no cache of the package holds results computed by the original code).
Every survivor is then tried once more in a fresh `python -m pytest` process with all of the
module's tests; a survivor that fails there is counted as killed and named, since it means
some process state hid it. Survivors that are kept are explained in docs/mutation.md.

The score is (killed + timed out) / mutants; "no tests" (code no selected test reaches) counts
as surviving. Parallel workers: MUTATION_JOBS (default 2; the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_ROOT = REPO_ROOT / "build" / "mutation"
# mutmut names a mutant after its file's path: the package must sit at the work directory's top.
PACKAGE = "bmc"
PACKAGE_SOURCE = "lambda/bmc"
# What the selected tests read or import next to the package (copied into mutants/).
SUPPORT_PATHS = (
    "localcloud",
    "docs",
    "examples",
    "scripts",
    "stacks",
    "constructs_lib",
    "cdk.json",
    "README.md",
)
GOAL = 90.0


@dataclass(frozen=True)
class Module:
    """Source files to mutate (globs relative to the checkout) and the tests that cover them."""

    sources: tuple[str, ...]
    tests: tuple[str, ...]


def _unit(*names: str) -> tuple[str, ...]:
    return tuple(f"tests/unit/{name}.py" for name in names)


MODULES: dict[str, Module] = {
    "registry": Module(
        sources=("lambda/bmc/aws/registry.py", "lambda/bmc/aws/run_status.py", "lambda/bmc/aws/dynamo.py"),
        tests=_unit("test_registry", "test_registry_rules"),
    ),
    "cleanup": Module(
        sources=("lambda/bmc/workflow/cleanup.py",),
        tests=_unit("test_handlers_cleanup", "test_cleanup_rules"),
    ),
    "serving": Module(
        sources=("lambda/bmc/workflow/serving.py",),
        tests=_unit("test_handlers_serving", "test_serving_rules"),
    ),
    "hyperparameters": Module(
        sources=("lambda/bmc/catalog/hyperparameters.py",),
        tests=_unit("test_hyperparameters", "test_catalog", "test_hyperparameter_rules"),
    ),
    "estimate": Module(
        sources=("lambda/bmc/catalog/estimate.py",),
        tests=_unit("test_validation_estimate", "test_catalog", "test_estimate_rules"),
    ),
    "runspec": Module(
        sources=("lambda/bmc/runspec/*.py",),
        # PrepareRun's handler tests (test_handlers_prepare) reach the spec through moto and the
        # registry: they are left to `make test`, which would make every mutant ten times slower.
        tests=_unit("test_runspec", "test_runspec_evaluation", "test_runspec_rules", "test_examples"),
    ),
    "evaluation": Module(
        sources=(
            "lambda/bmc/evaluation/metrics.py",
            "lambda/bmc/evaluation/summary.py",
            "lambda/bmc/evaluation/gate.py",
        ),
        tests=_unit(
            "test_evaluation_metrics",
            "test_evaluation_catalog",
            "test_evaluation_rules",
            "test_runspec_evaluation",
        ),
    ),
    "lineage": Module(
        sources=("lambda/bmc/lineage/*.py",),
        tests=_unit("test_lineage", "test_lineage_snapshot", "test_handlers_lineage", "test_lineage_rules"),
    ),
    "sweep": Module(
        sources=("lambda/bmc/guardrails/sweep.py",),
        tests=_unit("test_sweeper", "test_sweep_rules"),
    ),
}


@dataclass
class Score:
    module: str
    counts: Counter[str]
    fresh_kills: list[str]
    survivors: list[str]
    seconds: float | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return self.counts["killed"] + self.counts["timeout"] + len(self.fresh_kills)

    @property
    def percent(self) -> float:
        return 100.0 * self.detected / self.total if self.total else 100.0


def _tests(module: Module) -> list[str]:
    """The module's test files that exist (a rules file may not have been written yet)."""
    return [test for test in module.tests if (REPO_ROOT / test).exists()]


def _pyproject(module: Module) -> str:
    """The work directory's pyproject.toml: the project's pytest settings plus mutmut's."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_options = project["tool"]["pytest"]["ini_options"]
    mutmut = {
        "source_paths": [PACKAGE],
        "only_mutate": [source.removeprefix("lambda/") for source in module.sources],
        "also_copy": list(SUPPORT_PATHS),
        "pytest_add_cli_args_test_selection": _tests(module),
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:xdist"],
        "process_isolation": "forkserver",
        "forkserver_warmup": "collect",
        "use_git_change_detection": False,
    }
    return "\n".join(
        [
            "[tool.pytest.ini_options]",
            *(f"{key} = {json.dumps(value)}" for key, value in pytest_options.items()),
            "",
            "[tool.mutmut]",
            *(f"{key} = {json.dumps(value)}" for key, value in mutmut.items()),
            "",
        ]
    )


def _prepare(name: str, module: Module, *, keep: bool) -> Path:
    work = WORK_ROOT / name
    if not keep and work.exists():
        shutil.rmtree(work)
    # mutants/ exists before the interpreter starts: a PYTHONPATH entry missing at start-up stays
    # unusable for imports in that process.
    (work / "mutants" / "lambda").mkdir(parents=True, exist_ok=True)
    # Tests that read the package's data by its checkout path (lambda/bmc/data/...) find the copy.
    checkout_path = work / "mutants" / PACKAGE_SOURCE
    if not checkout_path.is_symlink():
        checkout_path.symlink_to(Path("..") / PACKAGE)
    for entry, target in ((PACKAGE, PACKAGE_SOURCE), *((path, path) for path in ("tests", *SUPPORT_PATHS))):
        link = work / entry
        if not link.is_symlink():
            link.symlink_to(REPO_ROOT / target)
    (work / "pyproject.toml").write_text(_pyproject(module), encoding="utf-8")
    return work


def _environment(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # The mutated copy, ahead of the editable install's path.
            "PYTHONPATH": str(work / "mutants"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def _mutmut(work: Path, *args: str, capture: bool = False) -> str:
    command = [sys.executable, "-m", "mutmut", *args]
    result = subprocess.run(
        command, cwd=work, env=_environment(work), check=False, text=True, capture_output=capture
    )
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed in {work} ({result.returncode}):\n{result.stdout or ''}"
        )
    return result.stdout or ""


def _statuses(work: Path) -> dict[str, str]:
    """Every mutant's status, from `mutmut results --all`."""
    statuses: dict[str, str] = {}
    for line in _mutmut(work, "results", "--all=true", capture=True).splitlines():
        mutant, separator, status = line.strip().rpartition(": ")
        if separator and mutant:
            statuses[mutant] = status
    return statuses


def _earlier_survivors(work: Path) -> list[str]:
    """The mutants an earlier run of the module did not kill (mutmut's own record of it)."""
    if not (work / "mutants" / "mutmut-stats.json").exists():
        return []
    return sorted(m for m, status in _statuses(work).items() if status in ("survived", "no tests"))


def _tests_of(work: Path, module: Module, mutant: str) -> list[str]:
    """The tests mutmut ran against ``mutant`` (those that reached its function), else all of them."""
    stats = json.loads((work / "mutants" / "mutmut-stats.json").read_text(encoding="utf-8"))
    function = mutant.partition("__mutmut_")[0]
    return sorted(stats["tests_by_mangled_function_name"].get(function, [])) or _tests(module)


def _killed_in_fresh_process(work: Path, module: Module, mutant: str) -> bool:
    """Run the mutant's tests with ``mutant`` active in a new interpreter."""
    env = _environment(work) | {"MUTANT_UNDER_TEST": mutant}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *_tests_of(work, module, mutant),
        ],
        cwd=work / "mutants",
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    return result.returncode not in (0, 5)


def _score(name: str, work: Path, module: Module, seconds: float | None, *, recheck: bool) -> Score:
    statuses = _statuses(work)
    not_killed = sorted(m for m, status in statuses.items() if status not in ("killed", "timeout"))
    fresh_kills = [m for m in not_killed if recheck and _killed_in_fresh_process(work, module, m)]
    survivors = [m for m in not_killed if m not in fresh_kills]
    score = Score(name, Counter(statuses.values()), fresh_kills, survivors, seconds)
    summary = {
        "module": name,
        "counts": dict(score.counts),
        "score": round(score.percent, 1),
        "fresh_process_kills": fresh_kills,
        "survivors": {m: statuses[m] for m in survivors},
        "seconds": seconds,
        "tests": _tests(module),
    }
    (work / "score.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return score


def _print(scores: list[Score]) -> None:
    print()
    print(
        f"{'module':<16} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'no tests':>8} {'score':>7} {'time':>8}"
    )
    for s in scores:
        seconds = f"{s.seconds:.0f}s" if s.seconds is not None else "-"
        survived = s.total - s.detected - s.counts["no tests"]
        print(
            f"{s.module:<16} {s.total:>7} {s.counts['killed'] + len(s.fresh_kills):>7} {s.counts['timeout']:>7}"
            f" {survived:>8} {s.counts['no tests']:>8} {s.percent:>6.1f}% {seconds:>8}"
        )
    for s in scores:
        for mutant in s.fresh_kills:
            print(f"  {s.module}: {mutant} survived in mutmut's worker but fails in a fresh process")
        by_function = Counter(mutant.partition("__mutmut_")[0] for mutant in s.survivors)
        for function, count in sorted(by_function.items()):
            print(f"  {s.module}: {count} not killed in {function}")
    if any(s.survivors for s in scores):
        print("Each survivor is in build/mutation/<module>/score.json; `mutmut show NAME` there shows it.")


def _saved_score(name: str) -> Score | None:
    path = WORK_ROOT / name / "score.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    return Score(
        name,
        Counter(saved["counts"]),
        saved["fresh_process_kills"],
        list(saved["survivors"]),
        saved["seconds"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", metavar="module", help=", ".join(MODULES))
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    parser.add_argument("--keep", action="store_true", help="keep earlier results (reruns only what changed)")
    parser.add_argument("--report", action="store_true", help="print the saved scores; run nothing")
    parser.add_argument("--show", action="store_true", help="print the diff of each survivor of the last run")
    parser.add_argument("--no-recheck", action="store_true", help="skip the fresh-process check of survivors")
    options = parser.parse_args()
    names = options.modules or list(MODULES)
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)} (known: {', '.join(MODULES)})")
    if options.list:
        for name in names:
            print(f"{name}: {', '.join(MODULES[name].sources)}\n    tests: {' '.join(_tests(MODULES[name]))}")
        return 0
    if options.show:
        for name in names:
            saved = _saved_score(name)
            for mutant in saved.survivors if saved else []:
                print(_mutmut(WORK_ROOT / name, "show", mutant, capture=True))
        return 0
    if options.report:
        _print([score for name in names if (score := _saved_score(name)) is not None])
        return 0
    jobs = os.environ.get("MUTATION_JOBS", "2")
    scores = []
    for name in names:
        module = MODULES[name]
        print(f"== {name}: {', '.join(module.sources)} against {' '.join(_tests(module))}", flush=True)
        work = _prepare(name, module, keep=options.keep)
        earlier = _earlier_survivors(work) if options.keep else []
        started = time.monotonic()
        _mutmut(work, "run", "--max-children", jobs)
        if earlier:
            # mutmut keeps a verdict until the function changes: try earlier survivors against new tests.
            _mutmut(work, "run", "--max-children", jobs, *earlier)
        scores.append(_score(name, work, module, time.monotonic() - started, recheck=not options.no_recheck))
    _print(scores)
    below = [s.module for s in scores if s.percent < GOAL]
    if below:
        print(f"below {GOAL:.0f}%: {', '.join(below)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
