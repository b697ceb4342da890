"""Replay a history through the domain core exactly as the worker does with
``LEADFLOW_SLA_CLOCK=event`` (contract section 1b).

- Every record goes to the partition the worker reads it from: Kafka's default partitioner
  (murmur2 of the lead id) over ``partitions``. Lead events are the ``leads.events`` input,
  sales outcomes the ``sales.outcomes`` input; each input keeps its file order (the offset
  order the worker would read them in), never re-sorted by time.
- Each partition is one history: the engine's own ``PartitionMerge`` orders its records by
  (occurred_at, input rank events < outcomes, offset) and fires an open SLA deadline inline
  before the first record of *that partition* later than it, with ``now`` = the deadline.
  A deadline after a partition's last record does not fire (the worker is waiting for the
  next record too). Partitions never see each other's records: no global clock.
- An outcome for a lead its partition has never seen is skipped (the worker dead-letters it
  and never creates the lead); a record that fails validation was already dropped by
  ``read_history`` (the worker dead-letters it; it touches no state, no clock).

The records go through the same ``step``/``tick`` as ``streams.processor`` (in place and
with ``explain=False``: the report never reads ``reasons``, the costliest part of an
output). A shard is a set of whole partitions (``partition % shards``), so any split gives
the same per-lead results; every output gets an order ``Key`` (its cause's event time,
partition, sequence in the partition) that does not depend on the split either, which lets
the report merge shards exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from streams.domain import (
    LeadEvent,
    LeadState,
    Output,
    Policy,
    SalesOutcome,
    next_deadline,
    step,
    tick,
)
from streams.engine.memory import partition_of
from streams.engine.merge import Item, PartitionMerge
from streams.engine.runner import INPUTS

# (event time of the record or deadline that caused the output, partition, sequence of
# that record or deadline within its partition): one total order, whatever the shards.
Key = tuple[int, int, int]

_EVENTS, _OUTCOMES = INPUTS  # input names, in the merge's rank order
_EVENTS_RANK, _OUTCOMES_RANK = 0, 1


def _always(_input: str) -> bool:
    """Offline, every input is read to its end: nothing is ever waited for."""
    return True


@dataclass
class Timeline:
    """What every shard needs of the whole history, computed once before forking: each
    partition's records (indices into the inputs, in input order) and the last event time."""

    partitions: int
    rows: list[list[int]]  # per partition: indices of its records, in file order
    end_ms: int

    @classmethod
    def of(cls, inputs: list[LeadEvent | SalesOutcome], partitions: int) -> Timeline:
        rows: list[list[int]] = [[] for _ in range(partitions)]
        where: dict[str, int] = {}  # lead -> partition (murmur2 once per lead)
        for i, m in enumerate(inputs):
            lid = m.lead_id
            p = where.get(lid)
            if p is None:
                p = where[lid] = partition_of(lid.encode(), partitions)
            rows[p].append(i)
        end = max((m.occurred_at for m in inputs), default=0)
        return cls(partitions, rows, end)

    def shard(self, shard: int, shards: int) -> list[int]:
        """The partitions a shard replays."""
        return [p for p in range(self.partitions) if p % shards == shard]


@dataclass
class Replay:
    policy: Policy
    outputs: list[Output] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)  # one per output
    states: dict[str, LeadState] = field(default_factory=dict)
    first_seen: dict[str, Key] = field(default_factory=dict)  # lead -> its first record's key
    records: int = 0  # records of the whole history
    stepped: int = 0  # records of this shard's partitions
    ticks: int = 0
    unknown_outcomes: int = 0  # outcomes for a lead never seen: dead-lettered, skipped
    seconds: float = 0.0
    end_ms: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("inf")


def replay(inputs: list[LeadEvent | SalesOutcome], policy: Policy, shard: int = 0,
           shards: int = 1, timeline: Timeline | None = None, partitions: int = 1
           ) -> Replay:
    """``inputs`` in file order (``read_history``): the partitions of ``shard`` of
    ``shards`` (``timeline``: ``Timeline.of(inputs, partitions)``, made here if not given;
    its partition count wins over ``partitions``)."""
    t0 = time.perf_counter()
    if timeline is None:
        timeline = Timeline.of(inputs, partitions)
    result = Replay(policy)
    stepped = 0
    for p in timeline.shard(shard, shards):
        rows = timeline.rows[p]
        if rows:
            stepped += len(rows)
            _partition(inputs, rows, p, policy, result)
    result.seconds = time.perf_counter() - t0
    result.records = len(inputs)
    result.stepped = stepped
    result.end_ms = timeline.end_ms
    return result


def _partition(inputs: list[LeadEvent | SalesOutcome], rows: list[int], p: int,
               policy: Policy, result: Replay) -> None:
    """One partition's history, as ``BatchRunner._drain`` runs it with the event clock."""
    merge = PartitionMerge(INPUTS)
    push = merge.push
    for i in rows:  # offset = the record's index: file order within each input
        m = inputs[i]
        if type(m) is SalesOutcome:
            push(_OUTCOMES, Item(m.occurred_at, _OUTCOMES_RANK, i, m, m.lead_id, m))
        else:
            push(_EVENTS, Item(m.occurred_at, _EVENTS_RANK, i, m, m.lead_id, m))
    states = result.states
    first_seen = result.first_seen
    outputs = result.outputs
    keys = result.keys
    pop, due_before, schedule = merge.pop_ready, merge.due_before, merge.schedule
    seq = 0
    ticks = unknown = 0
    while (item := pop(_always)) is not None:
        t = item.t
        while (due := due_before(t)) is not None:
            at, due_lead = due
            st, outs = tick(states[due_lead], policy, at, inplace=True, explain=False)
            ticks += 1
            if outs:
                outputs.extend(outs)
                keys.extend([(at, p, seq)] * len(outs))
            seq += 1
            schedule(due_lead, next_deadline(st))
        m = item.model
        lid = m.lead_id
        old = states.get(lid)
        if old is None:
            if type(m) is SalesOutcome:
                unknown += 1  # the worker dead-letters it ("unknown lead")
                continue
            first_seen[lid] = (t, p, seq)
            # In place: the replay owns its states, and the copy is a step's largest cost
            # (an in-place step returns the state it was given).
            st, outs = step(None, m, policy, t, inplace=True, explain=False)
            states[lid] = st
        else:
            st, outs = step(old, m, policy, t, inplace=True, explain=False)
        if outs:
            outputs.extend(outs)
            keys.extend([(t, p, seq)] * len(outs))
        seq += 1
        schedule(lid, next_deadline(st))
    result.ticks += ticks
    result.unknown_outcomes += unknown
