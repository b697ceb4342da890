"""Offline replay through the same processor the worker runs, and the comparisons the
reliability tests make between it and what the live pipeline wrote to Kafka."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.codecs import default_codecs
from streams.domain import LeadState, decode_state, load_policy
from streams.domain.accounts import AccountState
from streams.engine.memory import Record, replay, replay_accounts
from streams.engine.runner import Progress
from streams.paths import DEFAULT_POLICY
from streams.processor import LeadProcessor
from streams.settings import Settings
from streams.tables import PROGRESS_KEY, is_lead_key
from tests.support.kafka_io import known_partitions
from tests.support.workload import encode_input

OUTPUT_KINDS = {"transitions": ("StageTransition", "transition_id"),
                "qualified": ("QualifiedLead", "handoff_id"),
                "feedback": ("MarketingFeedback", "feedback_id")}


DeadLetterKey = tuple[str, int, int, str]  # (topic, partition, offset, error_type)


@dataclass
class Expected:
    """What the offline replay says the worker must produce."""

    outputs: dict[str, dict[str, Any]]  # output id -> record
    states: dict[str, LeadState]  # lead id -> final state
    dead_letters: Counter[DeadLetterKey]
    progress: dict[int, Progress]  # partition -> stream time and offsets its states include
    # with an accounts policy: qualification id -> AccountQualified, account id -> state
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    account_states: dict[str, AccountState] = field(default_factory=dict)


def offline(records: list[tuple[str, dict[str, Any]]], now: int, partitions: int = 2,
            topics: dict[str, str] | None = None, policy: Path = DEFAULT_POLICY
            ) -> Expected:
    """The time-ordered replay of the input (contract 1b), by the engine's own runner over
    in-memory ports, each record on the partition Kafka's default partitioner gives its
    key, in send order per topic. ``topics``: logical input -> the live topic name, so dead
    letters name the same topics."""
    codecs = default_codecs()
    loaded = load_policy(policy)
    proc = LeadProcessor(loaded, codecs, {})
    inputs = [Record(logical, *encode_input(codecs, logical, rec)) for logical, rec in records]
    store = replay(inputs, proc, partitions, now, topics)
    accounts: dict[str, dict[str, Any]] = {}
    account_states: dict[str, AccountState] = {}
    if loaded.accounts is not None:  # the account side over the lead replay's signals
        acc = replay_accounts(store.outbound, loaded, codecs, partitions, now)
        accounts = {o.record["qualification_id"]: o.record for o in acc.outbound
                    if o.kind == "AccountQualified"}
        account_states = acc.states
    outputs: dict[str, dict[str, Any]] = {}
    letters: Counter[DeadLetterKey] = Counter()
    for out in store.outbound:
        if out.logical in OUTPUT_KINDS:
            outputs[out.record[OUTPUT_KINDS[out.logical][1]]] = out.record
        elif out.logical == "dead_letter":
            letters[dead_letter_key(out.record)] += 1
    return Expected(outputs, store.states, letters, store.progress, accounts, account_states)


def dead_letter_key(letter: dict[str, Any]) -> DeadLetterKey:
    return (letter["topic"], letter["partition"], letter["offset"], letter["error_type"])


def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    return [(key, value) for _, key, value in read_partitions(settings, topic)]


def read_partitions(settings: Settings, topic: str
                    ) -> list[tuple[int, bytes | None, bytes | None]]:
    """Every record of the topic as (partition, key, value), each partition in order."""
    consumer = KafkaConsumer(bootstrap_servers=settings.broker_hosts, enable_auto_commit=False,
                             consumer_timeout_ms=3000, max_partition_fetch_bytes=8 << 20)
    parts = [TopicPartition(topic, p) for p in known_partitions(consumer, topic)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    out = []
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for batch in consumer.poll(timeout_ms=1000, max_records=10000).values():
            out.extend((m.partition, m.key, m.value) for m in batch)
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


def live_dead_letters(settings: Settings) -> Counter[DeadLetterKey]:
    codecs = default_codecs()
    return Counter(dead_letter_key(codecs.decode("DeadLetter", value))
                   for _, value in read_topic(settings, settings.topic("dead_letter"))
                   if value is not None)


def live_progress(settings: Settings) -> dict[int, Progress]:
    """Each partition's last progress record (stream time, offsets its states include),
    read back from the leads table's changelog."""
    found: dict[int, Progress] = {}
    for partition, key, value in read_partitions(settings, f"{settings.app_id}-leads-changelog"):
        if key == PROGRESS_KEY and value is not None:
            found[partition] = Progress.decode(value)
    return found


def live_accounts(settings: Settings) -> tuple[dict[str, dict[str, Any]], Counter[str],
                                               list[str]]:
    """sales.qualified-accounts: (qualification id -> record, id -> copies, ids whose
    copies differ)."""
    codecs = default_codecs()
    out: dict[str, dict[str, Any]] = {}
    copies: Counter[str] = Counter()
    differing: list[str] = []
    for key, value in read_topic(settings, settings.topic("qualified_accounts")):
        assert value is not None
        rec = codecs.decode("AccountQualified", value)
        assert key == rec["account_id"].encode()
        rid = rec["qualification_id"]
        copies[rid] += 1
        if rid in out and out[rid] != rec:
            differing.append(rid)
        out.setdefault(rid, rec)
    return out, copies, differing


def live_account_states(settings: Settings) -> dict[str, AccountState]:
    """Final state per account, from the accounts table's changelog."""
    states: dict[str, AccountState] = {}
    for key, value in read_topic(settings, f"{settings.app_id}-accounts-changelog"):
        if key is None:
            continue
        if value is None:
            states.pop(key.decode(), None)
        else:
            states[key.decode()] = AccountState.decode(value)
    return states
