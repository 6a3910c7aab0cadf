"""``bmc invoke``: send a prompt to a run's served model (or any model ARN) and print the answer.

A run is found in the deployment's registry: the table named by ``--registry-table``, else the
``BMC_REGISTRY_TABLE`` environment variable, else the ``RegistryTableName`` output of the
``<prefix>-foundation`` CloudFormation stack (``--prefix``, default ``BMC_PREFIX`` or ``bmc``).
The run's serving ARN comes from the registry, its base model from the run's spec and the
catalog (for ``--compare``). The answer streams (ConverseStream) when stdout is a terminal.

Exit codes: 0 answered, 1 the model could not answer (not served, not found, refused),
2 usage error (bad flags, no prompt, registry not found).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Mapping
from typing import Any, TextIO

from bmc.catalog.models import CONVERSE, UnknownModelError, UnsupportedRegionError, resolve_model
from bmc.cli.common import EXIT_INVALID, EXIT_VALID, UsageError, output_to_stdout
from bmc.cli.registry import RunReader, add_registry_arguments, registry_table
from bmc.evaluation.generation import (
    MAX_TOKENS_LIMIT,
    Generation,
    Generator,
    InferenceSettings,
    RetryPolicy,
    Target,
    TargetUnusableError,
    base_target,
    converse_stream,
)
from bmc.evaluation.targets import NotServedError, Resolved, arn_region, resolve_run

INTERACTIVE_RETRIES = RetryPolicy(max_attempts=3, base_delay_seconds=1.0, max_delay_seconds=5.0)


def add_parser(commands: Any) -> None:
    invoke = commands.add_parser(
        "invoke",
        help="send a prompt to a run's served custom model (or any model ARN)",
        description="Send a prompt to the custom model a run serves (provisioned throughput or on-demand "
        "deployment), found through the deployment's run registry, or to a model or serving ARN given "
        "directly. The answer streams when stdout is a terminal; --compare also asks the base model and "
        "prints both side by side.",
        epilog="Exit codes: 0 answered, 1 the model could not answer (not served, refused), 2 usage error.",
    )
    target = invoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--run", metavar="RUN_ID", help="a run of this deployment (its serving is looked up)")
    target.add_argument(
        "--model", metavar="ARN_OR_ID", help="a provisioned model or deployment ARN, or a model or profile id"
    )
    invoke.add_argument("prompt", nargs="?", metavar="PROMPT", help="the prompt; '-' or absent: read stdin")
    invoke.add_argument("--system", metavar="TEXT", help="a system prompt")
    invoke.add_argument("--compare", action="store_true", help="also ask the base model; print both")
    invoke.add_argument(
        "--base-model",
        metavar="ID",
        help="with --model and --compare: the base model (catalog id) to compare with",
    )
    invoke.add_argument(
        "--max-tokens", type=int, default=512, metavar="N", help=f"1-{MAX_TOKENS_LIMIT} (512)"
    )
    invoke.add_argument("--temperature", type=float, default=0.0, metavar="T", help="0-1 (0: deterministic)")
    invoke.add_argument("--top-p", type=float, metavar="P", help="0-1 (not sent unless given)")
    add_registry_arguments(invoke)
    invoke.add_argument(
        "--region", help="AWS region (default: the run's serving region, else your profile's)"
    )
    invoke.add_argument(
        "--no-stream", action="store_true", help="print the answer at once, even on a terminal"
    )
    invoke.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    invoke.set_defaults(handler=run_invoke, parser=invoke)


def run_invoke(args: argparse.Namespace) -> int:
    import json

    import boto3

    settings = inference_settings(args)
    prompt = read_prompt(args.prompt)
    session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
    try:
        resolved = resolve_target(args, session)
    except (NotServedError, LookupError) as exc:
        print(f"bmc invoke: {exc}", file=sys.stderr)
        return EXIT_INVALID
    from bmc.aws.clients import RUNTIME_CONFIG

    client = session.client("bedrock-runtime", region_name=resolved.region, config=RUNTIME_CONFIG)
    generator = Generator(client, policy=INTERACTIVE_RETRIES)
    stream = not (args.json or args.no_stream or args.compare) and sys.stdout.isatty()
    try:
        if stream and resolved.custom.api == CONVERSE:
            return stream_answer(client, resolved.custom, prompt, settings, args.system)
        custom = generator.generate(resolved.custom, prompt, settings, args.system)
        base = generator.generate(resolved.base, prompt, settings, args.system) if resolved.base else None
    except TargetUnusableError as exc:
        print(f"bmc invoke: the model cannot be called: {exc}", file=sys.stderr)
        return EXIT_INVALID
    answers = {"custom": (resolved.custom, custom)}
    if base is not None and resolved.base is not None:
        answers["base"] = (resolved.base, base)
    with output_to_stdout() as out:
        if args.json:
            out.write(json.dumps({name: answer_document(t, g) for name, (t, g) in answers.items()}) + "\n")
        elif base is not None and resolved.base is not None:
            print_side_by_side(answers, out)
        elif custom.ok:
            out.write((custom.text or "") + "\n")
    failed = [f"{name}: {g.error}: {g.message}" for name, (_, g) in answers.items() if not g.ok]
    for line in failed:
        print(f"bmc invoke: {line}", file=sys.stderr)
    return EXIT_INVALID if failed else EXIT_VALID


def inference_settings(args: argparse.Namespace) -> InferenceSettings:
    data: dict[str, Any] = {"maxTokens": args.max_tokens, "temperature": args.temperature}
    if args.top_p is not None:
        data["topP"] = args.top_p
    try:
        return InferenceSettings.from_dict(data)
    except ValueError as exc:
        raise UsageError(
            str(exc).replace("inference.maxTokens", "--max-tokens").replace("inference.", "--")
        ) from exc


def read_prompt(value: str | None) -> str:
    text = sys.stdin.read() if value in (None, "-") else value
    if not text or not text.strip():
        raise UsageError("no prompt: give it as an argument or on stdin")
    return text


def resolve_target(args: argparse.Namespace, session: Any) -> Resolved:
    if args.model:
        region = args.region or arn_region(args.model) or session.region_name
        base = None
        if args.compare:
            if not args.base_model:
                raise UsageError(
                    "--compare with --model needs --base-model (the catalog id of the base model)"
                )
            base = _base_target(args.base_model, region)
        return Resolved(Target(args.model), base, region)
    table = registry_table(args, session)
    run = RunReader(session, table).get(args.run)
    if run is None:
        raise LookupError(f"run {args.run} is not in the registry {table}")
    try:
        return resolve_run(args.run, run, args.region or session.region_name, compare=args.compare)
    except UnsupportedRegionError as exc:
        raise UsageError(f"--compare: {exc}") from exc


def _base_target(model_id: str, region: str) -> Target:
    try:
        return base_target(resolve_model(model_id), region)
    except (UnknownModelError, UnsupportedRegionError) as exc:
        raise UsageError(f"--compare: {exc}") from exc


def stream_answer(
    client: Any, target: Target, prompt: str, settings: InferenceSettings, system: str | None
) -> int:
    from botocore.exceptions import ClientError

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    try:
        generation = converse_stream(client, target, prompt, settings, on_text=write, system=system)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"\nbmc invoke: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write("\n")
    print(
        f"[{generation.input_tokens} input / {generation.output_tokens} output tokens, {generation.latency_ms} ms, "
        f"{generation.stop_reason}]",
        file=sys.stderr,
    )
    return EXIT_VALID


def answer_document(target: Target, generation: Generation) -> dict[str, Any]:
    return {"modelId": target.model_id, **generation.to_dict()}


def print_side_by_side(answers: Mapping[str, tuple[Target, Generation]], out: TextIO) -> None:
    width = max(30, (shutil.get_terminal_size((120, 40)).columns - 3) // 2)
    columns = []
    for name, (target, generation) in answers.items():
        text = generation.text if generation.ok else f"[{generation.error}] {generation.message}"
        lines = [f"{name}: {target.model_id}"[:width], "-" * width]
        for paragraph in (text or "").splitlines() or [""]:
            lines += textwrap.wrap(paragraph, width) or [""]
        columns.append(lines)
    height = max(len(column) for column in columns)
    for row in range(height):
        cells = [(column[row] if row < len(column) else "").ljust(width) for column in columns]
        out.write(" | ".join(cells).rstrip() + "\n")
