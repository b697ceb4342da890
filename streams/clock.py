"""Where the worker gets "now". The domain never reads a clock; agents ask this."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]
"""Returns the current time as epoch milliseconds (UTC)."""


def system_clock(offset_seconds: float = 0.0) -> Clock:
    """The wall clock, shifted by ``offset_seconds`` (tests move time with it)."""
    offset_ms = int(offset_seconds * 1000)

    def now() -> int:
        return time.time_ns() // 1_000_000 + offset_ms

    return now
