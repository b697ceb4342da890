"""Accounts qualified per KPI window (``/kpis``): each AccountQualified counted once by
its id (a repeat after a crash is not a second one), in the window of its qualified_at."""

from __future__ import annotations

from typing import Any

from streams.account_kpis import AccountKpis

DAY = 86_400_000


def aq(account: str, n: int, at: int, queue: str) -> dict[str, Any]:
    return {"qualification_id": f"aq:{account}:{n}", "account_id": account, "queue": queue,
            "qualified_at": at}


def test_counts_per_window_and_queue_once_per_qualification() -> None:
    kpis = AccountKpis(DAY)
    w0, w1 = 20 * DAY, 21 * DAY
    for rec in (aq("a", 1, w0 + 5, "emea"), aq("b", 1, w0 + 9, "enterprise-na"),
                aq("a", 1, w0 + 5, "emea"),  # redelivered: same id
                aq("c", 1, w0 + 7, "emea"), aq("a", 2, w1, "emea"),  # qualifies again
                aq("d", 1, w1 - 1, "general")):
        kpis.observe(rec)
    assert kpis.window(w0) == {"qualified": 4, "qualified_by_queue":
                               {"emea": 2, "enterprise-na": 1, "general": 1}}
    assert kpis.window(w1) == {"qualified": 1, "qualified_by_queue": {"emea": 1}}
    assert kpis.window(w1 + DAY) == {"qualified": 0, "qualified_by_queue": {}}


def test_an_escalation_is_not_a_qualification() -> None:
    kpis = AccountKpis(DAY)
    kpis.observe(aq("a", 1, 5, "emea"))
    kpis.observe({**aq("a", 1, 5, "escalation"), "qualification_id": "aq:a:1:esc"})
    assert kpis.window(0) == {"qualified": 1, "qualified_by_queue": {"emea": 1}}
