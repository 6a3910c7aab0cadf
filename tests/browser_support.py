"""A real headless Chromium for tests of what a person sees (Debian's chromium and
chromium-driver packages, driven by selenium).

``browser()`` skips the test, saying why, when the browser is not installed; CI installs it
(.ci/run) and sets BMC_REQUIRE_BROWSER=1, so there a missing browser fails instead.
Screenshots go under ``test-output/`` (gitignored) and are listed at the end of the run.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
REQUIRE_ENV = "BMC_REQUIRE_BROWSER"
WIDTH = 1280
# Flags that work on these machines: no sandbox (root in CI), nothing fetched in the background.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    f"--window-size={WIDTH},1000",
)
SAVED: list[Path] = []  # every screenshot of this run, for the terminal summary


def _executables() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@dataclass(frozen=True)
class ConsoleEntry:
    level: str
    message: str


@contextmanager
def browser() -> Iterator[Any]:
    """A selenium driver of a fresh headless Chromium profile (skips when not installed)."""
    found = _executables()
    if found is None:
        reason = (
            "Chromium is not installed: the browser test of the HTML report was SKIPPED "
            "(apt-get install chromium chromium-driver, as .ci/run does)"
        )
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(reason.replace("was SKIPPED", "cannot run"))
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = found
    with tempfile.TemporaryDirectory(prefix="bmc-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def console(driver: Any) -> list[ConsoleEntry]:
    return [ConsoleEntry(str(e.get("level")), str(e.get("message"))) for e in driver.get_log("browser")]


def full_page_screenshot(driver: Any, name: str) -> Path:
    """The whole page, however long, as ``test-output/screenshots/<name>.png``."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(WIDTH, height)
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    SAVED.append(path)
    return path


def hex_rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def pixels_near(png: bytes, color: str, tolerance: int = 24) -> int:
    """How many pixels of the image are within ``tolerance`` of ``color`` on every channel."""
    from PIL import Image

    target = hex_rgb(color)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels: list[tuple[int, int, int]] = list(image.getdata())
    return sum(
        1
        for pixel in pixels
        if all(abs(channel - wanted) <= tolerance for channel, wanted in zip(pixel, target, strict=True))
    )


def share_not_background(png: bytes, background: str = "#ffffff", tolerance: int = 8) -> float:
    """The fraction of pixels that differ from the background: 0 for a blank area."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    total = image.width * image.height
    return (total - pixels_near(png, background, tolerance)) / total if total else 0.0
