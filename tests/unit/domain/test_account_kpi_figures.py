"""The SlaReport's account figures: what each account output counts, in the window of its
own time, through the KPI table (one key per window and account partition) into the
report; null without an accounts policy, and the report encodes under SlaReport v2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.codecs import default_codecs
from streams.domain.account_sla import AccountContacted, AccountSlaBreached
from streams.domain.accounts import AccountMovedBack, AccountQualified
from streams.domain.kpis import AccountFigures, KpiAggregate, account_time
from streams.domain.policy import load_policy
from streams.engine.events import PartitionRef
from streams.kpi_store import KpiStore
from streams.processor import Inbound

ROOT = Path(__file__).resolve().parents[3]
DAY = 86_400_000
T0 = 1_790_035_200_000  # midnight UTC


def aq(at: int, queue: str = "enterprise-na", path: str = "SCORE") -> AccountQualified:
    return AccountQualified("aq:a:1" + (":esc" if path == "ESCALATION" else ""), "a", queue,
                            None, 130.0, "A", (), (), at, at + 2 * DAY, "v", path)


def outputs() -> list[Any]:
    return [aq(T0 + 1), aq(T0 + 2, "mid-market-na"),
            aq(T0 + 3, "escalation", "ESCALATION"),
            AccountContacted("a", "aq:a:1", "enterprise-na", T0 + 4, True),
            AccountContacted("b", "aq:b:1", "escalation", T0 + DAY + 1, False),
            AccountSlaBreached("c", "aq:c:1", "enterprise-na", T0 + 5, False),
            AccountSlaBreached("c", "aq:c:1", "escalation", T0 + DAY + 5, True),
            AccountMovedBack("a", "aq:a:1", T0 + 6, "cold")]


def test_each_output_counts_once_in_its_own_window() -> None:
    figures: dict[int, AccountFigures] = {}
    for o in outputs():
        figures.setdefault(account_time(o) // DAY, AccountFigures()).observe(o)
    day0, day1 = figures[T0 // DAY], figures[T0 // DAY + 1]
    assert day0.to_record() == {
        "qualified": 2, "qualified_by_queue": {"enterprise-na": 1, "mid-market-na": 1},
        "contacted": 1, "contacted_within_sla": 1, "sla_breaches": 1,
        "escalation_breaches": 0, "moved_back": 1}
    assert (day1.contacted, day1.contacted_within_sla, day1.escalation_breaches,
            day1.qualified) == (1, 0, 1, 0)
    merged = AccountFigures.from_dict(day0.to_dict()).merge(day1)
    assert merged.contacted == 2 and merged.sla_breaches == 1 and merged.qualified == 2


def test_report_has_account_figures_only_with_an_accounts_policy() -> None:
    plain = load_policy(ROOT / "policy" / "default.yaml")
    ap = load_policy(ROOT / "policy" / "accounts.yaml")
    codecs = default_codecs()
    assert KpiAggregate().to_report(T0, T0 + DAY, plain)["accounts"] is None
    empty = KpiAggregate().to_report(T0, T0 + DAY, ap)
    assert empty["accounts"]["qualified"] == 0
    figures = AccountFigures()
    for o in outputs():
        figures.observe(o)
    report = KpiAggregate().to_report(T0, T0 + DAY, ap, figures)
    assert codecs.decode("SlaReport", codecs.encode("SlaReport", report)) == report
    assert report["accounts"]["sla_breaches"] == 1


class Table(dict[bytes, bytes]):
    """A Faust table as the KPI store touches it (get / set under a current event)."""


def test_kpi_store_counts_account_outputs_per_window_and_partition() -> None:
    ap = load_policy(ROOT / "policy" / "accounts.yaml")
    table = Table()
    store = KpiStore(table, ap)  # type: ignore[arg-type]

    def rec(p: int) -> Inbound:
        return Inbound("account_signals", "sig", p, -1, b"a", None, PartitionRef("sig", p))

    outs = outputs()
    store.observe_accounts([(o, rec(i % 2)) for i, o in enumerate(outs)])
    store.observe_accounts([(outs[0], rec(0))])  # a later batch adds to the same key
    store.view.update(table)
    assert all(k.startswith(b"accounts|") for k in table)
    # a window with account figures only is listed (and reported), its lead figures empty
    windows = store.windows()
    assert sorted(windows) == [store.window_containing(T0), store.window_containing(T0 + DAY)]
    assert all(a.observed == 0 for a in windows.values())
    report = store.report(store.window_containing(T0))
    assert report["accounts"]["qualified"] == 3
    assert report["accounts"]["qualified_by_queue"] == {"enterprise-na": 2,
                                                        "mid-market-na": 1}
    assert json.loads(table[f"accounts|{store.window_containing(T0)}|0".encode()])
