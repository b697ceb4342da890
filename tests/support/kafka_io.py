"""Produce leadflow inputs and read its outputs on the real broker, Avro-encoded."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.codecs import default_codecs
from streams.settings import Settings

HOUR = 3_600_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def lead_event(event_id: str, lead_id: str, type_: str, occurred_at: int, *,
               attributes: dict[str, str] | None = None, campaign_id: str | None = None,
               asset_id: str | None = None, rep_id: str | None = None,
               source: str = "test") -> dict[str, Any]:
    return {"event_id": event_id, "lead_id": lead_id, "type": type_,
            "occurred_at": occurred_at, "source": source, "campaign_id": campaign_id,
            "asset_id": asset_id, "rep_id": rep_id, "attributes": attributes or {}}


def outcome(event_id: str, lead_id: str, type_: str, occurred_at: int, *,
            rep_id: str | None = "rep-1", reason: str | None = None,
            amount: float | None = None) -> dict[str, Any]:
    return {"event_id": event_id, "lead_id": lead_id, "type": type_,
            "occurred_at": occurred_at, "rep_id": rep_id, "reason": reason, "amount": amount}


def known_partitions(consumer: KafkaConsumer, topic: str) -> set[int]:
    """The topic's partitions; a fresh client may not know them yet, and an empty answer
    would read as "no lag" and let a test move on too early."""
    for _ in range(100):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        time.sleep(0.1)
    raise AssertionError(f"no partitions known for {topic}")


class Io:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codecs = default_codecs()
        self.producer = KafkaProducer(bootstrap_servers=settings.broker_hosts, acks="all",
                                      linger_ms=5)

    def send_events(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            self.send_raw("events", r["lead_id"].encode(), self.codecs.encode("LeadEvent", r))
        self.producer.flush()

    def send_outcomes(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            self.send_raw("outcomes", r["lead_id"].encode(),
                          self.codecs.encode("SalesOutcome", r))
        self.producer.flush()

    def send_raw(self, logical: str, key: bytes | None, value: bytes | None) -> None:
        self.producer.send(self.settings.topic(logical), key=key, value=value)

    def flush(self) -> None:
        self.producer.flush()

    def read(self, logical: str, kind: str, *, until: int | None = None,
             timeout: float = 30.0, settle: float = 0.0) -> list[dict[str, Any]]:
        """Every record on an output topic, decoded, from the beginning.

        Reads until `until` records are seen (or the timeout), then for `settle` seconds
        more to catch anything extra (duplicates)."""
        topic = self.settings.topic(logical)
        consumer = KafkaConsumer(bootstrap_servers=self.settings.broker_hosts,
                                 enable_auto_commit=False, consumer_timeout_ms=500)
        parts = [TopicPartition(topic, p) for p in known_partitions(consumer, topic)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < deadline:
            for msg in consumer:
                out.append(self.codecs.decode(kind, msg.value))
            if until is not None and len(out) >= until:
                settled_at = settled_at or time.monotonic() + settle
                if time.monotonic() >= settled_at:
                    break
            elif until is None and time.monotonic() >= deadline - timeout + settle:
                break
        consumer.close()
        return out

    def close(self) -> None:
        self.producer.close()
