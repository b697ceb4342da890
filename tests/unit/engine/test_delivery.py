"""Batch delivery: one record batch per topic partition, retried until acknowledged."""

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from streams.engine.delivery import Send, deliver_all


class FakeBatch:
    def __init__(self, capacity: int) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.capacity = capacity

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: Any) -> Any:
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()


class FakeProducer:
    def __init__(self, capacity: int = 100, fail_first: int = 0) -> None:
        self.capacity = capacity
        self.fail_first = fail_first
        self.logs: dict[tuple[str, int], list[tuple[bytes | None, bytes | None]]] = (
            defaultdict(list))
        self.batches = 0

        async def wait_on_metadata(topic: str) -> None:
            return None

        self.client = SimpleNamespace(_wait_on_metadata=wait_on_metadata)

    def _partition(self, topic: str, partition: Any, key: Any, value: Any,
                   serialized_key: bytes, serialized_value: Any) -> int:
        return sum(serialized_key) % 3

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.capacity)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.batches += 1
        if self.fail_first > 0:
            self.fail_first -= 1
            fut.set_exception(ConnectionError("broker away"))
            return fut
        log = self.logs[(topic, partition)]
        fut.set_result(SimpleNamespace(offset=len(log)))
        log.extend(batch.records)
        return fut


def test_records_go_out_per_partition_in_order_with_their_last_offsets() -> None:
    producer = FakeProducer(capacity=2)
    sends = [Send("out", bytes([i % 3]), f"v{i}".encode()) for i in range(9)]
    sends.append(Send("changelog", b"k", None, partition=1))  # explicit partition, tombstone
    counted: dict[str, int] = defaultdict(int)

    def on_sent(topic: str, n: int) -> None:
        counted[topic] += n

    last = asyncio.run(deliver_all(producer, sends, on_sent=on_sent))
    assert producer.logs[("out", 0)] == [(b"\x00", b"v0"), (b"\x00", b"v3"), (b"\x00", b"v6")]
    assert producer.logs[("changelog", 1)] == [(b"k", None)]
    assert last == {("out", 0): 2, ("out", 1): 2, ("out", 2): 2, ("changelog", 1): 0}
    assert counted == {"out": 9, "changelog": 1}
    assert producer.batches == 3 * 2 + 1  # full batches are split


def test_failed_batches_are_sent_again() -> None:
    producer = FakeProducer(fail_first=1)
    sends = [Send("out", b"\x00", b"a"), Send("out", b"\x01", b"b")]
    last = asyncio.run(deliver_all(producer, sends, backoff=0.01))
    assert sorted(v for log in producer.logs.values() for _, v in log) == [b"a", b"b"]
    assert len(last) == 2


def test_atomic_sends_put_each_partitions_records_in_one_batch_whatever_its_size(
        monkeypatch: Any) -> None:
    """A batch's states and its partition's progress record: all or nothing in Kafka."""
    from streams.engine import delivery

    monkeypatch.setattr(delivery, "BatchBuilder", lambda size, *a, **k: FakeBatch(10_000))
    producer = FakeProducer(capacity=2)  # the producer's own batches hold 2 records
    sends = [Send("changelog", b"k%d" % i, b"state", partition=0) for i in range(7)]
    sends.append(Send("changelog", b"\x00progress", b"{}", partition=0))
    last = asyncio.run(deliver_all(producer, sends, atomic=True))
    assert producer.batches == 1
    assert last == {("changelog", 0): 7}
    # without atomic, the same records need 4 batches (a crash could land some of them)
    producer = FakeProducer(capacity=2)
    asyncio.run(deliver_all(producer, sends))
    assert producer.batches == 4


def test_an_atomic_batch_too_large_for_the_topic_goes_in_parts(monkeypatch: Any) -> None:
    from aiokafka.errors import MessageSizeTooLargeError

    from streams.engine import delivery

    monkeypatch.setattr(delivery, "BatchBuilder", lambda size, *a, **k: FakeBatch(10_000))

    class TooLarge(FakeProducer):
        async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
            if len(batch.records) > 2:
                fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                self.batches += 1
                fut.set_exception(MessageSizeTooLargeError())
                return fut
            return await super().send_batch(batch, topic, partition=partition)

    producer = TooLarge(capacity=2)
    sends = [Send("changelog", b"k%d" % i, b"state", partition=0) for i in range(5)]
    last = asyncio.run(deliver_all(producer, sends, atomic=True, backoff=0.0))
    assert last == {("changelog", 0): 4}
    assert len(producer.logs[("changelog", 0)]) == 5


def test_a_whole_batch_has_room_for_all_its_records() -> None:
    from streams.engine.delivery import _whole_batch

    sends = [Send("changelog", b"lead-%d" % i, b"s" * (100 + i), partition=0)
             for i in range(500)]
    batch = _whole_batch(sends)  # aiokafka's own builder, sized for them
    assert all(batch.append(key=s.key, value=s.value, timestamp=None) is not None
               for s in sends)
