"""Log start and end offsets asked of the broker on a connection of their own.

The runner asks the broker's end offsets whenever an input looks read to its end while the
other input of its partition has a record waiting (streams.engine.runner), which on a paced
stream is most batches. Asked through Faust's consumer, the request waits for a hop into
the consumer's thread and then, on the same broker connection, behind any fetch in flight:
the broker answers a connection's requests in order, and Faust's fetches wait up to
1.5 s for data (its ``fetch_max_wait_ms``). That put 1.5 s stalls into the latency of a
500 events/s stream. A plain aiokafka consumer (no group, nothing assigned, no fetches) on
the worker's own event loop answers in about a broker round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

TP = Any  # (topic, partition)


class BrokerOffsets:
    def __init__(self, client_config: dict[str, Any]) -> None:
        self._config = client_config
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> AIOKafkaConsumer:
        async with self._lock:  # started on first use, once
            if self._consumer is None:
                consumer = AIOKafkaConsumer(**self._config, enable_auto_commit=False)
                await consumer.start()
                self._consumer = consumer
            return self._consumer

    async def end_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        client = await self._client()
        ends = await client.end_offsets([TopicPartition(tp[0], tp[1]) for tp in tps])
        return {(tp.topic, tp.partition): int(off) for tp, off in ends.items()
                if off is not None}

    async def beginning_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        client = await self._client()
        starts = await client.beginning_offsets([TopicPartition(tp[0], tp[1]) for tp in tps])
        return {(tp.topic, tp.partition): int(off) for tp, off in starts.items()
                if off is not None}

    async def close(self) -> None:
        async with self._lock:
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
