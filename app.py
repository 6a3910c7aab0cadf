#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` (or `python app.py`). Fails on bad config or on any
unacknowledged cdk-nag finding, with a readable message and no traceback."""

import sys

from stacks.application import build_app, nag_errors
from stacks.config import ConfigError


def main() -> int:
    try:
        app, _ = build_app()
    except ConfigError as config_error:
        print(f"Configuration error: {config_error}", file=sys.stderr)
        return 1
    errors = nag_errors(app.synth())
    if errors:
        print(f"{len(errors)} unacknowledged compliance finding(s):", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
