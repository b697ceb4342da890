"""Accounts in the engine (contract 4b), both sides of the repartition topic.

Lead side: ``AccountSignals`` is the batch runner's optional collaborator (as the shadow
is): around each record it applies, it compares what the account reads of the lead
(``streams.domain.accounts.signal_of``) before and after, and appends the lead's signal(s)
to the batch's outbound records, keyed by account id, on the internal topic
``<app_id>-account-signals`` (logical name ``account_signals``). They are delivered with the
batch's other outputs, before the lead states and the input offsets. A policy without
``accounts`` builds no collaborator: the runner never calls here.

Account side: ``AccountRunner`` applies a batch of signals (each partition in offset
order) to the account states (``streams.domain.accounts.apply_signal``), then has its store
deliver the ``AccountQualified`` records, then write the states, and only then marks the
signals' offsets done. A crash before the states replays the signals: the same records with
the same ids; after them, a replayed signal is not newer than the one the account holds,
so it changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.codecs import AvroCodecs, dead_letter
from streams.domain import Policy
from streams.domain.accounts import (
    AccountMovedBack,
    AccountQualified,
    AccountSignal,
    AccountState,
    apply_signal,
    signal_of,
    signals_for,
)
from streams.processor import Batch, Inbound, Outbound

LOGICAL = "account_signals"  # the repartition topic (runtime.topic_names key)
OUTPUT = "qualified_accounts"  # settings.TopicNames field of sales.qualified-accounts
SIGNAL_KIND = "AccountSignal"

TP = tuple[str, int]


def signal_topic(app_id: str) -> str:
    return f"{app_id}-account-signals"


class AccountSignals:
    """The lead side: the signals a record causes, appended to the batch's outbound."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    @classmethod
    def for_policy(cls, policy: Policy) -> AccountSignals | None:
        return None if policy.accounts is None else cls(policy)

    def before(self, batch: Batch, lead_id: str, rec: Inbound) -> AccountSignal | None:
        return signal_of(batch.state(lead_id, rec), self.policy)

    def after(self, batch: Batch, lead_id: str, rec: Inbound, occurred_at: int,
              before: AccountSignal | None) -> None:
        state = batch.state(lead_id, rec)
        if state is None:
            return
        after = signal_of(state, self.policy)
        outbound = batch.result.outbound
        # a removal happens at the record that caused it (an erasure leaves the lead's
        # clock where it was)
        clock = max(state.clock, occurred_at)
        for s in signals_for(before, after, clock, state.events):
            outbound.append(Outbound(LOGICAL, s.account_id.encode(), s.encode(),
                                     {"account_id": s.account_id, "lead_id": s.lead_id},
                                     SIGNAL_KIND))


@dataclass
class AccountResult:
    outbound: list[Outbound] = field(default_factory=list)  # AccountQualified, dead letters
    # account id -> (new state, the signal record whose partition owns the account)
    states: dict[str, tuple[AccountState, Inbound]] = field(default_factory=dict)
    qualified: list[AccountQualified] = field(default_factory=list)
    moved_back: list[AccountMovedBack] = field(default_factory=list)
    by_queue: Counter[str] = field(default_factory=Counter)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    done: dict[TP, int] = field(default_factory=dict)  # next offset per signal partition


class AccountStore(Protocol):
    def load(self, account_id: str, rec: Inbound) -> AccountState | None: ...
    async def save(self, result: AccountResult) -> None:
        """Deliver the outbound records, then write the states; return when all are in
        Kafka."""
        ...


class AccountRunner:
    def __init__(self, policy: Policy, codecs: AvroCodecs, store: AccountStore,
                 wall_clock: Callable[[], int],
                 mark_done: Callable[[dict[TP, int]], None] | None = None,
                 on_batch: Callable[[AccountResult], None] | None = None) -> None:
        self.policy = policy
        self.codecs = codecs
        self.store = store
        self.wall_clock = wall_clock
        self.mark_done = mark_done
        self.on_batch = on_batch

    async def run(self, records: Sequence[Inbound]) -> AccountResult:
        result = AccountResult()
        cache: dict[str, AccountState | None] = {}
        for rec in records:
            result.done[(rec.topic, rec.partition)] = rec.offset + 1
            try:
                if rec.value is None:
                    raise ValueError("account signal without a value")
                signal = AccountSignal.decode(rec.value)
                if rec.key is not None and rec.key != signal.account_id.encode():
                    raise ValueError("account signal key does not match its account_id")
            except Exception as err:  # never ours unless a bug: dead-letter, never stop
                self._dead_letter(result, rec, err)
                continue
            account = signal.account_id
            if account not in cache:
                cache[account] = self.store.load(account, rec)
            state, outputs = apply_signal(cache[account], signal, self.policy)
            if state is cache[account]:
                continue  # not newer than what the account holds (a replay, a stale one)
            cache[account] = state
            result.states[account] = (state, rec)
            for out in outputs:
                if isinstance(out, AccountQualified):
                    record = out.to_record()
                    value = self.codecs.encode("AccountQualified", record)
                    result.outbound.append(Outbound(OUTPUT, account.encode(), value, record,
                                                    "AccountQualified"))
                    result.qualified.append(out)
                    result.by_queue[out.queue] += 1
                else:
                    result.moved_back.append(out)
        if result.outbound or result.states:
            await self.store.save(result)
        if self.mark_done is not None and result.done:
            self.mark_done(result.done)
        if self.on_batch is not None:
            self.on_batch(result)
        return result

    def _dead_letter(self, result: AccountResult, rec: Inbound, err: BaseException) -> None:
        letter = dead_letter(rec.topic, rec.partition, rec.offset, rec.key, rec.value, err,
                             self.wall_clock(), error_type="DECODE")
        value = self.codecs.encode("DeadLetter", letter)
        result.outbound.append(Outbound("dead_letter", rec.key, value, letter, "DeadLetter"))
        result.dead_letters.append(letter)

