"""Accounts in the engine (contract 4b), both sides of the repartition topic.

Lead side: ``AccountSignals`` is the batch runner's optional collaborator (as the shadow
is): around each record it applies, it compares what the account reads of the lead
(``streams.domain.accounts.signal_of``) before and after, and appends the lead's signal(s)
to the batch's outbound records, keyed by account id, on the internal topic
``<app_id>-account-signals`` (logical name ``account_signals``), tagged with the lead
partition and its stream time; after each batch it sends each lead partition's mark (its
stream time, caught up or not) to every account partition. They are delivered with the
batch's other outputs, before the lead states and the input offsets. A policy without
``accounts`` builds no collaborator: the runner never calls here.

Account side: ``AccountRunner`` queues each account partition's signals in a
``SignalMerge`` (``streams.engine.account_merge``: the order in which they are applied
does not depend on how the lead partitions' signals interleave), applies the ready ones to
the account states (``streams.domain.accounts.apply_signal``), then has its store deliver
the ``AccountQualified`` records, then write the states, and only then marks done the
offsets before the first signal still queued. A crash before the states replays the
signals: the same records with the same ids; after them, a replayed signal is not newer
than the one the account holds, so it changes nothing.

Deadlines: each account's next one (its SLA, its cold timer:
``streams.domain.account_sla.next_deadline``) is scheduled in its partition's merge after
each change and taken in event-time order with the signals (``account_merge``), then
ticked at the deadline itself. The states hold them: when a partition's merge is
created (first record after a start), the store's open deadlines of that partition are
scheduled again (``AccountStore.timers``); a deadline the state no longer has is stale and
skipped. A lead-side sales contact (CONTACTED, ACCEPTED...) of a lead with an account goes
on its signal as ``touched`` (the outcome's event time), even when nothing else the
account reads changed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from streams.codecs import AvroCodecs, dead_letter
from streams.domain import Policy, SalesOutcome
from streams.domain.account_sla import (
    CONTACT_TYPES,
    AccountContacted,
    AccountOutput,
    AccountSlaBreached,
    next_deadline,
    step,
    tick,
)
from streams.domain.accounts import (
    AccountMovedBack,
    AccountQualified,
    AccountSignal,
    AccountState,
    signal_of,
    signals_for,
)
from streams.engine.account_merge import (
    Due,
    Mark,
    Pending,
    SignalMerge,
    decode_item,
    encode_mark,
    encode_signal,
)
from streams.engine.events import PartitionRef
from streams.processor import Batch, Inbound, Outbound

LOGICAL = "account_signals"  # the repartition topic (runtime.topic_names key)
OUTPUT = "qualified_accounts"  # settings.TopicNames field of sales.qualified-accounts
SIGNAL_KIND = "AccountSignal"
MARK_KIND = "AccountSignalMark"

TP = tuple[str, int]


def signal_topic(app_id: str) -> str:
    return f"{app_id}-account-signals"


class AccountSignals:
    """The lead side: the signals a record causes, appended to the batch's outbound, and
    each lead partition's marks."""

    MARK_EVERY = 0.05  # seconds: at most this often a moving partition sends its marks
    REPEAT_EVERY = 5.0  # seconds: a caught-up partition says so again (account restarts)

    def __init__(self, policy: Policy, partitions: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.partitions = partitions  # of the account-signals topic
        self.monotonic = monotonic
        self._sent: dict[int, tuple[int, bool, float]] = {}  # partition -> last mark

    @classmethod
    def for_policy(cls, policy: Policy, partitions: int) -> AccountSignals | None:
        return None if policy.accounts is None else cls(policy, partitions)

    def before(self, batch: Batch, lead_id: str, rec: Inbound) -> AccountSignal | None:
        return signal_of(batch.state(lead_id, rec), self.policy)

    def after(self, batch: Batch, lead_id: str, rec: Inbound, occurred_at: int,
              before: AccountSignal | None, stream_time: int) -> None:
        """``stream_time``: the lead partition's, with this record applied."""
        state = batch.state(lead_id, rec)
        if state is None:
            return
        after = signal_of(state, self.policy)
        outbound = batch.result.outbound
        # a removal happens at the record that caused it (an erasure leaves the lead's
        # clock where it was)
        clock = max(state.clock, occurred_at)
        signals = signals_for(before, after, clock, state.events)
        if after is not None and rec.source == "outcomes" and self._contact(batch, rec):
            # a sales contact: the account's SLA wants to know, whatever else changed
            signals = [s for s in signals if s is not after]
            signals.append(replace(after, touched=occurred_at))
        for s in signals:
            outbound.append(Outbound(LOGICAL, s.account_id.encode(),
                                     encode_signal(rec.partition, stream_time, s),
                                     {"account_id": s.account_id, "lead_id": s.lead_id},
                                     SIGNAL_KIND))

    @staticmethod
    def _contact(batch: Batch, rec: Inbound) -> bool:
        """The applied outcome is a sales contact (decoded again: only outcomes of leads
        with an account come here)."""
        try:
            _, model = batch.processor.decode(rec, batch.now)
        except Exception:  # it was applied, so it decodes; never fail the batch on it
            return False
        return type(model) is SalesOutcome and model.type in CONTACT_TYPES

    def mark(self, batch: Batch, partition: int, stream_time: int, caught_up: bool) -> None:
        """After a batch: the lead partition's mark to every account partition, when it
        moved on or its caught-up status changed (where marks fall does not change what
        the account side decides, only how long it waits)."""
        now = self.monotonic()
        last = self._sent.get(partition)
        if last is not None:
            t, was_caught_up, at = last
            if caught_up == was_caught_up and (
                    (t == stream_time and not (caught_up and now - at >= self.REPEAT_EVERY))
                    or (t != stream_time and now - at < self.MARK_EVERY)):
                return
        self._sent[partition] = (stream_time, caught_up, now)
        value = encode_mark(partition, stream_time, caught_up)
        record = {"mark": partition, "t": stream_time, "caught_up": caught_up}
        batch.result.outbound.extend(
            Outbound(LOGICAL, None, value, record, MARK_KIND, p)
            for p in range(self.partitions))


@dataclass
class AccountResult:
    outbound: list[Outbound] = field(default_factory=list)  # AccountQualified, dead letters
    # account id -> (new state, the signal record whose partition owns the account)
    states: dict[str, tuple[AccountState, Inbound]] = field(default_factory=dict)
    qualified: list[AccountQualified] = field(default_factory=list)  # path SCORE
    escalated: list[AccountQualified] = field(default_factory=list)  # path ESCALATION
    moved_back: list[AccountMovedBack] = field(default_factory=list)
    breaches: list[AccountSlaBreached] = field(default_factory=list)
    contacted: list[AccountContacted] = field(default_factory=list)
    # every domain output with the record (or deadline stand-in) of its partition: KPIs
    outputs: list[tuple[AccountOutput, Inbound]] = field(default_factory=list)
    by_queue: Counter[str] = field(default_factory=Counter)
    breaches_by_queue: Counter[str] = field(default_factory=Counter)
    ticks: int = 0
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    done: dict[TP, int] = field(default_factory=dict)  # next offset per signal partition


class AccountStore(Protocol):
    def load(self, account_id: str, rec: Inbound) -> AccountState | None: ...
    def timers(self, partition: int) -> dict[str, int]:
        """The open deadlines of the accounts of signal partition ``partition``."""
        ...
    async def save(self, result: AccountResult) -> None:
        """Deliver the outbound records, then write the states; return when all are in
        Kafka."""
        ...


class AccountRunner:
    def __init__(self, policy: Policy, codecs: AvroCodecs, store: AccountStore,
                 wall_clock: Callable[[], int],
                 mark_done: Callable[[dict[TP, int]], None] | None = None,
                 on_batch: Callable[[AccountResult], None] | None = None, *,
                 sources: int = 0, max_idle: float = 2.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.codecs = codecs
        self.store = store
        self.wall_clock = wall_clock
        self.mark_done = mark_done
        self.on_batch = on_batch
        self.sources = range(sources)  # the lead partitions (known before they speak)
        self.max_idle = max_idle
        self.monotonic = monotonic
        self.merges: dict[TP, SignalMerge] = {}
        self.read: dict[TP, int] = {}  # the offset after the last record read
        self.lock = asyncio.Lock()  # a batch and the poll timer never interleave

    async def run(self, records: Sequence[Inbound]) -> AccountResult:
        """A batch of consumed signal records (each partition in offset order)."""
        async with self.lock:
            return await self._run(records)

    async def _run(self, records: Sequence[Inbound]) -> AccountResult:
        result = AccountResult()
        now = self.monotonic()
        for rec in records:
            tp = (rec.topic, rec.partition)
            self.read[tp] = rec.offset + 1
            merge = self.merges.get(tp)
            if merge is None:
                merge = self.merges[tp] = SignalMerge(self.sources, self.max_idle)
                for account, due in self.store.timers(rec.partition).items():
                    merge.schedule(account, due)
            try:
                if rec.value is None:
                    raise ValueError("account signal without a value")
                item = decode_item(rec.value)
                if isinstance(item, Mark):
                    merge.push_mark(item, now)
                    continue
                if rec.key is not None and rec.key != item.signal.account_id.encode():
                    raise ValueError("account signal key does not match its account_id")
            except Exception as err:  # never ours unless a bug: dead-letter, never stop
                self._dead_letter(result, rec, err)
                continue
            merge.push_signal(item.source, item.t, rec.offset, (item.signal, rec))
        return await self._drain(result, now)

    async def poll(self) -> AccountResult:
        """Between batches: stop waiting for sources that went quiet."""
        async with self.lock:
            return await self._drain(AccountResult(), self.monotonic())

    async def _drain(self, result: AccountResult, now: float) -> AccountResult:
        cache: dict[str, AccountState | None] = {}
        for tp, merge in self.merges.items():
            while (pending := merge.pop_ready(now)) is not None:
                if isinstance(pending, Due):
                    self._tick(result, cache, merge, tp, pending)
                else:
                    self._apply(result, cache, merge, pending)
            first = merge.first_offset()
            done = self.read[tp] if first is None else first
            result.done[tp] = done
        if result.outbound or result.states:
            await self.store.save(result)
        if self.mark_done is not None and result.done:
            self.mark_done(result.done)
        if self.on_batch is not None:
            self.on_batch(result)
        return result

    def _apply(self, result: AccountResult, cache: dict[str, AccountState | None],
               merge: SignalMerge, pending: Pending) -> None:
        signal, rec = pending.payload
        account = signal.account_id
        if account not in cache:
            cache[account] = self.store.load(account, rec)
        state, outputs = step(cache[account], signal, self.policy)
        if state is cache[account]:
            return  # not newer than what the account holds (a replay, a copy)
        self._changed(result, cache, merge, state, rec, outputs)

    def _tick(self, result: AccountResult, cache: dict[str, AccountState | None],
              merge: SignalMerge, tp: TP, due: Due) -> None:
        account = due.account_id
        # no record carries a deadline: a stand-in of the account's partition
        rec = Inbound(LOGICAL, tp[0], tp[1], -1, account.encode(), None,
                      PartitionRef(tp[0], tp[1]))
        if account not in cache:
            cache[account] = self.store.load(account, rec)
        state = cache[account]
        if state is None or next_deadline(state) != due.t:
            return  # stale: the account's deadline moved since it was scheduled
        result.ticks += 1
        new, outputs = tick(state, self.policy, due.t)
        self._changed(result, cache, merge, new, rec, outputs)

    def _changed(self, result: AccountResult, cache: dict[str, AccountState | None],
                 merge: SignalMerge, state: AccountState, rec: Inbound,
                 outputs: list[AccountOutput]) -> None:
        account = state.account_id
        cache[account] = state
        result.states[account] = (state, rec)
        merge.schedule(account, next_deadline(state))
        for out in outputs:
            result.outputs.append((out, rec))
            if isinstance(out, AccountQualified):
                record = out.to_record()
                value = self.codecs.encode("AccountQualified", record)
                result.outbound.append(Outbound(OUTPUT, account.encode(), value, record,
                                                "AccountQualified"))
                if out.path == "ESCALATION":
                    result.escalated.append(out)
                else:
                    result.qualified.append(out)
                    result.by_queue[out.queue] += 1
            elif isinstance(out, AccountMovedBack):
                result.moved_back.append(out)
            elif isinstance(out, AccountSlaBreached):
                result.breaches.append(out)
                result.breaches_by_queue[out.queue] += 1
            else:
                result.contacted.append(out)

    def _dead_letter(self, result: AccountResult, rec: Inbound, err: BaseException) -> None:
        letter = dead_letter(rec.topic, rec.partition, rec.offset, rec.key, rec.value, err,
                             self.wall_clock(), error_type="DECODE")
        value = self.codecs.encode("DeadLetter", letter)
        result.outbound.append(Outbound("dead_letter", rec.key, value, letter, "DeadLetter"))
        result.dead_letters.append(letter)
