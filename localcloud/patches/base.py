"""What every patch module shares: one replaced attribute, and the clock the patches run on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Patch:
    """``owner.attribute`` is replaced by ``replacement`` while the patches are installed."""

    owner: Any
    attribute: str
    replacement: Any
    original: Any = None
    # False when the owner inherited the attribute: uninstalling deletes it again.
    owned: bool = True
