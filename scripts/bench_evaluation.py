"""Evaluation figures, measured in the local cloud on the synthesized workflow (a script, not a test).

1. Records evaluated per simulated second at MaxConcurrency 1, 10 and 50 (the ``evaluation``
   configuration key, synthesized each time), with every model call taking a fixed simulated
   second: the children of the Distributed Map run concurrently on the simulated clock, so this
   measures the concurrency the definition asks for. The time is the EvaluateRecords state's.
2. The parent execution's history events for 100 and 10,000 test records: the children of a
   Distributed Map keep their own histories, so the two counts must be equal.

    python scripts/bench_evaluation.py [--records N] [--skip-history]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from localcloud.cloud import LocalCloud  # noqa: E402
from localcloud.deploy import synthesize_templates  # noqa: E402
from localcloud.scenarios import SCENARIOS, SUPPORT_DATASETS, Dataset  # noqa: E402

CALL_SECONDS = 1.0
BATCH = 10  # records per child (maxTokens 64 keeps the batch at the configured size)


def evaluation_config(max_concurrency: int) -> dict[str, Any]:
    return {
        "evaluation": {
            "maxConcurrency": max_concurrency,
            "recordsPerBatch": BATCH,
            "toleratedFailurePercentage": 0,
            "judgeModels": ["amazon.nova-pro-v1:0"],
        }
    }


@dataclass(frozen=True)
class Measured:
    history_events: int  # of the parent execution
    map_seconds: float  # simulated, in the EvaluateRecords state
    wall_seconds: float  # the whole run


def run(
    templates: dict[str, Any], prefix: str, records: int, *, compare: bool, metrics: list[str]
) -> Measured:
    """One run (served only for its evaluation) that evaluates ``records`` test records."""
    base = SCENARIOS["evaluation-temporary-serving"]
    manifest = {
        **base.manifest,
        "evaluation": {
            "testData": "s3://{datasets}/datasets/support/bench.jsonl",
            "maxRecords": records,
            "compareWithBase": compare,
            "metrics": metrics,
            "inference": {"maxTokens": 64},
        },
    }
    scenario = replace(
        base,
        name=f"bench-{records}",
        manifest=manifest,
        datasets=(*SUPPORT_DATASETS, Dataset("datasets/support/bench.jsonl", "evaluation", records)),
    )
    started = time.monotonic()
    options = {"runtime_latency_seconds": CALL_SECONDS}
    with LocalCloud(templates, prefix=prefix, bedrock_options=options, log_level="ERROR") as cloud:
        result = scenario.run(cloud, timeout=3600)
        if result.record["status"] != "COMPLETED":
            raise RuntimeError(f"the run ended {result.record['status']}: {result.record.get('error')}")
        history = cloud.history(result.execution_arn)
        entered = next(e for e in history if e["type"] == "MapStateEntered")
        exited = next(e for e in history if e["type"] == "MapStateExited")
        simulated = cloud.simulated_time_at(exited["timestamp"]) - cloud.simulated_time_at(
            entered["timestamp"]
        )
    return Measured(len(history), simulated.total_seconds(), time.monotonic() - started)


def throughput(records: int) -> None:
    print(f"Records evaluated per simulated second ({records} records, {BATCH} per child, custom and base")
    print(f"model asked for each, every call {CALL_SECONDS:.0f} simulated second)")
    print(f"  {'MaxConcurrency':>14}  {'simulated s':>11}  {'records/s':>9}  {'wall s':>6}")
    for concurrency in (1, 10, 50):
        with tempfile.TemporaryDirectory(prefix="bmc-bench-") as outdir:
            templates, prefix = synthesize_templates(Path(outdir), context=evaluation_config(concurrency))
        measured = run(templates, prefix, records, compare=True, metrics=["tokenF1", "rougeL"])
        seconds = measured.map_seconds
        print(
            f"  {concurrency:>14}  {seconds:>11.0f}  {records / seconds:>9.2f}  {measured.wall_seconds:>6.1f}"
        )


def history(records: tuple[int, ...]) -> None:
    print("Parent execution history events (the Distributed Map's children keep their own)")
    print(f"  {'test records':>12}  {'history events':>14}  {'wall s':>6}")
    with tempfile.TemporaryDirectory(prefix="bmc-bench-") as outdir:
        templates, prefix = synthesize_templates(Path(outdir), context=evaluation_config(50))
    for count in records:
        measured = run(templates, prefix, count, compare=False, metrics=["exactMatch"])
        print(f"  {count:>12,}  {measured.history_events:>14}  {measured.wall_seconds:>6.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=500, help="records of the throughput runs")
    parser.add_argument("--skip-history", action="store_true", help="skip the 10,000-record run")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    # The hourly sweeper's metrics go to stdout as embedded-metric JSON: not the bench's figures.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.disable(logging.CRITICAL)
    throughput(args.records)
    if not args.skip_history:
        history((100, 10_000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
