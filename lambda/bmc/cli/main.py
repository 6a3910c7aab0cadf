"""``bmc``: check datasets and hyperparameters before paying Bedrock to find the problems.

Exit codes: 0 valid, 1 invalid (bad data, bad hyperparameters, unknown model, customization
type not offered by the model), 2 usage error (bad flags, input file not found or unreadable).
Each command lives in its own module and adds its own parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bmc import __version__
from bmc.cli import invoke, lineage, models, score, validate
from bmc.cli.common import EXIT_USAGE, UsageError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except UsageError as exc:
        command_parser: argparse.ArgumentParser = args.parser
        command_parser.error(str(exc))
    except KeyboardInterrupt:
        print("bmc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for a command line user
        print(f"bmc: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE  # parser.error() exits; this satisfies the type checker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bmc",
        description="Amazon Bedrock model customization: validate datasets and hyperparameters, "
        "browse the model catalog, score predictions, ask a served model and show a model's lineage.",
        epilog="Exit codes: 0 valid, 1 invalid, 2 usage error (bad flags, input not found or unreadable).",
    )
    parser.add_argument("--version", action="version", version=f"bmc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate.add_parser(commands)
    models.add_parser(commands)
    score.add_parser(commands)
    invoke.add_parser(commands)
    lineage.add_parser(commands)
    return parser
