"""Every private member of Faust and aiokafka that leadflow touches, and only here.

leadflow needs a few things neither library exposes: a whole fetch of records (the input
partitions' records go to the engine in one piece, not through Faust's per-event stream),
the offsets Faust believes committed,
the two methods its commit calls (to commit only what leadflow marked done), aiokafka's
producer for its batch API and its partitioner, the RocksDB store's raw byte methods (to
write a batch's state the way Faust's changelog restore does), Faust's "current event"
(which picks the partition a table write lands in), and the step of Faust's recovery where
the active partitions' start offsets are known (the bulk restore runs there). Each use is a
one-line function (or override) below; ``MEMBERS`` lists them per class, and
``tests/unit/engine/test_faust_private.py`` checks that the installed Faust and aiokafka
still have every one (faust-streaming is pinned ``<0.16`` in pyproject.toml for the same
reason). ruff's SLF001 is on everywhere else.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextvars import Token
from typing import Any

import faust
from faust.streams import _current_event
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery

TP = Any  # Faust's TopicPartition

# class (module path) -> private members used on its instances
MEMBERS: dict[str, tuple[str, ...]] = {
    "faust.transport.consumer:Consumer": ("_committed_offset", "_new_offset",
                                          "_filter_tps_with_pending_acks", "_acked",
                                          "_acked_index", "_wait_next_records",
                                          "_buffered_partitions"),
    "faust.transport.drivers.aiokafka:Consumer": ("_to_message",),
    "faust.app.base:App": ("_new_consumer", "_new_web"),
    "faust.transport.drivers.aiokafka:Producer": ("_ensure_producer",),
    "aiokafka.producer.producer:AIOKafkaProducer": ("_partition",),
    "aiokafka.client:AIOKafkaClient": ("_wait_on_metadata",),
    "faust.stores.rocksdb:Store": ("_set", "_del", "_contains", "_db_for_partition",
                                   "_dbs_for_actives"),
    "faust.streams": ("_current_event",),
    "faust.tables.recovery:Recovery": ("_build_offsets",),
    "faust.tables.manager:TableManager": ("_recovery",),
}


# -- consumer ----------------------------------------------------------------------------

def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The offset Faust last committed (or read as committed) for ``tp``; reading never
    inserts (Faust's map is a defaultdict)."""
    value = consumer._committed_offset.get(tp)
    return None if value is None else int(value)


def override_commit_offsets(consumer: Any, new_offset: Callable[[TP, Callable[[TP], int | None]],
                                                                 int | None],
                            pending: Callable[[Any, Iterator[TP]], Iterator[TP]]) -> None:
    """Shadow the two methods Faust's commit calls with instance attributes:
    ``new_offset(tp, faust_new_offset)`` and ``pending(topics, faust_pending)``."""
    faust_new_offset = consumer._new_offset
    faust_pending = consumer._filter_tps_with_pending_acks

    def _new_offset(tp: TP) -> int | None:
        return new_offset(tp, faust_new_offset)

    def _pending(topics: Any = None) -> Iterator[TP]:
        return pending(topics, faust_pending(topics))

    consumer._new_offset = _new_offset
    consumer._filter_tps_with_pending_acks = _pending


def forget_acks(consumer: Any, tp: TP) -> None:
    """Drop Faust's acknowledgement lists for ``tp`` (they are not ours to trust, and
    would only grow)."""
    consumer._acked.pop(tp, None)
    consumer._acked_index.pop(tp, None)


async def wait_next_records(consumer: Any, timeout: float) -> tuple[Any, Any]:
    """One fetch as Faust's own ``getmany`` makes it: (records per partition or None,
    the active partitions or None)."""
    return await consumer._wait_next_records(timeout)  # type: ignore[no-any-return]


def buffered_partitions(consumer: Any) -> Any:
    """Partitions Faust stopped fetching because a stream buffer was full (their records
    already fetched are still delivered)."""
    return consumer._buffered_partitions


def to_message(consumer: Any, tp: TP, record: Any) -> Any:
    """An aiokafka record as the Faust message its streams receive."""
    return consumer._to_message(tp, record)


def base_new_consumer(app: Any) -> Any:
    """Faust's own ``App._new_consumer`` (leadflow's app extends it to install its
    commit offsets on every consumer Faust makes)."""
    return faust.App._new_consumer(app)


def base_new_web(app: Any) -> Any:
    """Faust's own ``App._new_web`` (leadflow's app hardens the web server it makes)."""
    return faust.App._new_web(app)


# -- producer ----------------------------------------------------------------------------

def aiokafka_producer(faust_producer: Any) -> Any:
    """aiokafka's producer under Faust's (for its record-batch API)."""
    return faust_producer._ensure_producer()


async def wait_on_metadata(producer: Any, topic: str) -> None:
    await producer.client._wait_on_metadata(topic)


def default_partition(producer: Any, topic: str, key: bytes | None,
                      value: bytes | None) -> int:
    """The partition aiokafka's own partitioner gives a keyed record (murmur2)."""
    return int(producer._partition(topic, None, None, None, key, value))


# -- stores ------------------------------------------------------------------------------

def is_partitioned(store: Any) -> bool:
    """A RocksDB store (one database per partition), as opposed to a memory mapping."""
    return hasattr(store, "_db_for_partition")


def store_contains(store: Any, key: bytes) -> bool:
    return bool(store._contains(key)) if is_partitioned(store) else key in store


def store_write(store: Any, key: bytes, value: bytes | None) -> None:
    """Write encoded bytes to the current event's partition (None deletes)."""
    if is_partitioned(store):
        if value is None:
            store._del(key)
        else:
            store._set(key, value)
    elif value is None:
        store.pop(key, None)
    else:
        store[key] = value


def partition_database(store: Any, partition: int) -> Any:
    """The RocksDB database of one partition (opened if it is not yet)."""
    return store._db_for_partition(partition)


def active_databases(store: Any) -> Iterator[Any] | None:
    """The RocksDB databases of the partitions this worker owns (None: not RocksDB)."""
    actives = getattr(store, "_dbs_for_actives", None)
    return None if actives is None else iter(actives())


# -- the current event -------------------------------------------------------------------

def set_current_event(event: Any) -> Token[Any]:
    """Make ``event`` Faust's current event (undo with ``reset_current_event``)."""
    return _current_event.set(weakref.ref(event))


def reset_current_event(token: Token[Any]) -> None:
    _current_event.reset(token)


# -- recovery ----------------------------------------------------------------------------

# ``restore_actives(recovery, tps, offsets)``: may restore the active changelog partitions
# ``tps`` by other means and move their start ``offsets`` (Faust's Counter) past what it did.
RestoreActives = Callable[[Any, set[TP], Any], Awaitable[None]]


class RestoringRecovery(Recovery):
    """Faust's recovery, which calls the app's ``restore_actives`` once the active
    partitions' start offsets are built and before Faust seeks them: Faust's own per-record
    recovery then reads only what is left."""

    async def _build_offsets(self, consumer: Any, tps: set[TP], destination: Any,
                             title: str) -> None:
        await super()._build_offsets(consumer, tps, destination, title)
        restore: RestoreActives | None = getattr(self.app, "restore_actives", None)
        if restore is not None and destination is self.active_offsets and tps:
            await restore(self, tps, destination)


class RestoringTableManager(TableManager):
    """Faust's table manager with ``RestoringRecovery`` (``TableManager`` setting)."""

    @property
    def recovery(self) -> Any:
        if self._recovery is None:
            self._recovery = RestoringRecovery(self.app, self, beacon=self.beacon,
                                               loop=self.loop)
        return self._recovery
