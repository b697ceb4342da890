"""Account KPIs per report window for ``GET /kpis`` (issue 16: accounts qualified per
window, by queue).

Every worker follows ``sales.qualified-accounts`` from the start (no consumer group: all
partitions) and counts each ``AccountQualified`` once by its deterministic id
(``aq:<account>:<n>``), so a record repeated after a crash (same id, same content) is not
counted twice. A qualification falls in the window of its ``qualified_at`` (the account's
stream time). An escalation (``aq:<account>:<n>:esc``, the account re-routed after an SLA
breach) is not a qualification and is not counted here. ``/kpis`` shows these beside the
SlaReport's account figures (contacted, SLA breaches, moved back), which the account agent
counts into the KPI table (``streams.kpi_store.KpiStore.observe_accounts``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from streams.domain.account_sla import ESCALATION_SUFFIX
from streams.domain.kpis import window_start


class AccountKpis:
    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.seen: dict[str, tuple[int, str]] = {}  # qualification id -> (window, queue)

    def observe(self, record: dict[str, Any]) -> None:
        if str(record["qualification_id"]).endswith(ESCALATION_SUFFIX):
            return
        ws = window_start(int(record["qualified_at"]), self.window_ms)
        self.seen[str(record["qualification_id"])] = (ws, str(record["queue"]))

    def window(self, ws: int) -> dict[str, Any]:
        """Accounts qualified in window ``ws``: the count and by queue."""
        by_queue = Counter(q for w, q in self.seen.values() if w == ws)
        return {"qualified": sum(by_queue.values()),
                "qualified_by_queue": dict(sorted(by_queue.items()))}


async def follow(store: AccountKpis, topic: str, partitions: int, codecs: Any,
                 client_config: dict[str, Any]) -> None:
    """Count every AccountQualified record of ``topic`` into ``store``, for ever."""
    from streams.kpi_store import read_forever

    def count(rec: Any) -> None:
        if rec.value is not None:
            store.observe(codecs.decode("AccountQualified", rec.value))

    await read_forever(topic, partitions, client_config, count)
