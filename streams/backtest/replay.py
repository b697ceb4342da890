"""Replay a history through the domain core, exactly as the worker would with
``LEADFLOW_SLA_CLOCK=event``: the same ``step`` per record, and SLA ``tick``s in event time
(before applying a record, every lead whose ``next_deadline`` is at or before the record's
time is ticked, from a heap of deadlines). Outputs come without ``reasons`` (``explain=False``):
the report never reads them, and they are the costliest part of an output.

Leads are independent except for the clock that drives ticks, so a replay can be split into
shards of leads (``shard_of``): a shard steps only its own leads' records but ticks at the
times of *all* records, so each lead sees exactly what it sees in a single replay. Every
output gets an order ``Key`` (where it falls in the single replay's output sequence), which
lets the report merge shards exactly.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import compress

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

# (record index, 1, 0, "") for a step's outputs; (index of the record the tick comes before,
# 0, deadline, lead) for a tick's: ordered as a single replay emits them.
Key = tuple[int, int, int, str]


def shard_of(lead_id: str, shards: int) -> int:
    """A lead's shard. Any split of the leads gives the same results; Python's string hash
    is the cheapest, and forked workers share the parent's hash seed (the split is made
    once, in the parent, anyway)."""
    return hash(lead_id) % shards


@dataclass
class Timeline:
    """What every shard needs of the whole history, computed once before forking: the
    records' times, and which records each shard steps (so a shard touches only its own
    records' objects, and forked memory stays shared)."""

    times: list[int]
    rows: list[list[int]]  # per shard: indices of its records, in order

    @classmethod
    def of(cls, inputs: list[LeadEvent | SalesOutcome], shards: int) -> Timeline:
        times = [m.occurred_at for m in inputs]
        if shards == 1:
            return cls(times, [list(range(len(inputs)))])
        of = [shard_of(m.lead_id, shards) for m in inputs]
        return cls(times, [list(compress(range(len(of)), [k == x for x in of]))
                           for k in range(shards)])


@dataclass
class Replay:
    policy: Policy
    outputs: list[Output] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)  # one per output
    states: dict[str, LeadState] = field(default_factory=dict)
    first_seen: dict[str, int] = field(default_factory=dict)  # lead -> its first record index
    records: int = 0  # records of the whole history (every shard ticks on all of them)
    stepped: int = 0  # records of this shard's leads
    ticks: int = 0
    seconds: float = 0.0
    end_ms: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("inf")


def replay(inputs: list[LeadEvent | SalesOutcome], policy: Policy, shard: int = 0,
           shards: int = 1, timeline: Timeline | None = None) -> Replay:
    """``inputs`` sorted by occurred_at (``History.sort``); only the leads of ``shard``
    (``timeline``: ``Timeline.of(inputs, shards)``, made here if not given)."""
    t0 = time.perf_counter()
    if timeline is None:
        timeline = Timeline.of(inputs, shards)
    result = Replay(policy)
    states = result.states
    first_seen = result.first_seen
    outputs = result.outputs
    keys = result.keys
    times = timeline.times
    n = len(times)
    # heap of (deadline, lead, index of the record whose step set it): a tick comes before
    # the first later record at or after the deadline, at that record's time.
    heap: list[tuple[int, str, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    ticks = 0

    def run_ticks(upto: int) -> None:
        nonlocal ticks
        while heap and heap[0][0] <= upto:
            due, lid, p = pop(heap)
            st = states[lid]
            if next_deadline(st) != due:
                continue  # stale: the deadline moved or closed since it was pushed
            j = max(bisect_left(times, due), p + 1)
            if j >= n:
                continue  # no record after it: the replay ends first
            st, outs = tick(st, policy, times[j], inplace=True, explain=False)
            ticks += 1
            states[lid] = st
            if outs:
                outputs.extend(outs)
                keys.extend([(j, 0, due, lid)] * len(outs))
            nd = next_deadline(st)
            if nd is not None:
                push(heap, (nd, lid, j - 1))

    rows = timeline.rows[shard]
    for i in rows:
        m = inputs[i]
        t = times[i]
        if heap and heap[0][0] <= t:
            run_ticks(t)
        lid = m.lead_id
        old = states.get(lid)
        # In place: the replay owns its states, and the copy is a step's largest cost
        # (an in-place step returns the state it was given).
        if old is None:
            first_seen[lid] = i
            old_deadline = None
            st, outs = step(old, m, policy, t, inplace=True, explain=False)
            states[lid] = st
        else:
            old_deadline = next_deadline(old)
            st, outs = step(old, m, policy, t, inplace=True, explain=False)
        if outs:
            outputs.extend(outs)
            keys.extend([(i, 1, 0, "")] * len(outs))
        nd = next_deadline(st)
        if nd is not None and nd != old_deadline:
            push(heap, (nd, lid, i))
    if n:
        run_ticks(times[-1])  # deadlines that other shards' later records reach
    result.seconds = time.perf_counter() - t0
    result.records = n
    result.stepped = len(rows)
    result.ticks = ticks
    result.end_ms = times[-1] if times else 0
    return result
