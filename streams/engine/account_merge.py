"""The account side's merge of the lead partitions' signals in event time (contract 1b for
accounts; after Kafka Streams/Flink watermarks).

An account partition receives the signals of every lead partition (source), interleaved as
the lead partitions happened to deliver them. Applying them in arrival order would make
when an account first qualifies (its record's score, contacts, qualified_at) depend on
that interleaving. Instead:

- Each signal carries its source (the lead partition) and ``t``: the source's stream time
  when the lead side applied the record that caused it. A partition's stream time never
  goes back, so each source's signals come in non-decreasing ``t``, and ``t`` is a
  function of the lead partition's history (restored with its states after a restart).
- Each lead partition also sends, after a batch, a **mark** to every account partition:
  its stream time (every later signal from it has ``t`` >= the mark) and whether it had
  read all its inputs (caught up).
- The merge keeps one queue per source and takes the head with the smallest
  ``(t, source, offset)`` only when every other source has a buffered signal or a mark
  that guarantees its next signal sorts after the head. So signals are applied in the
  order of ``(t, source, position in the source)`` whatever the interleaving, the marks'
  positions (the lead batch boundaries) or the account batch boundaries: only the
  waiting differs, never the order.
- A signal re-sent after a lead-side crash (a copy of one already delivered) is not newer
  than what the account holds for its lead (``apply_signal`` ignores it), and the copies
  of one source queue behind the originals, so copies change nothing.
- **Deadlines** (an account's SLA and cold timer, ``streams.domain.account_sla``) are
  items of the same order: deadline ``d`` of an account sorts after every signal with
  ``t <= d`` and before every signal with ``t > d`` (as if it came from a source after all
  others at ``t = d``), so it is taken once every source's next signal is known to sort
  after it (a buffered one, or a mark ``> d``) and the partition's time (the largest mark
  or signal time seen) has passed ``d``. Where a deadline falls among the signals is thus
  the same in the live agent and in the offline replay. The agent keeps the open
  deadlines in the account states and schedules them again after a restart.
- Liveness: a source whose last word is "caught up" and that sent no signal for
  ``max_idle`` seconds is not waited for (as the lead merge stops waiting for an idle
  input). Only then can timing matter: a source that was idle that long and then receives
  records older than what others sent (a live stream with pauses) is applied late.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.domain.accounts import AccountSignal


@dataclass(frozen=True, slots=True)
class Mark:
    source: int
    t: int
    caught_up: bool


@dataclass(frozen=True, slots=True)
class Tagged:
    """A signal as the repartition topic holds it: its source and merge time."""

    source: int
    t: int
    signal: AccountSignal


def encode_signal(source: int, t: int, signal: AccountSignal) -> bytes:
    return b"[%d,%d," % (source, t) + signal.encode() + b"]"


def encode_mark(source: int, t: int, caught_up: bool) -> bytes:
    return json.dumps({"mark": source, "t": t, "caught_up": caught_up},
                      separators=(",", ":")).encode()


def decode_item(raw: bytes) -> Tagged | Mark:
    data = json.loads(raw)
    if isinstance(data, dict):
        return Mark(int(data["mark"]), int(data["t"]), bool(data["caught_up"]))
    if not isinstance(data, list) or len(data) != 3:
        raise ValueError("bad account signal")
    source, t, body = data
    return Tagged(int(source), int(t), AccountSignal.from_list(body))


class Pending:
    __slots__ = ("offset", "payload", "t")

    def __init__(self, t: int, offset: int, payload: Any) -> None:
        self.t = t
        self.offset = offset
        self.payload = payload


class Due:
    """An account's deadline, taken from the merge in its place among the signals."""

    __slots__ = ("account_id", "t")

    def __init__(self, t: int, account_id: str) -> None:
        self.t = t
        self.account_id = account_id


class SignalMerge:
    """One account partition's queues, one per source lead partition. Pure: ``now`` is a
    monotonic clock in seconds, given by the caller."""

    def __init__(self, sources: Iterable[int], max_idle: float) -> None:
        self.sources = set(sources)
        self.max_idle = max_idle
        self.queues: dict[int, deque[Pending]] = {}
        self.marks: dict[int, int] = {}  # source -> its largest mark
        self.idle_since: dict[int, float] = {}  # caught-up sources, no signal since
        self.time = 0  # the largest mark or signal time seen: the partition's stream time
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}  # account -> its open deadline

    def push_signal(self, source: int, t: int, offset: int, payload: Any) -> None:
        self.sources.add(source)
        queue = self.queues.get(source)
        if queue is None:
            queue = self.queues[source] = deque()
        queue.append(Pending(t, offset, payload))
        self.idle_since.pop(source, None)
        if t > self.time:
            self.time = t

    def push_mark(self, mark: Mark, now: float) -> None:
        self.sources.add(mark.source)
        if mark.t > self.marks.get(mark.source, -1):
            self.marks[mark.source] = mark.t
        if mark.t > self.time:
            self.time = mark.t
        if mark.caught_up:
            self.idle_since.setdefault(mark.source, now)  # a repeated mark keeps the start
        else:
            self.idle_since.pop(mark.source, None)

    def buffered(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def first_offset(self) -> int | None:
        """The offset of the first signal not applied yet (where a restart must read)."""
        heads = [q[0].offset for q in self.queues.values() if q]
        return min(heads) if heads else None

    def schedule(self, account_id: str, due: int | None) -> None:
        """The account's open deadline is now ``due`` (None: none)."""
        if due is None:
            self._due.pop(account_id, None)
            return
        if self._due.get(account_id) != due:
            self._due[account_id] = due
            heapq.heappush(self._heap, (due, account_id))

    def open_deadlines(self) -> int:
        return len(self._due)

    def _next_due(self) -> tuple[int, str] | None:
        heap = self._heap
        while heap:
            due, account = heap[0]
            if self._due.get(account) == due:
                return due, account
            heapq.heappop(heap)  # stale: the deadline moved or closed
        return None

    def pop_ready(self, now: float) -> Pending | Due | None:
        best: Pending | None = None
        best_source = -1
        for source, queue in self.queues.items():
            if queue:
                head = queue[0]
                if best is None or (head.t, source, head.offset) < (best.t, best_source,
                                                                    best.offset):
                    best, best_source = head, source
        due = self._next_due()
        if due is not None and (best is None or due[0] < best.t):
            # the deadline goes first: ready once nothing at or before it can still come
            if due[0] >= self.time or not self._others_after(due[0], None, now):
                return None
            heapq.heappop(self._heap)
            del self._due[due[1]]
            return Due(*due)
        if best is None:
            return None
        if not self._others_after(best.t, best_source, now):
            return None
        self.queues[best_source].popleft()
        return best

    def _others_after(self, t: int, best_source: int | None, now: float) -> bool:
        """Every source other than ``best_source`` (None: a deadline, which sorts after
        every source at its time) will send nothing that sorts before ``(t, best)``."""
        for source in self.sources:
            if source == best_source or self.queues.get(source):
                continue  # its head sorts after ours (ours is the smallest)
            mark = self.marks.get(source)
            if mark is not None and (mark > t or (
                    mark == t and best_source is not None and source > best_source)):
                continue  # its next signal sorts after ours
            since = self.idle_since.get(source)
            if since is not None and now - since >= self.max_idle:
                continue  # caught up and silent: not waited for
            return False
        return True
