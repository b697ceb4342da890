"""Which partition a table write lands in.

Faust picks the store partition and the changelog partition of a table write from its
"current event". A batch is processed after ``take_events``, so that would be the batch's
last event for every write; each lead's write must land on the partition of the record
that carried it (or, for an SLA deadline, of the lead's partition).
"""

from __future__ import annotations

from typing import Any

from streams.engine import faust_private


class PartitionRef:
    """Stands in for a Faust event of ``topic``/``partition`` where there is none (an SLA
    deadline firing with no record of the partition in the batch): Faust's stores read only
    ``event.message.partition`` (and the topic, for logs)."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, topic: str, partition: int) -> None:
        self.message = _Message(topic, partition)


class _Message:
    __slots__ = ("partition", "topic")

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition


class at_event:
    """Make ``event`` Faust's current event while touching tables. (A class, not a
    generator: it runs for every lead.)"""

    __slots__ = ("_event", "_token")

    def __init__(self, event: Any) -> None:
        self._event = event

    def __enter__(self) -> None:
        self._token = faust_private.set_current_event(self._event)

    def __exit__(self, *exc: object) -> None:
        faust_private.reset_current_event(self._token)
