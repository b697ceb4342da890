"""The batch runner on in-memory ports: the offline reference and the runner's test backend.

``replay`` drives the very runner the worker runs, over records as Kafka would hold them
(per topic partition, in offset order), reading every input as caught up: the
time-ordered replay the live worker must equal record for record (contract 1b).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.partitioner.default import murmur2

from streams.codecs import AvroCodecs
from streams.domain import LeadState, Policy
from streams.domain.account_sla import next_deadline
from streams.domain.accounts import AccountState
from streams.engine.accounts import LOGICAL as SIGNALS
from streams.engine.accounts import AccountResult, AccountRunner, AccountSignals
from streams.engine.runner import TP, BatchRunner, Progress, RunnerConfig
from streams.engine.shadow import ShadowResult, ShadowRunner
from streams.processor import BatchResult, Inbound, LeadProcessor, Outbound


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner for a keyed record (murmur2, as the Java client,
    kafka-python and aiokafka compute it)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass
class MemoryConsumer:
    """Offsets as a consumer sees them; ``ends`` are the high watermarks its fetches saw,
    ``broker_ends`` where the broker's logs end now when that is further (a record
    written after the last fetch of its partition)."""

    assigned: set[TP] = field(default_factory=set)
    ends: dict[TP, int] = field(default_factory=dict)
    broker_ends: dict[TP, int] = field(default_factory=dict)
    end_queries: int = 0
    commits: dict[TP, int] = field(default_factory=dict)
    gen: int = 1
    seeks: list[dict[TP, int]] = field(default_factory=list)
    failing_start_queries: int = 0  # the next n log start queries fail (broker unreachable)

    def generation(self) -> int:
        return self.gen

    def assignment(self) -> Iterable[TP]:
        return set(self.assigned)

    def committed(self, tp: TP) -> int | None:
        return self.commits.get(tp)

    def highwater(self, tp: TP) -> int | None:
        return self.ends.get(tp)

    async def earliest(self, tp: TP) -> int:
        return 0

    async def earliest_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        if self.failing_start_queries > 0:
            self.failing_start_queries -= 1
            raise TimeoutError("no answer from the broker")
        return {tp: 0 for tp in tps}

    async def end_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        self.end_queries += 1
        return {tp: self.broker_ends.get(tp, self.ends.get(tp, 0)) for tp in tps}

    async def seek(self, targets: dict[TP, int]) -> None:
        self.seeks.append(dict(targets))

    def mark_done(self, offsets: dict[TP, int], generation: int) -> None:
        if generation == self.gen:
            for tp, offset in offsets.items():
                self.commits[tp] = max(offset, self.commits.get(tp, 0))


@dataclass
class MemoryStore:
    """Tables and output topics as dicts and lists."""

    states: dict[str, LeadState] = field(default_factory=dict)
    deadlines: dict[int, dict[str, int]] = field(default_factory=dict)  # partition -> ...
    progress: dict[int, Progress] = field(default_factory=dict)
    outbound: list[Outbound] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)  # domain outputs, in order
    crash_before_states: bool = False  # tests: a SIGKILL between the deadlines and states

    def load(self, lead_id: str, rec: Inbound) -> LeadState | None:
        return self.states.get(lead_id)

    def timers(self, partitions: Sequence[int]) -> dict[int, tuple[Progress, dict[str, int]]]:
        return {p: (self.progress.get(p) or Progress(), dict(self.deadlines.get(p, {})))
                for p in partitions}

    async def save(self, result: BatchResult, progress: dict[int, Progress]) -> None:
        self.outbound.extend(result.outbound)
        self.outputs.extend(out for out, _ in result.outputs)
        # as the worker writes them: outputs and deadlines, then states and progress
        for lead_id, (_, rec) in result.states.items():
            due = result.deadlines.get(lead_id)
            timers = self.deadlines.setdefault(rec.partition, {})
            if due is None:
                timers.pop(lead_id, None)
            else:
                timers[lead_id] = due
        if self.crash_before_states:
            raise RuntimeError("crash between the deadlines and the states")
        for lead_id, (state, _) in result.states.items():
            self.states[lead_id] = state
        for p, where in progress.items():
            self.progress[p] = Progress(where.stream_time, dict(where.offsets))


@dataclass
class MemoryShadowStore(MemoryStore):
    """The shadow's tables; ``outbound`` holds only its ShadowDiff records."""

    diffs: list[Any] = field(default_factory=list)  # ShadowDiff, in order

    async def save(self, result: ShadowResult, progress: dict[int, Progress]  # type: ignore[override]
                   ) -> None:
        await super().save(BatchResult(states=result.batch.states,
                                       deadlines=result.batch.deadlines,
                                       outputs=result.batch.outputs), progress)
        self.outbound.extend(result.outbound)
        self.diffs.extend(result.diffs)


@dataclass(frozen=True)
class Record:
    """An input record as Kafka holds it."""

    source: str  # "events" | "outcomes"
    key: bytes | None
    value: bytes | None


def replay(records: Sequence[Record], processor: LeadProcessor, partitions: int, now: int,
           topics: dict[str, str] | None = None, batch_size: int | None = None
           ) -> MemoryStore:
    """Every record on its partition (by key, as the producer put it; unkeyed ones on
    partition 0), in send order per input partition; the whole history read as a backlog
    with every input caught up, event clock. Returns the tables and outputs.
    ``batch_size``: hand the runner the records in batches of that many (tests: other
    batch boundaries, hence other places for the account marks)."""
    return replay_with_shadow(records, processor, None, partitions, now, topics,
                              batch_size)[0]


def replay_with_shadow(records: Sequence[Record], processor: LeadProcessor,
                       shadow: LeadProcessor | None, partitions: int, now: int,
                       topics: dict[str, str] | None = None, batch_size: int | None = None
                       ) -> tuple[MemoryStore, MemoryShadowStore]:
    """``replay`` with a shadow policy beside the live one, as the worker runs it with
    ``LEADFLOW_SHADOW_POLICY``: (live tables and outputs, the shadow's tables and
    ShadowDiff records). The offline reference of the live shadow."""
    topics = topics or {"events": "events", "outcomes": "outcomes"}
    consumer = MemoryConsumer()
    store = MemoryStore()
    shadow_store = MemoryShadowStore()
    runner = BatchRunner(processor, consumer, store,
                         RunnerConfig(topics=topics, sla_clock="event"),
                         wall_clock=lambda: now,
                         shadow=None if shadow is None else ShadowRunner(
                             shadow, processor.policy, shadow_store),
                         accounts=AccountSignals.for_policy(processor.policy, partitions))
    inbound: list[Inbound] = []
    for r in records:
        p = 0 if r.key is None else partition_of(r.key, partitions)
        tp = (topics[r.source], p)
        offset = consumer.ends.get(tp, 0)
        consumer.ends[tp] = offset + 1
        inbound.append(Inbound(r.source, tp[0], p, offset, r.key, r.value))
    consumer.assigned = {(topics[name], p) for name in topics for p in range(partitions)}
    for tp in consumer.assigned:
        consumer.ends.setdefault(tp, 0)

    async def run() -> None:
        step = batch_size or len(inbound) or 1  # default: all of it at once
        for i in range(0, max(len(inbound), 1), step):
            await runner.run(inbound[i:i + step])

    asyncio.run(run())
    return store, shadow_store


@dataclass
class MemoryAccountStore:
    """The ``accounts`` table and ``sales.qualified-accounts`` as a dict and a list."""

    states: dict[str, AccountState] = field(default_factory=dict)
    outbound: list[Outbound] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)  # domain outputs, in order
    partitions: dict[str, int] = field(default_factory=dict)  # account -> its partition
    fail_after_outputs: bool = False  # tests: "crash" between the outputs and the states

    def load(self, account_id: str, rec: Inbound) -> AccountState | None:
        return self.states.get(account_id)

    def timers(self, partition: int) -> dict[str, int]:
        out = {}
        for account_id, state in self.states.items():
            due = next_deadline(state)
            if due is not None and self.partitions.get(account_id) == partition:
                out[account_id] = due
        return out

    async def save(self, result: AccountResult) -> None:
        self.outbound.extend(result.outbound)
        if self.fail_after_outputs:
            raise RuntimeError("crash between the outputs and the states")
        self.outputs.extend(out for out, _ in result.outputs)
        for account_id, (state, rec) in result.states.items():
            self.states[account_id] = state
            self.partitions[account_id] = rec.partition


def signal_partitions(outbound: Sequence[Outbound], partitions: int,
                      topic: str = "account-signals") -> dict[int, list[Inbound]]:
    """The account signals among a lead replay's outbound records, as the repartition
    topic holds them: per partition (by key), in the order they were sent."""
    out: dict[int, list[Inbound]] = {}
    for o in outbound:
        if o.logical != SIGNALS:
            continue
        if o.partition is not None:  # a lead partition's mark
            p = o.partition
        else:
            assert o.key is not None
            p = partition_of(o.key, partitions)
        part = out.setdefault(p, [])
        part.append(Inbound(SIGNALS, topic, p, len(part), o.key, o.value))
    return out


def replay_accounts(outbound: Sequence[Outbound], policy: Policy, codecs: AvroCodecs,
                    partitions: int, now: int, store: MemoryAccountStore | None = None
                    ) -> MemoryAccountStore:
    """The account agent over the signals of a lead replay (``replay(...).outbound``):
    the offline reference of ``sales.qualified-accounts`` and the ``accounts`` table."""
    store = store or MemoryAccountStore()
    # every lead partition has said it is caught up: nothing is waited for
    runner = AccountRunner(policy, codecs, store, wall_clock=lambda: now,
                           sources=partitions, max_idle=0.0)

    async def run() -> None:
        for _, records in sorted(signal_partitions(outbound, partitions).items()):
            await runner.run(records)

    asyncio.run(run())
    return store
