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
from typing import TYPE_CHECKING

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


def attach(app: faust.App, runtime: Runtime) -> None:
    from streams.engine_metrics import consumer_lag
    from streams.web import is_ready

    detector = StallDetector(runtime.settings.stall_timeout)
    inputs = frozenset(runtime.topics.source_of)

    @app.timer(CHECK_EVERY, name="stall-watchdog")  # type: ignore[untyped-decorator]
    async def watch_for_stalls() -> None:
        if not is_ready(app):
            detector.observe(time.monotonic(), 0, 0)  # rebalancing: not a stall
            return
        try:
            lag = await consumer_lag(app.consumer, inputs)
        except Exception:  # between generations: look again later
            return
        committed = app.consumer._committed_offset  # type: ignore[attr-defined]
        position = sum(int(committed.get(tp) or 0) for tp in lag)
        if detector.observe(time.monotonic(), sum(lag.values()), position):
            log.critical("no progress for %.0f s with %d input records waiting; exiting so "
                         "a restart resumes from the last commit", detector.timeout,
                         sum(lag.values()), extra={"event": "stalled"})
            logging.shutdown()
            os._exit(EXIT_STALLED)
