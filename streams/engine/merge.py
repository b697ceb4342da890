"""One history per partition: a partition's inputs and its SLA deadlines merged in event time.

Pure: no Kafka, no asyncio, no clock reads. The live worker (``streams.engine.runner``) and
the offline replay (``leadflow backtest``, the tests' reference) drive the same class, so
they order a partition's records and deadlines the same way (contract section 1b; after
Kafka Streams' ``PartitionGroup``/``RecordQueue`` and ``max.task.idle.ms``).

- Each input (``leads.events``, ``sales.outcomes``) of the partition has a queue in offset
  order. The next record is the head with the smallest ``(occurred_at, input rank, offset)``
  (events rank before outcomes at the same time).
- A head is taken only when every other input either has a buffered record or is caught up
  (read up to its end offset). An input that lags and delivers nothing is waited for at
  most ``max_idle`` seconds (anything it delivers starts the wait over); then the merge
  goes on without it until it delivers again, and the wait is counted once
  (``idle_waits``).
- Stream time is the largest event time processed. With the event clock, every open SLA
  deadline earlier than the next record's time fires first, inline, with ``now`` = the
  deadline (``due_before``). With the wall clock, deadlines fire only when the partition
  is caught up (``due_by_wall``).
- A record that could not be decoded has no event time: it sorts first (``UNTIMED``) and
  never moves stream time.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

UNTIMED = -1  # event time of a record that could not be decoded


class Item:
    """A buffered input record: its order key and what the processor needs of it."""

    __slots__ = ("error", "lead_id", "model", "offset", "rank", "rec", "t")

    def __init__(self, t: int, rank: int, offset: int, rec: Any, lead_id: str | None = None,
                 model: Any = None, error: BaseException | None = None) -> None:
        self.t = t
        self.rank = rank
        self.offset = offset
        self.rec = rec
        self.lead_id = lead_id
        self.model = model
        self.error = error


class PartitionMerge:
    def __init__(self, inputs: Sequence[str], stream_time: int = 0,
                 max_idle: float = 2.0) -> None:
        self.inputs = tuple(inputs)
        self.queues: dict[str, deque[Item]] = {name: deque() for name in self.inputs}
        self.stream_time = stream_time
        self.max_idle = max_idle
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}  # lead -> its current open deadline
        self._idle_since: dict[str, float] = {}  # input -> when waiting for it began
        self._enforced: set[str] = set()  # inputs the merge stopped waiting for
        self.idle_waits: Counter[str] = Counter()  # waits given up, per input (metrics)
        # per input, the offset after the last record applied (kept by the runner)
        self.applied: dict[str, int] = {}

    def rank(self, name: str) -> int:
        return self.inputs.index(name)

    # -- records -------------------------------------------------------------------------

    def push(self, name: str, item: Item) -> None:
        self.queues[name].append(item)
        self.delivered(name)

    def delivered(self, name: str) -> None:
        """``name`` delivered records (appended to its queue directly, before the next
        ``pop_ready``/``ready``): a wait for it is over, and waits again when it is empty."""
        self._idle_since.pop(name, None)
        self._enforced.discard(name)

    def touch(self, name: str, now: float) -> None:
        """``name`` delivered something that is not for the queue (a record read again
        after a seek): it is not idle, so a wait for it starts over."""
        if name in self._idle_since:
            self._idle_since[name] = now

    def waiting(self) -> frozenset[str]:
        """The inputs whose wait clock runs."""
        return frozenset(self._idle_since)

    def forget_wait(self, name: str) -> None:
        """A stop for ``name`` was not a wait (it was not known to have unread records)."""
        if name not in self._enforced:
            self._idle_since.pop(name, None)

    def buffered(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def pop_ready(self, caught_up: Callable[[str], bool], now: float = 0.0) -> Item | None:
        """The next record in event-time order, or None when the partition must wait (or has
        nothing). ``caught_up(input)``: the input has no unread record; ``now``: a monotonic
        clock in seconds, for the bounded wait."""
        best: Item | None = None
        best_name = ""
        for name, queue in self.queues.items():
            if queue:
                head = queue[0]
                if best is None or head.t < best.t or (
                        head.t == best.t and (head.rank, head.offset) < (best.rank,
                                                                         best.offset)):
                    best, best_name = head, name
        if best is None:
            return None
        for name, queue in self.queues.items():
            if queue or name in self._enforced or caught_up(name):
                continue
            since = self._idle_since.setdefault(name, now)
            if now - since < self.max_idle:
                return None  # more of this input exists but is not here yet: wait
            self._enforced.add(name)
            self.idle_waits[name] += 1
        self.queues[best_name].popleft()
        if best.t > self.stream_time:
            self.stream_time = best.t
        return best

    def ready(self, caught_up: Callable[[str], bool], now: float = 0.0) -> Iterator[Item]:
        """``pop_ready`` until it gives None, as one iterator: the same records in the same
        order, the same waits and counts. The caller may schedule and fire deadlines
        between records, but must not push: then an empty input stays empty, and once it
        lets records pass (caught up, or no longer waited for) it does so until the end.
        (One call per record and a scan of every head was a visible share of the worker's
        CPU.)"""
        if len(self.queues) != 2:
            while (item := self.pop_ready(caught_up, now)) is not None:
                yield item
            return
        (name_a, qa), (name_b, qb) = self.queues.items()
        a_passes = b_passes = False  # an empty input known not to hold the other back
        while True:
            if qa and qb:
                a, b = qa[0], qb[0]
                if b.t < a.t or (b.t == a.t and (b.rank, b.offset) < (a.rank, a.offset)):
                    item = qb.popleft()
                else:  # (pop_ready's tie rule: the first input's head unless b's is less)
                    item = qa.popleft()
            elif qa:
                if not b_passes:
                    b_passes = self._passes(name_b, caught_up, now)
                    if not b_passes:
                        return
                item = qa.popleft()
            elif qb:
                if not a_passes:
                    a_passes = self._passes(name_a, caught_up, now)
                    if not a_passes:
                        return
                item = qb.popleft()
            else:
                return
            if item.t > self.stream_time:
                self.stream_time = item.t
            yield item

    def _passes(self, name: str, caught_up: Callable[[str], bool], now: float) -> bool:
        """Whether the empty input ``name`` lets the others' records pass (pop_ready's
        wait, for one input)."""
        if name in self._enforced or caught_up(name):
            return True
        since = self._idle_since.setdefault(name, now)
        if now - since < self.max_idle:
            return False
        self._enforced.add(name)
        self.idle_waits[name] += 1
        return True

    def drop_buffered(self) -> dict[str, int]:
        """Forget every buffered record (a rebalance); returns, per input, the offset of the
        first one dropped (where reading must resume)."""
        first = {name: q[0].offset for name, q in self.queues.items() if q}
        for q in self.queues.values():
            q.clear()
        return first

    # -- deadlines -----------------------------------------------------------------------

    def schedule(self, lead_id: str, due: int | None) -> None:
        """The lead's open SLA deadline is now ``due`` (None: none)."""
        if due is None:
            self._due.pop(lead_id, None)
            return
        if self._due.get(lead_id) != due:
            self._due[lead_id] = due
            heapq.heappush(self._heap, (due, lead_id))

    def open_deadlines(self) -> int:
        return len(self._due)

    def open_deadlines_tagged(self, tag: str) -> int:
        """Open deadlines whose key starts with ``tag`` (a shadow policy's)."""
        return sum(1 for lead in self._due if lead.startswith(tag))

    def _pop_due(self, until: int, inclusive: bool) -> tuple[int, str] | None:
        heap = self._heap
        while heap:
            due, lead = heap[0]
            if due > until or (due == until and not inclusive):
                return None
            heapq.heappop(heap)
            if self._due.get(lead) == due:  # else stale: the deadline moved or closed
                del self._due[lead]
                return due, lead
        return None

    def due_before(self, t: int) -> tuple[int, str] | None:
        """Event clock: the earliest open deadline earlier than ``t`` (the next record's
        time), removed; the caller fires it with now = the deadline and schedules the
        lead's next one. Call until None."""
        return self._pop_due(t, inclusive=False)

    def due_by_wall(self, wall: int, caught_up: Callable[[str], bool]) -> tuple[int, str] | None:
        """Wall clock: the earliest open deadline at or before ``wall``, only when nothing
        is buffered and every input is caught up (no unread record could show a contact
        in time)."""
        if self.buffered() or not all(caught_up(name) for name in self.inputs):
            return None
        return self._pop_due(wall, inclusive=True)
