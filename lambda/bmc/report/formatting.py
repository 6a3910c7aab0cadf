"""Numbers, money and times as the report prints them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any


def integer(value: Any) -> str:
    """``12,345``; ``-`` when there is no number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{round(value):,}"


def decimal(value: Any, places: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value:,.{places}f}"


def signed(value: Any, places: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value:+,.{places}f}"


def money(value: Any, currency: str) -> str:
    """Four decimals below one unit (a training run can cost cents), two above."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    places = 4 if abs(value) < 1 else 2
    return f"{value:,.{places}f} {currency}"


def byte_size(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GiB"  # not reached


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp of the registry (``...Z``) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clock_time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
