"""A stalled stream is sought back, then restarted, never waited on.

Faust can leave a partition un-fetched after a rebalance (its stream skips messages of the
old generation, its fetcher drops re-reads below the offset it last handed over; see
streams.engine.ordering). When skipped messages are the last of a partition, no later message
reveals the gap, and the commit waits for them forever. A worker that has input waiting and
commits nothing for half of ``stall_timeout`` seeks its input partitions back to their
committed offsets; if that does not help within the other half, it logs why and exits
without committing. Its supervisor restarts it, and since every batch's effects are in Kafka
before its offsets are committed, the restart loses nothing.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import faust

from streams.engine import faust_private

if TYPE_CHECKING:
    from streams.runtime import Runtime

log = logging.getLogger("leadflow.watchdog")
EXIT_STALLED = 75
CHECK_EVERY = 5.0


class Action(Enum):
    NONE = "none"
    RESEEK = "reseek"  # half the timeout without progress: read the inputs again
    EXIT = "exit"  # the whole timeout: let the supervisor restart the worker


@dataclass
class StallDetector:
    """Stalled = input waiting, and the committed position has not moved for `timeout` s."""

    timeout: float
    _last_position: int | None = None
    _since: float = field(default=0.0)
    _reseeked: bool = False

    def observe(self, now: float, lag: int, position: int) -> Action:
        if lag <= 0 or position != self._last_position:
            self._last_position = position
            self._since = now
            self._reseeked = False
            return Action.NONE
        waited = now - self._since
        if waited >= self.timeout:
            return Action.EXIT
        if waited >= self.timeout / 2 and not self._reseeked:
            self._reseeked = True
            return Action.RESEEK
        return Action.NONE


async def committed_positions(consumer: Any, inputs: frozenset[str]) -> dict[Any, int]:
    """Per assigned input partition, its committed offset, or its start if none."""
    tps = [tp for tp in consumer.assignment() if tp.topic in inputs]
    committed = {tp: faust_private.committed_offset(consumer, tp) for tp in tps}
    missing = [tp for tp, offset in committed.items() if offset is None]
    starts = await consumer.earliest_offsets(*missing) if missing else {}
    return {tp: offset if offset is not None else int(starts.get(tp) or 0)
            for tp, offset in committed.items()}


async def reseek_inputs(consumer: Any, inputs: frozenset[str]) -> int:
    """Seek every assigned input partition to its committed offset (or its start)."""
    targets = await committed_positions(consumer, inputs)
    if targets:
        await consumer.seek_wait(targets)
    return len(targets)


async def input_lag(consumer: Any, inputs: frozenset[str]) -> tuple[int, int]:
    """(records waiting, committed position) over the assigned input partitions.

    The end offsets are asked of the broker: a partition the fetcher never fetched, the
    very symptom of a stall, has no local high watermark to read."""
    bases = await committed_positions(consumer, inputs)
    if not bases:
        return 0, 0
    ends = await consumer.highwaters(*bases)
    lag = sum(max(0, int(ends.get(tp) or 0) - base) for tp, base in bases.items())
    return lag, sum(bases.values())


def attach(app: faust.App, runtime: Runtime) -> None:
    detector = StallDetector(runtime.settings.stall_timeout)
    inputs = frozenset(runtime.topics.source_of)

    @app.timer(CHECK_EVERY, name="stall-watchdog")  # type: ignore[untyped-decorator]
    async def watch_for_stalls() -> None:
        # Readiness is not consulted: the stall seen in tests left Faust "rebalancing"
        # for good. A real rebalance moves on well within the timeout.
        try:
            lag, position = await input_lag(app.consumer, inputs)
        except Exception as exc:  # between generations: look again later
            log.info("input lag not available: %r", exc, extra={"event": "watchdog_skip"})
            return
        log.debug("input lag %d at position %d", lag, position)
        action = detector.observe(time.monotonic(), lag, position)
        if action is Action.RESEEK:
            log.warning("no progress for %.0f s with %d input records waiting; reading the "
                        "inputs again from their committed offsets", detector.timeout / 2, lag,
                        extra={"event": "reseek"})
            try:
                await reseek_inputs(app.consumer, inputs)
            except Exception:  # between generations: the exit below still follows
                log.warning("could not seek the inputs back", exc_info=True)
        elif action is Action.EXIT:
            log.critical("no progress for %.0f s with %d input records waiting; exiting so "
                         "a restart resumes from the last commit", detector.timeout, lag,
                         extra={"event": "stalled"})
            logging.shutdown()
            os._exit(EXIT_STALLED)
