"""A batch's table writes: changelog first, then the local store, then the offsets."""

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from streams.engine.delivery import Send
from streams.engine.state_writes import TableWrites


class MemoryStore(dict[bytes, bytes]):
    def __init__(self) -> None:
        super().__init__()
        self.persisted: dict[Any, int] = {}

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tp] = offset


def table(name: str) -> Any:
    return SimpleNamespace(data=MemoryStore(),
                           changelog_topic=SimpleNamespace(get_topic_name=lambda: name))


class Event:  # at_event only needs something weak-referenceable
    pass


def test_changelog_then_store_then_persisted_offsets() -> None:
    leads, deadlines = table("leads-changelog"), table("deadlines-changelog")
    deadlines.data[b"L2"] = b"old"
    sent: list[Send] = []
    seen_store_at_delivery: dict[bytes, bytes] = {}

    async def deliver(sends: Sequence[Send], atomic: bool = False) -> dict[tuple[str, int], int]:
        sent.extend(sends)
        seen_store_at_delivery.update(leads.data)
        return {("leads-changelog", 1): 41, ("deadlines-changelog", 1): 7}

    ev = Event()
    writes = TableWrites()
    writes.tombstone(leads, 1, ev, b"L1")  # an erasure: tombstone first
    writes.put(leads, 1, ev, b"L1", b"erased")
    writes.put(leads, 1, ev, b"L2", b"state")
    writes.delete_if_present(deadlines, 1, ev, b"L1")  # absent: nothing sent
    writes.delete_if_present(deadlines, 1, ev, b"L2")  # present: a tombstone
    asyncio.run(writes.apply(deliver))
    assert [(s.topic, s.key, s.value, s.partition) for s in sent] == [
        ("leads-changelog", b"L1", None, 1),
        ("leads-changelog", b"L1", b"erased", 1),
        ("leads-changelog", b"L2", b"state", 1),
        ("deadlines-changelog", b"L2", None, 1),
    ]
    assert seen_store_at_delivery == {}  # the store is written only once Kafka has it all
    assert dict(leads.data) == {b"L1": b"erased", b"L2": b"state"}
    assert dict(deadlines.data) == {}
    assert list(leads.data.persisted.values()) == [41]
    assert list(deadlines.data.persisted.values()) == [7]
