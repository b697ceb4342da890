"""Send a batch of records and wait until Kafka has them all (acks=all).

The agent writes a lead's new state only after its outputs are delivered. A crash before
that replays the inputs and sends the same outputs again, with the same ids; a crash after
it finds the inputs already seen. Either way nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("leadflow.delivery")


class Send:
    """One record to send: topic name, key, value, optional explicit partition."""

    __slots__ = ("key", "partition", "topic", "value")

    def __init__(self, topic: str, key: bytes | None, value: bytes,
                 partition: int | None = None) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.partition = partition


async def deliver_all(producer: Any, sends: Sequence[Send], *, backoff: float = 0.5,
                      max_backoff: float = 10.0) -> None:
    """Send every record; retry the failed ones until all are acknowledged.

    Never gives up by itself: a batch that cannot be delivered must not be acknowledged,
    so the caller keeps waiting (and alerting) until the broker is back or it is stopped.
    """
    pending = list(sends)
    delay = backoff
    while pending:
        futures = [
            await producer.send(s.topic, s.key, s.value, s.partition, None, None)
            for s in pending
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = [s for s, r in zip(pending, results, strict=True) if isinstance(r, BaseException)]
        if not failed:
            return
        first = next(r for r in results if isinstance(r, BaseException))
        log.warning("delivery failed for %d of %d records (%s); retrying in %.1fs",
                    len(failed), len(pending), type(first).__name__, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff)
        pending = failed
