"""Offline replay through the same processor the worker runs, and the comparisons the
reliability tests make between it and what the live pipeline wrote to Kafka."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.codecs import default_codecs
from streams.domain import LeadState, decode_state, load_policy
from streams.engine.memory import Record, replay
from streams.paths import DEFAULT_POLICY
from streams.processor import LeadProcessor
from streams.settings import Settings
from streams.tables import is_lead_key
from tests.support.kafka_io import known_partitions

OUTPUT_KINDS = {"transitions": ("StageTransition", "transition_id"),
                "qualified": ("QualifiedLead", "handoff_id"),
                "feedback": ("MarketingFeedback", "feedback_id")}


def offline(records: list[tuple[str, dict[str, Any]]], now: int, partitions: int = 2
            ) -> tuple[dict[str, dict[str, Any]], dict[str, LeadState]]:
    """(output id -> record, lead id -> final state): the time-ordered replay of the input
    (contract 1b), by the engine's own runner over in-memory ports, each record on the
    partition Kafka's default partitioner gives its key, in send order per topic."""
    codecs = default_codecs()
    proc = LeadProcessor(load_policy(DEFAULT_POLICY), codecs, {})
    inputs = [Record(logical, rec["lead_id"].encode(),
                     codecs.encode("LeadEvent" if logical == "events" else "SalesOutcome", rec))
              for logical, rec in records]
    store = replay(inputs, proc, partitions, now)
    outputs: dict[str, dict[str, Any]] = {}
    for out in store.outbound:
        if out.logical in OUTPUT_KINDS:
            outputs[out.record[OUTPUT_KINDS[out.logical][1]]] = out.record
    return outputs, store.states


def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    consumer = KafkaConsumer(bootstrap_servers=settings.broker_hosts, enable_auto_commit=False,
                             consumer_timeout_ms=3000, max_partition_fetch_bytes=8 << 20)
    parts = [TopicPartition(topic, p) for p in known_partitions(consumer, topic)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    out = []
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for batch in consumer.poll(timeout_ms=1000, max_records=10000).values():
            out.extend((m.key, m.value) for m in batch)
    consumer.close()
    return out


def live_outputs(settings: Settings) -> tuple[dict[str, dict[str, Any]], Counter[str], list[str]]:
    """(output id -> record, id -> copies, ids whose copies differ)."""
    codecs = default_codecs()
    outputs: dict[str, dict[str, Any]] = {}
    copies: Counter[str] = Counter()
    differing: list[str] = []
    for logical, (kind, id_field) in OUTPUT_KINDS.items():
        for _, value in read_topic(settings, settings.topic(logical)):
            assert value is not None
            rec = codecs.decode(kind, value)
            rid = rec[id_field]
            copies[rid] += 1
            if rid in outputs and outputs[rid] != rec:
                differing.append(rid)
            outputs.setdefault(rid, rec)
    return outputs, copies, differing


def live_states(settings: Settings) -> dict[str, LeadState]:
    """Final state per lead, read back from the leads table's changelog topic."""
    states: dict[str, LeadState] = {}
    for key, value in read_topic(settings, f"{settings.app_id}-leads-changelog"):
        if key is None or not is_lead_key(key):
            continue
        if value is None:
            states.pop(key.decode(), None)
        else:
            states[key.decode()] = decode_state(value)
    return states


def count_dead_letters(settings: Settings) -> int:
    return len(read_topic(settings, settings.topic("dead_letter")))
