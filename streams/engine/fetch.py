"""Whole fetches of the input partitions go to the engine, below Faust's per-event stream.

Faust hands every fetched record to its streams one by one: a message object, a callback,
a channel queue, an event, an acknowledgement; then ``take_events`` gathers them into a
batch again. That path cost ~100 µs per record, more than leadflow's own work on it. Here
the consumer's ``getmany`` (what Faust's fetcher loop iterates) is replaced on the one
consumer instance: each fetch's records of the input topics go to ``sink`` in one call,
per partition in offset order, and only the other topics' records (changelogs, the
account signals) go on through Faust as before. Faust keeps the app, the group, the
rebalances, the tables, the recovery and the web.

What Faust's own ``getmany`` does around a fetch is kept: nothing is delivered while the
flow is stopped (a rebalance) and the consumer then seeks back to the committed offsets;
nothing of a fetch made in an older consumer generation, or of a partition no longer
active, is delivered. The engine's offset cursors (``streams.engine.ordering``) still check
every record, and its commits are its own (``streams.engine.commits``).

A rebalance and a stop wait for the batch in flight (``wait_empty``, which Faust calls
before its last commit of the revoked partitions), as they waited for a stream's
unacknowledged events before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from streams.engine import faust_private

log = logging.getLogger("leadflow.engine")

TP = Any  # Faust's TopicPartition
Fetched = Sequence[tuple[TP, Sequence[Any]]]  # per partition: aiokafka ConsumerRecords
Sink = Callable[[Fetched], Awaitable[None]]

BATCH_WAIT_ON_REVOKE = 60.0  # seconds a rebalance waits for the batch in flight


class FetchWaitClock:
    """Seconds the fetcher loop spent waiting for records to arrive: the clock of the
    merge's bounded wait for a lagging input (contract 1b, ``LEADFLOW_MAX_IDLE_MS``).

    The loop fetches, hands the fetch over, and only then fetches again: while the engine
    processes a large fetch (or Faust hands the other topics' records to a busy agent) no
    input can deliver anything, and that time must not count as the input's silence, or
    a backlog's partitions overtake each other whenever a batch is slow."""

    def __init__(self) -> None:
        self.waited = 0.0

    def __call__(self) -> float:
        return self.waited


def divert_inputs(app: Any, consumer: Any, topics: frozenset[str], sink: Sink,
                  clock: FetchWaitClock | None = None,
                  quiesce: Callable[[], Awaitable[None]] | None = None) -> None:
    """Make ``consumer`` hand each fetch's records of ``topics`` to ``sink``.
    ``quiesce``: returns once the engine has no batch in flight (a timer's too)."""
    idle = asyncio.Event()
    idle.set()

    async def getmany(timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        started = time.monotonic()
        try:
            records, active = await faust_private.wait_next_records(consumer, timeout)
        finally:
            if clock is not None:
                clock.waited += time.monotonic() - started
        generation = app.consumer_generation_id
        if records is None or consumer.should_stop:
            return
        if not consumer.flow_active:
            # as Faust's getmany: a fetch returned while a rebalance stopped the flow
            try:
                await consumer.perform_seek()
            except Exception as exc:
                log.warning("could not seek back to the committed offsets: %r", exc)
            return
        buffered = faust_private.buffered_partitions(consumer)
        mine: list[tuple[TP, Sequence[Any]]] = []
        rest: dict[TP, Any] = {}
        for tp, batch in records.items():
            if tp.topic in topics:
                if batch and (active is None or tp in active or tp in buffered):
                    mine.append((tp, batch))
            else:
                rest[tp] = batch
        if mine:
            idle.clear()
            try:
                await sink(mine)
            finally:
                idle.set()
        if not rest:
            return
        for tp, record in consumer.scheduler.iterate(rest):
            if not consumer.flow_active or app.consumer_generation_id != generation:
                break
            if active is None or tp in active or tp in buffered:
                yield tp, faust_private.to_message(consumer, tp, record)

    faust_wait_empty = consumer.wait_empty

    async def wait_empty() -> None:
        # A rebalance or a stop: the batch in flight finishes (and marks its offsets done)
        # before Faust's last commit of the partitions.
        try:
            await asyncio.wait_for(idle.wait(), timeout=BATCH_WAIT_ON_REVOKE)
            if quiesce is not None:
                await asyncio.wait_for(quiesce(), timeout=BATCH_WAIT_ON_REVOKE)
        except TimeoutError:
            log.warning("a batch still runs after %.0f s; the rebalance goes on",
                        BATCH_WAIT_ON_REVOKE)
        await faust_wait_empty()

    consumer.getmany = getmany
    consumer.wait_empty = wait_empty
