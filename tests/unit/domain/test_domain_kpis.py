"""KPI aggregates: counting, merging, serialising, report shape and targets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.domain import LeadEvent, MarketingFeedback, Output, SalesOutcome, step, tick
from streams.domain.kpis import KpiAggregate, band_label, window_of, window_start
from streams.domain.policy import Policy

H = 3_600_000
D = 24 * H
T0 = 1_790_000_000_000
BANT = {"budget": "yes", "authority": "yes", "need": "yes", "timeframe": "Q1",
        "employees": "500", "country": "US", "title": "VP Marketing"}
FIGURES = {"handoffs", "handoffs_by_path", "handoffs_by_queue", "accepted", "rejected",
           "rejected_by_reason", "contacted", "contacted_within_sla", "sla_breaches",
           "opportunities", "won", "lost", "revenue_won", "median_hours_to_first_contact",
           "conversion_to_opportunity", "conversion_to_won"}


def lead_outputs(policy: Policy, lead: str, outcomes: list[tuple[str, int, Any]],
                 ticks: list[int] = ()) -> list[Output]:  # type: ignore[assignment]
    items: list[Any] = [
        LeadEvent(f"{lead}-1", lead, "CONTENT_DOWNLOAD", T0, "t", "c-ebook", None, None, BANT),
        LeadEvent(f"{lead}-2", lead, "WEBINAR_ATTENDED", T0 + H, "t", "c-web", None, None, {}),
        LeadEvent(f"{lead}-3", lead, "PRICING_PAGE_VISIT", T0 + 2 * H, "t", None, None, None,
                  {}),
    ]
    for i, (otype, dt, extra) in enumerate(outcomes):
        items.append(SalesOutcome(f"{lead}-o{i}", lead, otype, T0 + 2 * H + dt, "rep",
                                  extra if isinstance(extra, str) else None,
                                  extra if isinstance(extra, float) else None))
    s = None
    outs: list[Output] = []
    for it in items:
        s, o = step(s, it, policy, it.occurred_at)
        outs += o
    for now in ticks:
        assert s is not None
        s, o = tick(s, policy, now)
        outs += o
    return outs


def test_report_counts_a_small_story(policy: Policy) -> None:
    agg = KpiAggregate(policy.sla.score_bands)
    outs = (
        lead_outputs(policy, "A", [("CONTACTED", 2 * H, None), ("ACCEPTED", 3 * H, None),
                                   ("MEETING_HELD", D, None), ("OPPORTUNITY_CREATED", 2 * D, None),
                                   ("WON", 9 * D, 1000.0)])
        + lead_outputs(policy, "B", [("REJECTED", 10 * H, "no budget")])
        + lead_outputs(policy, "C", [], ticks=[T0 + 60 * H])
        + lead_outputs(policy, "E", [("ACCEPTED", 70 * H, None)])
    )
    for o in outs:
        agg.observe(o.to_record())
    rep = agg.to_report(0, D, policy)
    t = rep["totals"]
    assert set(t) == FIGURES
    assert t["handoffs"] == 6
    # E's late accept first gets the breach and escalation a tick at its deadline gives
    assert t["handoffs_by_path"] == {"SCORE": 4, "ESCALATION": 2}
    assert t["accepted"] == 2 and t["rejected"] == 1 and t["rejected_by_reason"] == {"no budget": 1}
    assert t["sla_breaches"] == 2  # C by tick, E late
    assert t["won"] == 1 and t["revenue_won"] == 1000.0 and t["opportunities"] == 1
    assert t["contacted"] == 2 and t["contacted_within_sla"] == 1
    assert t["median_hours_to_first_contact"] == pytest.approx(2.0)
    assert t["conversion_to_won"] == pytest.approx(1 / 4)
    assert set(rep["by_campaign"]) == {"c-ebook", "c-web"}
    assert rep["by_campaign"]["c-ebook"]["handoffs"] == 6
    assert sum(f["handoffs"] for f in rep["by_score_band"].values()) == 6
    assert rep["report_id"] == "sla-report:0" and rep["policy_version"] == policy.version
    assert rep["quantity_target_met"] is True
    assert rep["quality_target_met"] is False  # 2 breaches / 4 hand-offs > 10%
    json.dumps(rep)


def test_escalation_breach_is_kept_apart_from_handoff_breaches(policy: Policy) -> None:
    """The escalation queue's breach is a second breach of the same lead: `sla_breaches`
    stays one per hand-off (the breach rate's meaning), the other is counted, merged and
    stored apart."""
    outs = lead_outputs(policy, "F", [], ticks=[T0 + 60 * H, T0 + 200 * H])
    assert [o.reason for o in outs if isinstance(o, MarketingFeedback)] == [
        "sla_breached", "escalation_sla_breached"]
    a, b = KpiAggregate(policy.sla.score_bands), KpiAggregate(policy.sla.score_bands)
    for o in outs:
        a.observe(o)
        b.observe(o.to_record())
    for agg in (a, b, KpiAggregate.from_dict(json.loads(json.dumps(a.to_dict())))):
        assert agg.totals.sla_breaches == 1 and agg.totals.escalation_breaches == 1
    merged = a.merge(b)
    assert merged.totals.sla_breaches == 2 and merged.totals.escalation_breaches == 2
    assert merged.to_report(0, D, policy)["totals"]["sla_breaches"] == 2


def test_aggregates_stored_before_escalation_breaches_still_load(policy: Policy) -> None:
    stored = {"bands": [50.0, 100.0], "n": 1, "c": {}, "s": {}, "t": {
        "h": 0, "hp": {}, "hq": {}, "a": 0, "r": 0, "rr": {}, "c": 0, "hh": {}, "b": 3,
        "o": 0, "w": 0, "l": 0, "rev": 0.0}}
    agg = KpiAggregate.from_dict(stored)
    assert agg.totals.sla_breaches == 3 and agg.totals.escalation_breaches == 0


def test_merge_equals_observing_everything(policy: Policy) -> None:
    outs = [o for lead in "PQRS" for o in lead_outputs(
        policy, lead, [("CONTACTED", (ord(lead) % 5) * H, None), ("ACCEPTED", 50 * H, None)])]
    whole = KpiAggregate(policy.sla.score_bands)
    a, b = KpiAggregate(policy.sla.score_bands), KpiAggregate(policy.sla.score_bands)
    for i, o in enumerate(outs):
        whole.observe(o)
        (a if i % 2 else b).observe(o)
    merged = KpiAggregate.from_dict(json.loads(json.dumps(a.to_dict()))).merge(b)
    assert merged.to_report(0, D, policy) == whole.to_report(0, D, policy)


def test_empty_window_report(policy: Policy) -> None:
    rep = KpiAggregate().to_report(D, 2 * D, policy)
    assert rep["totals"]["median_hours_to_first_contact"] is None
    assert rep["totals"]["conversion_to_won"] is None
    assert rep["quantity_target_met"] is False  # min 1 hand-off per window
    assert rep["quality_target_met"] is True


@pytest.mark.parametrize("score,label", [(None, "0-49"), (0, "0-49"), (49.9, "0-49"),
                                         (50, "50-99"), (99.5, "50-99"), (100, "100+"),
                                         (1e9, "100+")])
def test_score_bands(score: float | None, label: str) -> None:
    assert band_label(score, (50.0, 100.0)) == label


def test_windows_align_to_epoch() -> None:
    assert window_start(T0 + 5, D) == T0 - T0 % D
    assert window_of({"handoff_id": "h", "handed_off_at": 7}) == 7
    assert window_of({"feedback_id": "f", "occurred_at": 9}) == 9


def test_observe_rejects_foreign_records() -> None:
    with pytest.raises(ValueError):
        KpiAggregate().observe({"something": 1})
