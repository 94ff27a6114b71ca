"""Time and ids come in through ports, so tests can fix them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The current instant. Must return a timezone-aware datetime."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Fresh unique ids. ``prefix`` names the kind (``"p"`` for prospects)."""

    def new_id(self, prefix: str) -> str: ...
