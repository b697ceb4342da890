"""A stalled stream is restarted, not waited on.

Faust can leave a partition un-fetched after a rebalance under load (seen in our rebalance
test on a busy machine: lag stayed put, the agent idle). A worker that has input waiting and
commits nothing for ``stall_timeout`` seconds logs why and exits without committing; its
supervisor restarts it, and since every batch's effects are in Kafka before its offsets are
committed, the restart loses nothing.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faust

if TYPE_CHECKING:
    from streams.runtime import Runtime

log = logging.getLogger("leadflow.watchdog")
EXIT_STALLED = 75
CHECK_EVERY = 5.0


@dataclass
class StallDetector:
    """Stalled = input waiting, and the committed position has not moved for `timeout` s."""

    timeout: float
    _last_position: int | None = None
    _since: float = field(default=0.0)

    def observe(self, now: float, lag: int, position: int) -> bool:
        if lag <= 0 or position != self._last_position:
            self._last_position = position
            self._since = now
            return False
        return now - self._since >= self.timeout


async def input_lag(consumer: Any, inputs: frozenset[str]) -> tuple[int, int]:
    """(records waiting, committed position) over the assigned input partitions.

    The end offsets are asked of the broker: a partition the fetcher never fetched, the
    very symptom of a stall, has no local high watermark to read."""
    tps = [tp for tp in consumer.assignment() if tp.topic in inputs]
    if not tps:
        return 0, 0
    ends = await consumer.highwaters(*tps)
    committed = consumer._committed_offset
    missing = [tp for tp in tps if committed.get(tp) is None]
    starts = await consumer.earliest_offsets(*missing) if missing else {}
    lag = position = 0
    for tp in tps:
        base = committed.get(tp)
        base = int(starts.get(tp) or 0) if base is None else int(base)
        lag += max(0, int(ends.get(tp) or 0) - base)
        position += base
    return lag, position


def attach(app: faust.App, runtime: Runtime) -> None:
    detector = StallDetector(runtime.settings.stall_timeout)
    inputs = frozenset(runtime.topics.source_of)

    @app.timer(CHECK_EVERY, name="stall-watchdog")  # type: ignore[untyped-decorator]
    async def watch_for_stalls() -> None:
        # Readiness is not consulted: the stall seen in tests left Faust "rebalancing"
        # for good. A real rebalance moves on well within the timeout.
        try:
            lag, position = await input_lag(app.consumer, inputs)
        except Exception:  # between generations: look again later
            return
        if detector.observe(time.monotonic(), lag, position):
            log.critical("no progress for %.0f s with %d input records waiting; exiting so "
                         "a restart resumes from the last commit", detector.timeout, lag,
                         extra={"event": "stalled"})
            logging.shutdown()
            os._exit(EXIT_STALLED)
