"""Validator throughput and memory on a generated continued pre-training file.

Generates a JSONL file of N MB (default 250) of Titan continued pre-training records, then
measures in child processes, each timed inside the child (interpreter start-up excluded):

* the baseline: a bare ``json.loads`` per line loop, in text mode and in binary mode
  (the faster of the two is the reference);
* the validator: ``bmc.validation.validate_datasets`` for Titan Text Express
  CONTINUED_PRE_TRAINING on the same file.

Each is run ``--repeat`` times, alternating, and the best run counts (the machine's noise only
ever slows a run down). Peak RSS is measured per child process, so the parent's generation
work does not pollute it: the child's own high-water mark (VmHWM in /proc/self/status) on
Linux, else ``ru_maxrss`` from ``os.wait4`` (which on Linux also counts the parent's pages at
fork time, hence the preference). The file is read once before measuring so every run reads
from the page cache.

    .venv/bin/python scripts/bench_validator.py [--size-mb 250] [--repeat 3] [--text mixed]
        [--dir .bench] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODEL_ID = "amazon.titan-text-express-v1:0:8k"
CUSTOMIZATION_TYPE = "CONTINUED_PRE_TRAINING"
MODES = ("baseline-text", "baseline-binary", "validator")

# Prose from a small vocabulary. "mixed" (the default) adds the non-ASCII text real corpora
# have to about a third of the paragraphs: typographic quotes and dashes (common in web text),
# accented words, some CJK. "ascii" has none; "cjk" makes a third of all words Japanese.
_VOCABULARY = (
    "the of and to in is was that for on with as by at from it an be this are or which model data "
    "training results system value process between during however study analysis method using "
    "performance based number time first new two used also these may other more than such"
)
_RARE = "\u201cquoted\u201d it\u2019s 2019\u20132024 caf\u00e9 na\u00efve \u6771\u4eac \u30c7\u30fc\u30bf"
_CJK = "\u6771\u4eac \u30c7\u30fc\u30bf \u30e2\u30c7\u30eb \u5b66\u7fd2 \u7d50\u679c \u65b9\u6cd5"
TEXT_MIXES = ("mixed", "ascii", "cjk")


def generate(path: Path, size_mb: int, text: str = "mixed", seed: int = 7) -> dict[str, Any]:
    """Write ~size_mb MB of records of 0.5-10 KB; return what was written."""
    rng = random.Random(seed)
    vocabulary, rare, cjk = _VOCABULARY.split(), _RARE.split(), _CJK.split()
    paragraphs = []
    for _ in range(4000):
        words = rng.choices(vocabulary, k=rng.randint(40, 160))
        if text == "mixed" and rng.random() < 0.35:
            words[rng.randrange(len(words))] = rng.choice(rare)
        elif text == "cjk":
            words = [rng.choice(cjk) if rng.random() < 0.33 else word for word in words]
        paragraphs.append(" ".join(words).capitalize() + ".")
    target = size_mb * 1_000_000
    written = 0
    records = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            length = rng.randint(500, 10_000)
            parts: list[str] = []
            size = 0
            while size < length:
                paragraph = rng.choice(paragraphs)
                parts.append(paragraph)
                size += len(paragraph) + 2
            line = json.dumps({"input": "\n\n".join(parts)}, ensure_ascii=False) + "\n"
            handle.write(line)
            written += len(line.encode("utf-8"))
            records += 1
    return {"bytes": written, "records": records}


def child(mode: str, path: str) -> None:
    """Run one measurement and print its result as JSON (runs in a child process)."""
    if mode == "validator":
        from bmc.validation import validate_datasets

        start = time.perf_counter()
        report = validate_datasets(model_id=MODEL_ID, customization_type=CUSTOMIZATION_TYPE, training=path)
        seconds = time.perf_counter() - start
        result: dict[str, Any] = {
            "seconds": seconds,
            "records": report.stats["training"]["records"],
            "error_counts": report.error_counts,
            "warning_counts": report.warning_counts,
        }
    else:
        records = 0
        start = time.perf_counter()
        if mode == "baseline-text":
            with Path(path).open(encoding="utf-8") as text_lines:
                for text_line in text_lines:
                    json.loads(text_line)
                    records += 1
        else:
            with Path(path).open("rb") as binary_lines:
                for binary_line in binary_lines:
                    json.loads(binary_line)
                    records += 1
        seconds = time.perf_counter() - start
        result = {"seconds": seconds, "records": records}
    result["own_peak_rss_mb"] = own_peak_rss_mb()
    print(json.dumps(result))


def own_peak_rss_mb() -> float | None:
    """This process's peak RSS since exec (Linux), or None where /proc is not available."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def measure(mode: str, path: Path) -> dict[str, Any]:
    """Run a child, returning its result plus its own peak RSS (MB)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{mode} child failed with exit code {process.returncode}")
    result: dict[str, Any] = json.loads(output)
    own = result.pop("own_peak_rss_mb")
    result["peak_rss_mb"] = own if own is not None else usage.ru_maxrss / 1024  # ru_maxrss is in kB
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=250, help="size of the generated file (default 250)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--text", choices=TEXT_MIXES, default="mixed", help="the text mix (default mixed)")
    parser.add_argument("--dir", default=None, help="where to generate the file (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bmc-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"cpt-{args.size_mb}mb.jsonl"
    try:
        started = time.perf_counter()
        written = generate(path, args.size_mb, args.text)
        size_mb = written["bytes"] / 1e6
        print(
            f"generated {path} ({size_mb:,.1f} MB, {written['records']:,} records, {args.text} text) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        with path.open("rb") as warm:  # into the page cache, so every run reads from memory
            while warm.read(1 << 24):
                pass
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for mode in MODES:
                result = measure(mode, path)
                if mode not in best or result["seconds"] < best[mode]["seconds"]:
                    peak = max(result["peak_rss_mb"], best.get(mode, {}).get("peak_rss_mb", 0.0))
                    best[mode] = {**result, "peak_rss_mb": peak}
                else:
                    best[mode]["peak_rss_mb"] = max(best[mode]["peak_rss_mb"], result["peak_rss_mb"])
        rates = {mode: size_mb / best[mode]["seconds"] for mode in MODES}
        reference = max(rates["baseline-text"], rates["baseline-binary"])
        for mode in MODES:
            print(f"{mode:16} {rates[mode]:8.1f} MB/s  peak RSS {best[mode]['peak_rss_mb']:6.1f} MB")
        print(f"ratio validator / fastest json.loads loop: {rates['validator'] / reference:.2f}")
        validator = best["validator"]
        print(
            f"validator: {validator['records']:,} records, errors {validator['error_counts'] or 'none'}, "
            f"warnings {validator['warning_counts'] or 'none'}"
        )
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            if not args.dir:
                directory.rmdir()


if __name__ == "__main__":
    main()
