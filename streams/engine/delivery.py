"""Send a batch of records and wait until Kafka has them all (acks=all).

The agent writes a lead's new state only after its outputs are delivered. A crash before
that replays the inputs and sends the same outputs again, with the same ids; a crash after
it finds the inputs already seen. Either way nothing is lost.

Records go out as one Kafka record batch per topic partition (aiokafka's ``send_batch``),
not one ``send`` each: a per-record send, with its future and callbacks, cost more CPU than
the domain's work on the event. Keyed records land where a per-record send would put them
(the producer's own partitioner).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder

from streams.engine import faust_private

log = logging.getLogger("leadflow.delivery")


class Send:
    """One record to send: topic name, key, value (None: a tombstone), optional partition."""

    __slots__ = ("key", "partition", "topic", "value")

    def __init__(self, topic: str, key: bytes | None, value: bytes | None,
                 partition: int | None = None) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.partition = partition


TopicPartition = tuple[str, int]


class Deliver(Protocol):
    """``deliver_all`` bound to the app's producer: last offset per topic partition."""

    def __call__(self, sends: Sequence[Send], atomic: bool = False
                 ) -> Awaitable[dict[TopicPartition, int]]: ...


RECORD_OVERHEAD = 32  # bytes a record adds to a batch beyond its key and value (at most)
BATCH_OVERHEAD = 256  # a record batch's header, with room to spare


async def _partition_of(producer: Any, send: Send, known: set[str]) -> int:
    if send.partition is not None:
        return send.partition
    if send.topic not in known:  # metadata first, as a per-record send would
        await faust_private.wait_on_metadata(producer, send.topic)
        known.add(send.topic)
    return faust_private.default_partition(producer, send.topic, send.key, send.value)


def _whole_batch(items: Sequence[Send]) -> Any:
    """A record batch with room for all of ``items`` (the producer's own is capped at its
    ``max_batch_size``)."""
    size = sum(len(s.key or b"") + len(s.value or b"") + RECORD_OVERHEAD for s in items)
    return BatchBuilder(size + BATCH_OVERHEAD, 0, is_transactional=False,  # 0: uncompressed
                        key_serializer=None, value_serializer=None)


async def _send_batches(producer: Any, sends: Sequence[Send], known: set[str],
                        whole: bool = False
                        ) -> list[tuple[TopicPartition, list[Send], asyncio.Future[Any]]]:
    groups: dict[TopicPartition, list[Send]] = {}
    for s in sends:
        groups.setdefault((s.topic, await _partition_of(producer, s, known)), []).append(s)
    flights = []
    for (topic, partition), items in groups.items():
        members: list[Send] = []
        batch = _whole_batch(items) if whole else producer.create_batch()
        for s in items:
            if batch.append(key=s.key, value=s.value, timestamp=None) is None:  # full
                fut = await producer.send_batch(batch, topic, partition=partition)
                flights.append(((topic, partition), members, fut))
                batch, members = producer.create_batch(), []
                if batch.append(key=s.key, value=s.value, timestamp=None) is None:
                    raise ValueError(f"a record for {topic} is larger than a whole batch")
            members.append(s)
        fut = await producer.send_batch(batch, topic, partition=partition)
        flights.append(((topic, partition), members, fut))
    return flights


async def deliver_all(producer: Any, sends: Sequence[Send], *, atomic: bool = False,
                      backoff: float = 0.5, max_backoff: float = 10.0,
                      on_sent: Callable[[str, int], None] | None = None,
                      ) -> dict[TopicPartition, int]:
    """Send every record with `producer` (an aiokafka producer); retry the failed batches
    until all are acknowledged. Returns the offset of the last record per topic partition.

    ``atomic``: each topic partition's records go in ONE record batch, which Kafka appends
    whole or not at all (a batch's states with its partition's progress record: a crash
    never leaves some of them written). A batch larger than the topic allows
    (``max.message.bytes``) is sent in parts instead, with a warning.

    Never gives up by itself: a batch that cannot be delivered must not be acknowledged,
    so the caller keeps waiting (and alerting) until the broker is back or it is stopped.
    """
    last: dict[TopicPartition, int] = {}
    known: set[str] = set()
    pending = list(sends)
    delay = backoff
    whole = atomic
    while pending:
        flights = await _send_batches(producer, pending, known, whole)
        results = await asyncio.gather(*(f for _, _, f in flights), return_exceptions=True)
        failed: list[Send] = []
        first: BaseException | None = None
        for (tp, members, _), result in zip(flights, results, strict=True):
            if isinstance(result, BaseException):
                failed.extend(members)
                first = first or result
                if whole and isinstance(result, MessageSizeTooLargeError):
                    log.warning("a batch of %d records for %s-%d is larger than the topic "
                                "allows (max.message.bytes); sending it in parts",
                                len(members), tp[0], tp[1])
                    whole = False
                continue
            end = result.offset + len(members) - 1  # a batch's records are consecutive
            if end > last.get(tp, -1):
                last[tp] = end
            if on_sent is not None:
                on_sent(tp[0], len(members))
        if not failed:
            return last
        log.warning("delivery failed for %d of %d records (%s); retrying in %.1fs",
                    len(failed), len(pending), type(first).__name__, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff)
        pending = failed
    return last
