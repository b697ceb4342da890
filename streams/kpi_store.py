"""KPI aggregates per report window, kept in a table with one writer per partition.

Key ``<window start>|<partition>``: the worker that owns a partition is the only one that
writes its keys. Every worker also follows the table's changelog topic from the start (no
consumer group: all partitions), so any worker merges the same figures for ``GET /kpis``
and the report. (Faust's GlobalTable would do this, but its standby recovery hung our
two-worker start-up.)

The account agent's outputs (qualified, contacted, breached, moved back) are counted under
``accounts|<window start>|<partition>`` (``observe_accounts``; the partition is the account
partition's, one writer each) and go into the SlaReport's ``accounts`` figures.

With a shadow policy, its hand-offs are counted in the same table under
``shadow|<window start>|<partition>`` (``observe_shadow``): ``GET /kpis`` shows them beside
the live ones; the SlaReport records stay the live policy's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from faust.types import TableT

from streams.domain import Policy, QualifiedLead
from streams.domain.kpis import (
    AccountFigures,
    Figures,
    KpiAggregate,
    account_time,
    window_of,
    window_start,
)
from streams.engine.events import at_event

SHADOW_PREFIX = "shadow|"
ACCOUNTS_PREFIX = "accounts|"


class KpiStore:
    def __init__(self, table: TableT[bytes, bytes], policy: Policy) -> None:
        self.table = table
        # every partition's latest aggregates, as read from the changelog by follow()
        self.view: dict[bytes, bytes] = {}
        self.policy = policy
        self.window_ms = policy.sla.report_window_ms

    def _new(self) -> KpiAggregate:
        return KpiAggregate(self.policy.sla.score_bands)

    def observe(self, outputs: list[tuple[Any, Any]]) -> None:
        """Fold (domain output, inbound record) pairs into their windows' aggregates."""
        if not outputs:
            return
        groups: dict[bytes, tuple[KpiAggregate, Any]] = {}
        for out, rec in outputs:
            record = out.to_record()
            ws = window_start(window_of(record), self.window_ms)
            key = f"{ws}|{rec.partition}".encode()
            if key not in groups:
                with at_event(rec.ref):
                    raw = self.table.get(key)
                agg = KpiAggregate.from_dict(json.loads(raw)) if raw else self._new()
                groups[key] = (agg, rec)
            groups[key][0].observe(record)
        for key, (agg, rec) in groups.items():
            with at_event(rec.ref):
                self.table[key] = json.dumps(agg.to_dict(), separators=(",", ":")).encode()

    def observe_shadow(self, outputs: list[tuple[Any, Any]]) -> None:
        """Count the shadow's hand-offs (its other outputs are not reported) per window."""
        groups: dict[bytes, tuple[Figures, Any]] = {}
        for out, rec in outputs:
            if type(out) is not QualifiedLead:
                continue
            ws = window_start(out.handed_off_at, self.window_ms)
            key = f"{SHADOW_PREFIX}{ws}|{rec.partition}".encode()
            if key not in groups:
                with at_event(rec.ref):
                    raw = self.table.get(key)
                groups[key] = (Figures.from_dict(json.loads(raw)) if raw else Figures(), rec)
            figures = groups[key][0]
            figures.handoffs += 1
            path = out.path.value
            figures.handoffs_by_path[path] = figures.handoffs_by_path.get(path, 0) + 1
            figures.handoffs_by_queue[out.queue] = figures.handoffs_by_queue.get(out.queue, 0) + 1
        for key, (figures, rec) in groups.items():
            with at_event(rec.ref):
                self.table[key] = json.dumps(figures.to_dict(), separators=(",", ":")).encode()

    def observe_accounts(self, outputs: list[tuple[Any, Any]]) -> None:
        """Fold (account output, its signal record or deadline stand-in) pairs into their
        windows' account figures."""
        groups: dict[bytes, tuple[AccountFigures, Any]] = {}
        for out, rec in outputs:
            ws = window_start(account_time(out), self.window_ms)
            key = f"{ACCOUNTS_PREFIX}{ws}|{rec.partition}".encode()
            if key not in groups:
                with at_event(rec.ref):
                    raw = self.table.get(key)
                groups[key] = (AccountFigures.from_dict(json.loads(raw)) if raw
                               else AccountFigures(), rec)
            groups[key][0].observe(out)
        for key, (figures, rec) in groups.items():
            with at_event(rec.ref):
                self.table[key] = json.dumps(figures.to_dict(), separators=(",", ":")).encode()

    def account_figures(self, ws: int) -> AccountFigures:
        """The account figures of window ``ws``, over all partitions."""
        total = AccountFigures()
        prefix = f"{ACCOUNTS_PREFIX}{ws}|".encode()
        for key, raw in list(self.view.items()):
            if key.startswith(prefix):
                total.merge(AccountFigures.from_dict(json.loads(raw)))
        return total

    def shadow_handoffs(self, ws: int) -> dict[str, Any]:
        """The shadow's hand-offs in window ``ws``, over all partitions."""
        total = Figures()
        prefix = f"{SHADOW_PREFIX}{ws}|".encode()
        for key, raw in list(self.view.items()):
            if key.startswith(prefix):
                total.merge(Figures.from_dict(json.loads(raw)))
        return {"handoffs": total.handoffs, "handoffs_by_path": total.handoffs_by_path,
                "handoffs_by_queue": total.handoffs_by_queue}

    def windows(self) -> dict[int, KpiAggregate]:
        """Every window's aggregate, merged over all partitions this worker can see."""
        merged: dict[int, KpiAggregate] = defaultdict(self._new)
        for key, raw in list(self.view.items()):
            if key.startswith(b"shadow|"):
                continue
            if key.startswith(ACCOUNTS_PREFIX.encode()):
                # a window with account figures only is a window too (reported, listed)
                merged[int(key.decode().split("|", 2)[1])]
                continue
            ws = int(key.decode().split("|", 1)[0])
            merged[ws].merge(KpiAggregate.from_dict(json.loads(raw)))
        return dict(merged)

    def report(self, ws: int, agg: KpiAggregate | None = None) -> dict[str, Any]:
        agg = agg if agg is not None else self.windows().get(ws, self._new())
        accounts = None if self.policy.accounts is None else self.account_figures(ws)
        return agg.to_report(ws, ws + self.window_ms, self.policy, accounts)

    def window_containing(self, ts: int) -> int:
        return window_start(ts, self.window_ms)


async def read_forever(topic: str, partitions: int, client_config: dict[str, Any],
                       on_record: Callable[[Any], None]) -> None:
    """Every record of ``topic`` from its start, then as it comes, to ``on_record`` (no
    consumer group: every worker reads all partitions)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", **client_config)
    await consumer.start()
    try:
        # (aiokafka only knows the partitions of topics it subscribes to: the count is the
        # one the topic was created with.)
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                for rec in records:
                    on_record(rec)
    finally:
        await consumer.stop()


async def follow(store: KpiStore, topic: str, partitions: int,
                 client_config: dict[str, Any]) -> None:
    """Keep ``store.view`` equal to the latest value of every key in the changelog."""

    def keep(rec: Any) -> None:
        if rec.key is None:
            return
        if rec.value is None:
            store.view.pop(rec.key, None)
        else:
            store.view[rec.key] = rec.value

    await read_forever(topic, partitions, client_config, keep)
