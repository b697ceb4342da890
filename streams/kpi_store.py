"""KPI aggregates per report window, kept in a table with one writer per partition.

Key ``<window start>|<partition>``: the worker that owns a partition is the only one that
writes its keys, and every worker can read all of them (a global table), so any worker
merges the same figures for ``GET /kpis`` and the report.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from faust.types.tables import GlobalTableT

from streams.domain import Policy
from streams.domain.kpis import KpiAggregate, window_of, window_start
from streams.tables import at_event


class KpiStore:
    def __init__(self, table: GlobalTableT, policy: Policy) -> None:
        self.table = table
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

    def windows(self) -> dict[int, KpiAggregate]:
        """Every window's aggregate, merged over all partitions this worker can see."""
        merged: dict[int, KpiAggregate] = defaultdict(self._new)
        for key, raw in list(self.table.items()):
            ws = int(key.decode().split("|", 1)[0])
            merged[ws].merge(KpiAggregate.from_dict(json.loads(raw)))
        return dict(merged)

    def report(self, ws: int, agg: KpiAggregate | None = None) -> dict[str, Any]:
        agg = agg if agg is not None else self.windows().get(ws, self._new())
        return agg.to_report(ws, ws + self.window_ms, self.policy)

    def window_containing(self, ts: int) -> int:
        return window_start(ts, self.window_ms)
