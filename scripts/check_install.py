"""Check that the `bmc` command installs on its own: `pip install .` into a new, empty virtual
environment (no development requirements), then `bmc --version` and the README's
`bmc validate` example, run as written from the repository root.

    python3 scripts/check_install.py     # `make install-check`; a step of .ci/run

Needs the package index (pip downloads the build backend and the runtime dependencies); takes
about 20 seconds with a warm pip cache.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The `bmc` lines of the README block that starts with `pip install .`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(pip install \..*?)```", readme, re.DOTALL)
    if block is None:
        raise SystemExit("README.md: no `pip install .` block")
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.startswith("bmc ")]


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bmc-install-") as directory:
        target = Path(directory) / "venv"
        venv.create(target, with_pip=True)
        bin_dir = target / "bin"
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("PYTHONPATH", None)
        install = run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(ROOT)], env)
        if install.returncode != 0:
            print(install.stdout + install.stderr, file=sys.stderr)
            print("FAILED: pip install . did not succeed", file=sys.stderr)
            return 1
        failures = 0
        for command in dict.fromkeys(["bmc --version", *readme_commands()]):
            result = run(shlex.split(command), env)
            shown = (result.stdout + result.stderr).strip().splitlines()
            ok = result.returncode == 0 and bool(shown)
            print(
                f"{'ok' if ok else 'FAILED'}: {command} (exit {result.returncode}): {shown[0] if shown else ''}"
            )
            failures += not ok
    print(f"install check: {'passed' if not failures else 'failed'} in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
