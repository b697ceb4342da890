"""The account runner's ports bound to the Faust app: the ``accounts`` table (with its
changelog), ``sales.qualified-accounts``, the signals' commits and the metric. Built by
``agents/score_accounts.py`` only when the policy has accounts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import faust
from faust.types import TP as TopicPartition

from streams import metrics
from streams.domain.account_sla import next_deadline
from streams.domain.accounts import AccountState
from streams.engine.accounts import LOGICAL, TP, AccountResult, AccountRunner
from streams.engine.delivery import Send
from streams.engine.events import at_event
from streams.engine.memory import partition_of
from streams.engine.state_writes import TableWrites
from streams.logs import log_dead_letters
from streams.processor import Inbound

if TYPE_CHECKING:
    from streams.runtime import Runtime


class AccountTableStore:
    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        assert runtime.tables.accounts is not None
        self.app = app
        self.runtime = runtime
        self.table = runtime.tables.accounts

    def load(self, account_id: str, rec: Inbound) -> AccountState | None:
        with at_event(rec.ref):
            raw = self.table.get(account_id.encode())
        return AccountState.decode(raw) if raw else None

    def timers(self, partition: int) -> dict[str, int]:
        """Read once per signal partition after a start: the open deadlines of its
        accounts (a scan of the local store; accounts are few beside leads)."""
        partitions = self.runtime.settings.partitions
        out: dict[str, int] = {}
        for key, raw in list(self.table.items()):
            if not raw or partition_of(key, partitions) != partition:
                continue
            due = next_deadline(AccountState.decode(raw))
            if due is not None:
                out[key.decode()] = due
        return out

    async def save(self, result: AccountResult) -> None:
        runtime, table = self.runtime, self.table
        sends = [Send(runtime.topic_names[o.logical], o.key, o.value,
                      0 if o.key is None else None) for o in result.outbound]
        if sends:  # the qualifications first: a crash before the states repeats them
            await runtime.deliver(sends)
        writes = TableWrites()
        for account_id, (state, rec) in result.states.items():
            writes.put(table, rec.partition, rec.ref, account_id.encode(), state.encode())
        await writes.apply(runtime.deliver, atomic=True)
        if result.outputs:  # account KPIs (the Faust way): in Kafka before the commit
            runtime.kpis.observe_accounts(result.outputs)
            await self.app.producer.flush()


def account_runner(app: faust.App, runtime: Runtime) -> AccountRunner:
    import logging

    log = logging.getLogger("leadflow.accounts")

    def mark_done(offsets: dict[TP, int]) -> None:
        runtime.input_commits.mark_done(
            {TopicPartition(*tp): off for tp, off in offsets.items()},
            int(app.consumer_generation_id))

    def on_batch(result: AccountResult) -> None:
        for queue, n in result.by_queue.items():
            metrics.count_account_qualification(queue, n)
        for queue, n in result.breaches_by_queue.items():
            metrics.count_account_sla_breach(queue, n)
        for letter in result.dead_letters:
            metrics.count_dead_letter(letter["error_type"])
        if result.dead_letters:
            log_dead_letters(log, result.dead_letters)

    settings = runtime.settings
    return AccountRunner(runtime.policy, runtime.codecs, AccountTableStore(app, runtime),
                         runtime.clock, mark_done=mark_done, on_batch=on_batch,
                         sources=settings.partitions, max_idle=settings.max_idle_ms / 1000.0)


def inbound(events: Iterable[faust.EventT[bytes]]) -> list[Inbound]:
    return [Inbound(LOGICAL, ev.message.topic, ev.message.partition, ev.message.offset,
                    ev.key, ev.value, ev) for ev in events]
