"""Write the /custom-models API's OpenAPI document (docs/openapi.json) from the handler's resolver.

`python scripts/export_openapi.py` rewrites the file; `--check` exits 1 when it is out of date.
tests/unit/test_api_openapi.py runs the same comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
sys.path.insert(0, str(REPO_ROOT / "lambda"))


def render() -> str:
    """The document as committed: sorted keys, two-space indent, trailing newline."""
    from bmc.handlers.api import openapi_document

    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if DOCUMENT.read_text() != text:
            print(
                f"{DOCUMENT.relative_to(REPO_ROOT)} is out of date: run scripts/export_openapi.py",
                file=sys.stderr,
            )
            return 1
        return 0
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
