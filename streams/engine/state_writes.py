"""A batch's table writes, made durable in one go.

Faust turns every table write into a changelog record of its own (a future, a buffer
entry, a send, an ack callback that writes the changelog offset into RocksDB) and writes the
store at once. For a batch of hundreds of leads that per-record path cost more CPU than the
domain itself. Here a batch's writes are collected, their changelog records go out as one
record batch per changelog partition, and once Kafka has them the local store is written and
Faust's persisted changelog offset set once per partition. The order keeps the guarantee
that the changelog is never behind the local store: a crash in between leaves the store
behind, and Faust's recovery reads the changelog from the persisted offset on.

A RocksDB store is written through Faust's own store methods (``_set``/``_del``/``_contains``,
which take the already encoded bytes and the current event's partition: the same bytes
Faust's changelog restore writes); a memory store is a plain mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faust.types import TP

from streams.engine import faust_private
from streams.engine.delivery import Deliver, Send
from streams.engine.events import at_event


class TableWrites:
    def __init__(self) -> None:
        self._sends: list[Send] = []
        # partition -> (an event of that partition, [(table, key, value or None)])
        self._local: dict[int, tuple[Any, list[tuple[Any, bytes, bytes | None]]]] = {}
        self._tables: dict[str, Any] = {}
        # partition -> (an event of that partition, [(table, key)]) to delete if present
        self._maybe_deletes: dict[int, tuple[Any, list[tuple[Any, bytes]]]] = {}

    def _add(self, table: Any, partition: int, ref: Any, key: bytes,
             value: bytes | None, *, local: bool = True) -> None:
        topic = table.changelog_topic.get_topic_name()
        self._tables[topic] = table
        self._sends.append(Send(topic, key, value, partition))
        if local:
            self._local.setdefault(partition, (ref, []))[1].append((table, key, value))

    def put(self, table: Any, partition: int, ref: Any, key: bytes, value: bytes) -> None:
        self._add(table, partition, ref, key, value)

    def tombstone(self, table: Any, partition: int, ref: Any, key: bytes) -> None:
        """A changelog tombstone (compaction drops every earlier value of the key)."""
        self._add(table, partition, ref, key, None)

    def delete_if_present(self, table: Any, partition: int, ref: Any, key: bytes) -> None:
        self._maybe_deletes.setdefault(partition, (ref, []))[1].append((table, key))

    async def apply(self, deliver: Deliver, along: Sequence[Send] = (),
                    atomic: bool = False) -> None:
        """Deliver the changelog records (and ``along``: other records that may go in the
        same round trip), then write the local store. ``atomic``: each changelog
        partition's records in one record batch (states with their progress record)."""
        for partition, (ref, candidates) in self._maybe_deletes.items():
            with at_event(ref):  # once per partition, not per key
                present = [(t, k) for t, k in candidates if faust_private.store_contains(t.data, k)]
            for table, key in present:
                self._add(table, partition, ref, key, None)
        if not self._sends and not along:
            return
        last = await deliver([*along, *self._sends] if along else self._sends, atomic)
        for ref, writes in self._local.values():
            with at_event(ref):
                for table, key, value in writes:
                    faust_private.store_write(table.data, key, value)
        for (topic, partition), offset in last.items():
            table = self._tables.get(topic)
            if table is not None:  # a changelog (``along`` records are not)
                table.data.set_persisted_offset(TP(topic, partition), offset)
