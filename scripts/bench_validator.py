"""Validator throughput and memory on a generated dataset, per data format.

Generates a JSONL file of N MB (default 250) in one format (``--format``, default ``cpt``):

* ``cpt``: Titan Text Express continued pre-training records, ``{"input"}``;
* ``nova``: Nova Micro fine-tuning, ``bedrock-conversation-2024`` (system prompt, one to three
  user/assistant exchanges);
* ``haiku``: Claude 3 Haiku fine-tuning, ``{"system", "messages"}`` with string content;
* ``llama``: Llama 3.2 3B fine-tuning, ``bedrock-conversation-2024``;
* ``distillation``: Nova Micro distillation prompts (user turn, sometimes an answer);

then measures in child processes, each timed inside the child (interpreter start-up excluded):

* the baseline: a bare ``json.loads`` per line loop, in text mode and in binary mode
  (the faster of the two is the reference);
* the validator: ``bmc.validation.validate_datasets`` for the format's model, with the
  dataset's SHA-256 digest (as deployed) and without it (``validator-no-digest``).

Each is run ``--repeat`` times, alternating, and the best run counts (the machine's noise only
ever slows a run down). Peak RSS is measured per child process, so the parent's generation
work does not pollute it: the child's own high-water mark (VmHWM in /proc/self/status) on
Linux, else ``ru_maxrss`` from ``os.wait4`` (which on Linux also counts the parent's pages at
fork time, hence the preference). The file is read once before measuring so every run reads
from the page cache.

    .venv/bin/python scripts/bench_validator.py [--format cpt|nova|haiku|llama|distillation|all]
        [--size-mb 250] [--repeat 3] [--text mixed] [--dir .bench] [--keep]

``--format all`` runs every format in turn and prints one summary table.
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

# format: (model, customization type, what one record is)
FORMATS = {
    "cpt": ("amazon.titan-text-express-v1:0:8k", "CONTINUED_PRE_TRAINING"),
    "nova": ("amazon.nova-micro-v1:0:128k", "FINE_TUNING"),
    "haiku": ("anthropic.claude-3-haiku-20240307-v1:0:200k", "FINE_TUNING"),
    "llama": ("meta.llama3-2-3b-instruct-v1:0:128k", "FINE_TUNING"),
    "distillation": ("amazon.nova-micro-v1:0:128k", "DISTILLATION"),
}
MODES = ("baseline-text", "baseline-binary", "validator", "validator-no-digest")

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


def generate(
    path: Path, size_mb: int, text: str = "mixed", seed: int = 7, data_format: str = "cpt"
) -> dict[str, Any]:
    """Write ~size_mb MB of records of 0.5-10 KB of text; return what was written."""
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
            line = json.dumps(make_record(data_format, parts, rng), ensure_ascii=False) + "\n"
            handle.write(line)
            written += len(line.encode("utf-8"))
            records += 1
    return {"bytes": written, "records": records}


SYSTEM_PROMPT = "You are a support assistant for an online store. Answer briefly and politely."


def make_record(data_format: str, parts: list[str], rng: random.Random) -> dict[str, Any]:
    """One record of the format whose text is ``parts`` (paragraphs), split into turns."""
    if data_format == "cpt":
        return {"input": "\n\n".join(parts)}
    exchanges = max(1, min(3, len(parts) // 2))
    turns = [parts[i::exchanges] for i in range(exchanges)]
    messages: list[tuple[str, str]] = []
    for turn in turns:
        cut = max(1, len(turn) // 3)  # a short question, a longer answer
        messages.append(("user", " ".join(turn[:cut])))
        messages.append(("assistant", "\n\n".join(turn[cut:]) or turn[0]))
    if data_format == "haiku":
        return {
            "system": SYSTEM_PROMPT,
            "messages": [{"role": role, "content": text} for role, text in messages],
        }
    if data_format == "distillation":
        messages = messages[:1] if rng.random() < 0.5 else messages[:2]
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": role, "content": [{"text": text}]} for role, text in messages],
    }


def child(mode: str, path: str, data_format: str) -> None:
    """Run one measurement and print its result as JSON (runs in a child process)."""
    if mode.startswith("validator"):
        from bmc.validation import validate_datasets
        from bmc.validation.digest import spare_core

        model_id, customization_type = FORMATS[data_format]
        threaded = spare_core()
        start = time.perf_counter()
        report = validate_datasets(
            model_id=model_id,
            customization_type=customization_type,
            training=path,
            digest=mode == "validator",
        )
        seconds = time.perf_counter() - start
        result: dict[str, Any] = {
            "seconds": seconds,
            "records": report.stats["training"]["records"],
            "error_counts": report.error_counts,
            "warning_counts": report.warning_counts,
            "sha256": report.stats["training"]["sha256"],
            "digest_threaded": threaded,
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


def measure(mode: str, path: Path, data_format: str) -> dict[str, Any]:
    """Run a child, returning its result plus its own peak RSS (MB)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, str(path), data_format], stdout=subprocess.PIPE, text=True
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


def bench_format(data_format: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Generate the format's file, measure every mode, print and return the figures."""
    path = directory / f"{data_format}-{args.size_mb}mb.jsonl"
    try:
        started = time.perf_counter()
        written = generate(path, args.size_mb, args.text, data_format=data_format)
        size_mb = written["bytes"] / 1e6
        print(
            f"[{data_format}] generated {path} ({size_mb:,.1f} MB, {written['records']:,} records, "
            f"{args.text} text) in {time.perf_counter() - started:.1f} s"
        )
        with path.open("rb") as warm:  # into the page cache, so every run reads from memory
            while warm.read(1 << 24):
                pass
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for mode in MODES:
                result = measure(mode, path, data_format)
                if mode not in best or result["seconds"] < best[mode]["seconds"]:
                    peak = max(result["peak_rss_mb"], best.get(mode, {}).get("peak_rss_mb", 0.0))
                    best[mode] = {**result, "peak_rss_mb": peak}
                else:
                    best[mode]["peak_rss_mb"] = max(best[mode]["peak_rss_mb"], result["peak_rss_mb"])
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    rates = {mode: size_mb / best[mode]["seconds"] for mode in MODES}
    reference = max(rates["baseline-text"], rates["baseline-binary"])
    for mode in MODES:
        print(
            f"  {mode:20} {best[mode]['seconds']:7.3f} s {rates[mode]:8.1f} MB/s  "
            f"peak RSS {best[mode]['peak_rss_mb']:6.1f} MB"
        )
    ratio = rates["validator"] / reference
    digest_cost = rates["validator"] / rates["validator-no-digest"]
    print(
        f"  ratio validator / fastest json.loads loop: {ratio:.2f} (without the digest: "
        f"{rates['validator-no-digest'] / reference:.2f}); digest on / off throughput: {digest_cost:.2f}"
    )
    validator = best["validator"]
    print(
        f"  validator: {validator['records']:,} records, errors {validator['error_counts'] or 'none'}, "
        f"warnings {validator['warning_counts'] or 'none'}, sha256 {validator['sha256'][:16]}..., "
        f"digest on a worker thread: {'yes' if validator['digest_threaded'] else 'no (no free core)'}"
    )
    return {
        "format": data_format,
        "size_mb": size_mb,
        "records": written["records"],
        "baseline_mb_s": reference,
        "validator_mb_s": rates["validator"],
        "no_digest_mb_s": rates["validator-no-digest"],
        "ratio": ratio,
        "peak_rss_mb": best["validator"]["peak_rss_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--format", choices=(*FORMATS, "all"), default="cpt", help="the data format (default cpt)"
    )
    parser.add_argument("--size-mb", type=int, default=250, help="size of the generated file (default 250)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--text", choices=TEXT_MIXES, default="mixed", help="the text mix (default mixed)")
    parser.add_argument("--dir", default=None, help="where to generate the file (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bmc-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    formats = list(FORMATS) if args.format == "all" else [args.format]
    try:
        results = [bench_format(data_format, args, directory) for data_format in formats]
    finally:
        if not args.dir and not args.keep:
            directory.rmdir()
    if len(results) > 1:
        print(
            "\nformat        size MB  records  json.loads MB/s  validator MB/s  no digest MB/s  ratio  peak RSS MB"
        )
        for r in results:
            print(
                f"{r['format']:13} {r['size_mb']:7.1f} {r['records']:8,} {r['baseline_mb_s']:16.1f} "
                f"{r['validator_mb_s']:15.1f} {r['no_digest_mb_s']:15.1f} {r['ratio']:6.2f} {r['peak_rss_mb']:12.1f}"
            )


if __name__ == "__main__":
    main()
