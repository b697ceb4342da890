"""Replay a history through the domain core, exactly as the worker would with
``LEADFLOW_SLA_CLOCK=event``: the same ``step`` per record, and SLA ``tick``s in event time
(before applying a record, every lead whose ``next_deadline`` is at or before the record's
time is ticked, from a heap of deadlines)."""

from __future__ import annotations

import heapq
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


@dataclass
class Replay:
    policy: Policy
    outputs: list[Output] = field(default_factory=list)
    states: dict[str, LeadState] = field(default_factory=dict)
    records: int = 0
    ticks: int = 0
    seconds: float = 0.0
    end_ms: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("inf")


def replay(inputs: list[LeadEvent | SalesOutcome], policy: Policy) -> Replay:
    """``inputs`` sorted by occurred_at (``History.sort``)."""
    result = Replay(policy)
    states = result.states
    outputs = result.outputs
    heap: list[tuple[int, str]] = []
    push, pop = heapq.heappush, heapq.heappop
    ticks = 0
    t0 = time.perf_counter()
    for m in inputs:
        t = m.occurred_at
        while heap and heap[0][0] <= t:
            due, lid = pop(heap)
            st = states[lid]
            if next_deadline(st) != due:
                continue  # stale: the deadline moved or closed since it was pushed
            st, outs = tick(st, policy, t, inplace=True)
            ticks += 1
            states[lid] = st
            outputs.extend(outs)
            nd = next_deadline(st)
            if nd is not None:
                push(heap, (nd, lid))
        lid = m.lead_id
        old = states.get(lid)
        old_deadline = None if old is None else next_deadline(old)
        # In place: the replay owns its states, and the copy is a step's largest cost.
        st, outs = step(old, m, policy, t, inplace=True)
        states[lid] = st
        if outs:
            outputs.extend(outs)
        nd = next_deadline(st)
        if nd is not None and nd != old_deadline:
            push(heap, (nd, lid))
    result.seconds = time.perf_counter() - t0
    result.records = len(inputs)
    result.ticks = ticks
    result.end_ms = inputs[-1].occurred_at if inputs else 0
    return result
