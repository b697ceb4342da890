"""The cyclic garbage collector paused for a batch job.

A replay holds a million small objects (inputs, states, outputs) and the domain makes no
reference cycles, so the collector's full passes over them find nothing and cost about a
fifth of the replay (measured); reference counting still frees everything.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
