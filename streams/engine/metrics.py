"""The stream engine's own numbers, bridged into :class:`streams.metrics.EngineMetrics`.

- messages received per topic: a Faust sensor (``on_message_in``);
- messages sent per topic: leadflow's agents send with ``app.producer.send`` directly,
  which Faust's sensor hooks never see, so the producer's ``send`` is wrapped and counts
  every *acknowledged* record (changelog writes included) — the sensor's send hooks are
  deliberately not used, to avoid counting Faust's own sends twice;
- commit latency: the sensor's ``on_commit_initiated``/``on_commit_completed``;
- consumer lag per assigned input partition, table key counts and the ready gauge: a
  periodic task (:data:`INTERVAL`) reading the consumer's high watermarks and committed
  offsets and the tables' stores.

Labels stay bounded: only the app's own topics (inputs, outputs, the internal SLA-ticks
topic, table changelogs) and table names are accepted; :class:`EngineMetrics` turns
anything else into ``other``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any

import faust
from faust.types import TP

from streams import metrics
from streams.engine import faust_private
from streams.logs import EVENT_READY, log_event
from streams.tables import PROGRESS_KEY

if TYPE_CHECKING:
    from streams.runtime import Runtime

__all__ = ["INTERVAL", "EngineSensor", "attach", "consumer_lag", "table_keys"]

log = logging.getLogger(__name__)

#: Seconds between two updates of lag, table keys and readiness.
INTERVAL = 1.0
#: Above this (estimated) size a table's keys are not counted one by one (it would block
#: the event loop); RocksDB's own estimate is exported instead.


class EngineSensor(faust.Sensor):
    """Counts consumed messages and times offset commits."""

    def __init__(self, engine: metrics.EngineMetrics, **kwargs: Any) -> None:
        self.engine = engine
        # Counted here per message, handed to Prometheus once per update (a labelled
        # Prometheus increment per message was a visible share of the worker's CPU).
        self.received: Counter[str] = Counter()
        super().__init__(**kwargs)

    def on_message_in(self, tp: TP, offset: int, message: Any) -> None:
        self.received[tp.topic] += 1

    def flush(self) -> None:
        received, self.received = self.received, Counter()
        for topic, n in received.items():
            self.engine.count_received(topic, n)

    def on_commit_initiated(self, consumer: Any) -> Any:
        return monotonic()

    def on_commit_completed(self, consumer: Any, state: Any) -> None:
        if isinstance(state, float):
            self.engine.observe_commit(monotonic() - state)

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        self.engine.set_ready(False)
        return super().on_rebalance_start(app)


def count_sends(producer: Any, engine: metrics.EngineMetrics) -> None:
    """Wrap ``producer.send`` so that every acknowledged record is counted by topic."""
    original: Callable[..., Awaitable[Any]] = producer.send
    if getattr(original, "leadflow_counted", False):
        return

    def _done(topic: str, fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            engine.count_sent(topic)

    async def send(topic: str, *args: Any, **kwargs: Any) -> Any:
        fut = await original(topic, *args, **kwargs)
        if isinstance(fut, asyncio.Future):
            fut.add_done_callback(partial(_done, topic))
        return fut

    send.leadflow_counted = True  # type: ignore[attr-defined]
    producer.send = send


async def consumer_lag(consumer: Any, topics: Iterable[str]) -> dict[TP, int]:
    """High watermark minus committed offset for each assigned partition of ``topics``.

    A partition without a committed offset (a new group) counts from the log start, where
    ``auto_offset_reset=earliest`` starts reading; one whose high watermark is not known
    yet is left out.
    """
    wanted = frozenset(topics)
    highs: dict[TP, int] = {}
    for tp in consumer.assignment():
        if tp.topic in wanted:
            high = consumer.highwater(tp)
            if high is not None:
                highs[tp] = int(high)
    committed: dict[TP, int | None] = {
        tp: faust_private.committed_offset(consumer, tp) for tp in highs
    }
    missing = sorted(tp for tp, off in committed.items() if off is None)
    if missing:
        earliest = await consumer.earliest_offsets(*missing)
        committed.update({tp: earliest.get(tp) for tp in missing})
    return {tp: max(0, high - int(base)) for tp, high in highs.items()
            if (base := committed.get(tp)) is not None}


def table_keys(table: Any, reserved: bytes | None = None) -> int:
    """Keys of a table held on this worker: RocksDB's own estimate (exact for a memory
    store). Counting a RocksDB store means iterating it on the event loop: with 10k keys
    in three tables that blocked the worker ~2 s of every update. ``reserved``: a key the
    engine keeps in some partitions (the leads table's progress record), not counted."""
    store = table.data
    actives = faust_private.active_databases(store)
    if actives is None:
        return sum(1 for key in list(store) if key != reserved)
    estimate = 0
    for db in actives:
        with contextlib.suppress(Exception):
            n = int(db.property_int_value("rocksdb.estimate-num-keys") or 0)
            # Faust keeps its changelog offset as one key in every partition's database.
            n -= 1
            if reserved is not None and db.get(reserved) is not None:
                n -= 1
            estimate += max(0, n)
    return estimate


def attach(app: faust.App, runtime: Runtime) -> EngineSensor:
    """Add the sensor, the producer wrapper and the periodic update to ``app``."""
    from streams.web import is_ready

    engine: metrics.EngineMetrics = runtime.extras["engine_metrics"]
    tables = {
        "leads": runtime.tables.leads,
        "sla-deadlines": runtime.tables.deadlines,
        "kpi-windows": runtime.tables.kpis,
    }
    inputs = frozenset(runtime.topics.source_of)  # events, outcomes, SLA ticks
    engine.add_topics(inputs)
    engine.add_topics(t.get_topic_name() for t in runtime.topics.outputs.values())
    engine.add_topics(t.changelog_topic.get_topic_name() for t in tables.values())
    engine.add_tables(tables)
    engine.set_ready(False)

    sensor = EngineSensor(engine)
    app.sensors.add(sensor)
    runtime.extras["engine_sensor"] = sensor  # the input fetches bypass its on_message_in
    count_sends(app.producer, engine)
    state: dict[str, Any] = {"ready": False, "lag_series": set()}

    @app.timer(INTERVAL, name="engine-metrics")  # type: ignore[untyped-decorator]
    async def update_engine_metrics() -> None:
        sensor.flush()
        ready = False
        with contextlib.suppress(Exception):
            ready = is_ready(app)
        engine.set_ready(ready)
        if ready and not state["ready"]:
            partitions = len(app.consumer.assignment())
            log_event(log, EVENT_READY, assigned_partitions=partitions)
        state["ready"] = ready
        if not ready:
            return
        try:
            lag = await consumer_lag(app.consumer, inputs)
        except Exception as exc:  # the consumer is between generations: try again later
            log.debug("consumer lag not available: %r", exc)
        else:
            for tp, n in lag.items():
                engine.set_lag(tp.topic, tp.partition, n)
            series = {(engine.topic_label(tp.topic), engine.partition_label(tp.partition))
                      for tp in lag}
            for gone in state["lag_series"] - series:  # partitions revoked by a rebalance
                with contextlib.suppress(KeyError):
                    metrics.CONSUMER_LAG.remove(*gone)
            state["lag_series"] = series
        for name, table in tables.items():
            with contextlib.suppress(Exception):
                engine.set_table_keys(name, table_keys(
                    table, PROGRESS_KEY if name == "leads" else None))

    return sensor
