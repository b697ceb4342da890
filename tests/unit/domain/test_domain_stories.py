"""Seed stories and every move of the state machine, table-driven."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from streams.domain import (
    LeadEvent,
    LeadState,
    MarketingFeedback,
    Output,
    QualifiedLead,
    SalesOutcome,
    Stage,
    StageTransition,
    decode_state,
    encode_state,
    next_deadline,
    step,
    tick,
)
from streams.domain.policy import Policy

H = 3_600_000
D = 24 * H
T0 = 1_790_000_000_000
BANT = {
    "budget": "yes", "authority": "yes", "need": "yes", "timeframe": "Q1",
    "employees": "500", "country": "US", "title": "VP Marketing", "email": "vp@acme.com",
    "company": "Acme",
}
_ids = itertools.count()


def ev(etype: str, t: int, lead: str = "L1", *, attrs: dict[str, str] | None = None,
       campaign: str | None = None, asset: str | None = None, rep: str | None = None,
       eid: str | None = None) -> LeadEvent:
    return LeadEvent(eid or f"e{next(_ids)}", lead, etype, t, "test", campaign, asset, rep,
                     attrs or {})


def oc(otype: str, t: int, lead: str = "L1", *, rep: str | None = "rep-x",
       reason: str | None = None, amount: float | None = None) -> SalesOutcome:
    return SalesOutcome(f"o{next(_ids)}", lead, otype, t, rep, reason, amount)


def run(policy: Policy, items: list[Any], state: LeadState | None = None
        ) -> tuple[LeadState, list[Output]]:
    outs: list[Output] = []
    for it in items:
        state, o = step(state, it, policy, it.occurred_at)
        outs += o
    assert state is not None
    return state, outs


def kinds(outs: list[Output]) -> list[str]:
    res = []
    for o in outs:
        if isinstance(o, StageTransition):
            res.append(f"T:{o.from_stage.value}>{o.to_stage.value}")
        elif isinstance(o, QualifiedLead):
            res.append(f"H:{o.path.value}")
        else:
            res.append(f"F:{o.type.value}")
    return res


def seed_story() -> list[Any]:
    return [
        ev("CONTENT_DOWNLOAD", T0, attrs=BANT, campaign="c-ebook", asset="ebook-1"),
        ev("WEBINAR_ATTENDED", T0 + D, campaign="c-webinar"),
        ev("PRICING_PAGE_VISIT", T0 + 2 * D),
    ]


def mql(policy: Policy) -> tuple[LeadState, list[Output]]:
    return run(policy, seed_story())


def test_seed_story_reaches_mql_with_handoff_due_48h_later(policy: Policy) -> None:
    s, outs = mql(policy)
    assert s.stage is Stage.MQL
    assert kinds(outs) == ["T:RAW>ENGAGED", "T:ENGAGED>MQL", "H:SCORE"]
    h = outs[-1]
    assert isinstance(h, QualifiedLead)
    assert h.handed_off_at == T0 + 2 * D
    assert h.sla_due_at == h.handed_off_at + 48 * H
    assert h.queue == "mid-market-na" and h.owner_rep_id is not None
    assert h.owner_rep_id in policy.routing.by_name["mid-market-na"].reps
    assert h.fit_grade == "A" and len(h.criteria_met) >= 3
    assert h.first_touch_campaign == "c-ebook" and h.last_touch_campaign == "c-webinar"
    assert h.campaigns == ("c-ebook", "c-webinar")
    assert 1 <= len(h.reasons) <= 5
    rec = h.to_record()
    assert rec["handoff_id"] == "handoff:L1:3" and rec["policy_version"] == policy.version
    assert policy.version.startswith("2026.11-1+")
    assert rec["path"] == "SCORE" and rec["profile"]["email"] == "vp@acme.com"
    assert next_deadline(s) == h.sla_due_at


@pytest.mark.parametrize("extra", [0, 1, 5])
def test_badge_scan_alone_never_qualifies(policy: Policy, extra: int) -> None:
    items = [ev("TRADE_SHOW_SCAN", T0 + i * H, attrs=BANT, rep="rep-x") for i in range(1 + extra)]
    s, outs = run(policy, items)
    assert s.stage is Stage.RAW
    assert not any(isinstance(o, QualifiedLead) for o in outs)
    from streams.domain.criteria import met
    assert s.grade == "A" and len(met(s, policy)) >= 3  # fit and criteria hold; score does not


def test_badge_scan_cannot_reach_mql_numerically(policy: Policy) -> None:
    sc = policy.scoring
    per_scan = sc.points["TRADE_SHOW_SCAN"] + sum(
        r.points for r in sc.rules if r.points > 0)
    cap = sc.caps["TRADE_SHOW_SCAN"].max_count
    assert per_scan * cap < policy.stages.mql_score


def test_badge_scans_over_years_never_qualify(policy: Policy) -> None:
    items = [ev("TRADE_SHOW_SCAN", T0 + i * 6 * H, attrs=BANT, rep="rep-x",
                campaign=f"show-{i}", asset="gartner-booth") for i in range(400)]
    s, outs = run(policy, items)
    assert s.stage is Stage.RAW and outs == []


def test_referral_with_need_fast_tracks_to_referring_rep(policy: Policy) -> None:
    _s, outs = run(policy, [ev("REP_REFERRAL", T0, rep="rep-zoe",
                               attrs={"need": "confirmed", "email": "a@b.com"})])
    assert kinds(outs) == ["T:RAW>MQL", "H:REFERRAL"]
    h = outs[1]
    assert isinstance(h, QualifiedLead)
    assert h.owner_rep_id == "rep-zoe" and h.queue == policy.referral.queue
    assert h.sla_due_at == T0 + 48 * H
    assert outs[0].reasons[0].rule == "referral:rep-zoe"  # type: ignore[union-attr]


@pytest.mark.parametrize("attrs,rep", [({"need": "no"}, "rep-zoe"), ({"need": "yes"}, None),
                                       ({}, "rep-zoe")])
def test_referral_without_need_or_rep_is_just_scored(policy: Policy, attrs: dict[str, str],
                                                     rep: str | None) -> None:
    s, outs = run(policy, [ev("REP_REFERRAL", T0, rep=rep, attrs=attrs)])
    assert s.stage is Stage.RAW and outs == []


def test_rejection_nurture_requalify_new_handoff(policy: Policy) -> None:
    s, outs = mql(policy)
    s, outs = run(policy, [oc("REJECTED", T0 + 3 * D, reason="no budget")], s)
    assert kinds(outs) == ["T:MQL>NURTURE", "F:REJECTED"]
    fb = outs[1]
    assert isinstance(fb, MarketingFeedback) and fb.reason == "no budget"
    assert fb.campaigns == ("c-ebook", "c-webinar") and fb.score_at_handoff is not None
    assert s.stage is Stage.NURTURE and next_deadline(s) is None
    # a little activity is not enough: the score restarted from zero
    s, outs = run(policy, [ev("EMAIL_OPENED", T0 + 4 * D)], s)
    assert outs == [] and s.stage is Stage.NURTURE
    s, outs = run(policy, [ev("DEMO_REQUESTED", T0 + 5 * D), ev("DEMO_VIEWED", T0 + 6 * D)], s)
    assert kinds(outs) == ["T:NURTURE>MQL", "H:SCORE"]
    h = outs[1]
    assert isinstance(h, QualifiedLead) and h.handed_off_at == T0 + 6 * D
    assert h.handoff_id == f"handoff:L1:{s.seq}"


def test_missed_sla_breach_and_single_escalation(policy: Policy) -> None:
    s, outs = mql(policy)
    h = outs[-1]
    assert isinstance(h, QualifiedLead)
    s2, o = tick(s, policy, h.sla_due_at - 1)
    assert o == [] and s2 is s
    now = h.sla_due_at + 5 * 60_000
    s3, o = tick(s, policy, now)
    assert kinds(o) == ["F:SLA_BREACHED", "H:ESCALATION"]
    esc = o[1]
    assert isinstance(esc, QualifiedLead)
    assert esc.queue == policy.sla.escalation_queue
    assert esc.owner_rep_id in policy.routing.by_name["escalation"].reps
    assert esc.handed_off_at == now and esc.sla_due_at == now + 24 * H
    assert o[0].occurred_at == h.sla_due_at  # type: ignore[union-attr]
    # idempotent; the escalation's own deadline is next
    assert tick(s3, policy, now) == (s3, [])
    assert next_deadline(s3) == esc.sla_due_at
    assert tick(s3, policy, esc.sla_due_at - 1) == (s3, [])
    # the original state was not touched
    assert next_deadline(s) == h.sla_due_at


def test_escalation_not_contacted_is_a_second_breach_without_escalation(policy: Policy
                                                                        ) -> None:
    s, outs = mql(policy)
    h = outs[-1]
    assert isinstance(h, QualifiedLead)
    s, o = tick(s, policy, h.sla_due_at)
    esc = o[1]
    assert isinstance(esc, QualifiedLead) and esc.sla_due_at == h.sla_due_at + 24 * H
    s, o = tick(s, policy, esc.sla_due_at + 3 * H)
    assert kinds(o) == ["F:SLA_BREACHED"]  # reported, not escalated again
    fb = o[0]
    assert isinstance(fb, MarketingFeedback)
    assert fb.reason == "escalation_sla_breached" and fb.occurred_at == esc.sla_due_at
    assert fb.score_at_handoff == h.score and fb.feedback_id == f"feedback:L1:{s.seq}"
    assert next_deadline(s) is None
    assert tick(s, policy, esc.sla_due_at + 10 * D) == (s, [])
    assert decode_state(encode_state(s)) == s
    # a contact after all that still counts as the first contact, and breaches nothing more
    s, o = run(policy, [oc("ACCEPTED", esc.sla_due_at + 5 * D)], s)
    assert kinds(o) == ["T:MQL>SAL", "F:ACCEPTED"]
    assert o[1].hours_to_first_contact == pytest.approx(48 + 24 + 120)  # type: ignore


@pytest.mark.parametrize("first", ["ACCEPTED", "CONTACTED"])
def test_accept_or_contact_stops_the_clock(policy: Policy, first: str) -> None:
    s, _outs = mql(policy)
    s, _o = run(policy, [oc(first, T0 + 2 * D + 5 * H)], s)
    assert next_deadline(s) is None
    assert tick(s, policy, T0 + 30 * D)[1] == []


def test_late_contact_gets_breach_and_escalation_then_contacts_the_escalation(
        policy: Policy) -> None:
    s0, outs = mql(policy)
    h = outs[-1]
    assert isinstance(h, QualifiedLead)
    contact = oc("CONTACTED", h.sla_due_at + 2 * H)
    s, o = run(policy, [contact], s0)
    assert kinds(o) == ["F:SLA_BREACHED", "H:ESCALATION"]
    fb, esc = o
    assert isinstance(fb, MarketingFeedback) and isinstance(esc, QualifiedLead)
    assert fb.occurred_at == h.sla_due_at and fb.reason == "sla_breached"
    assert esc.handed_off_at == h.sla_due_at and esc.sla_due_at == h.sla_due_at + 24 * H
    assert esc.queue == policy.sla.escalation_queue
    assert next_deadline(s) is None  # the contact (in time for the escalation) stops it
    # exactly what a tick at the deadline, then the contact, gives
    t, o_tick = tick(s0, policy, h.sla_due_at)
    t, o_contact = step(t, contact, policy, contact.occurred_at)
    assert o_contact == [] and o == o_tick
    assert encode_state(t) == encode_state(s)
    s, o = run(policy, [oc("ACCEPTED", h.sla_due_at + 3 * H)], s)
    assert kinds(o) == ["T:MQL>SAL", "F:ACCEPTED"]
    assert o[1].hours_to_first_contact == pytest.approx(50.0)  # type: ignore[union-attr]


@pytest.mark.parametrize("otype", ["CONTACTED", "ACCEPTED", "REJECTED"])
def test_outcome_after_both_deadlines_reports_both_breaches(policy: Policy, otype: str
                                                            ) -> None:
    s0, outs = mql(policy)
    h = outs[-1]
    assert isinstance(h, QualifiedLead)
    late = oc(otype, h.sla_due_at + 30 * H, reason="r")
    s, o = run(policy, [late], s0)
    assert kinds(o)[:3] == ["F:SLA_BREACHED", "H:ESCALATION", "F:SLA_BREACHED"]
    assert [x.reason for x in o[:3] if isinstance(x, MarketingFeedback)] == [
        "sla_breached", "escalation_sla_breached"]
    assert o[2].occurred_at == h.sla_due_at + 24 * H  # type: ignore[union-attr]
    # the same records as ticks at both deadlines, then the outcome
    t, o1 = tick(s0, policy, h.sla_due_at)
    t, o2 = tick(t, policy, h.sla_due_at + 24 * H)
    t, o3 = step(t, late, policy, late.occurred_at)
    assert o == o1 + o2 + o3
    assert encode_state(t) == encode_state(s) and next_deadline(s) is None


def test_contact_exactly_at_the_deadline_is_in_time(policy: Policy) -> None:
    s, outs = mql(policy)
    h = outs[-1]
    assert isinstance(h, QualifiedLead)
    s, o = run(policy, [oc("CONTACTED", h.sla_due_at)], s)
    assert o == [] and next_deadline(s) is None


def test_sales_pipeline_to_won_with_converted_feedback(policy: Policy) -> None:
    s, _ = mql(policy)
    t = T0 + 2 * D
    s, o = run(policy, [oc("CONTACTED", t + 3 * H)], s)
    assert o == []
    s, o = run(policy, [oc("ACCEPTED", t + 4 * H, rep="rep-dan")], s)
    assert kinds(o) == ["T:MQL>SAL", "F:ACCEPTED"]
    assert o[1].hours_to_first_contact == pytest.approx(3.0)  # type: ignore[union-attr]
    s, o = run(policy, [oc("MEETING_HELD", t + 2 * D, rep=None)], s)
    assert kinds(o) == ["T:SAL>SQL"]
    s, o = run(policy, [oc("OPPORTUNITY_CREATED", t + 5 * D, rep=None)], s)
    assert kinds(o) == ["T:SQL>OPPORTUNITY"]
    s, o = run(policy, [oc("WON", t + 20 * D, amount=42_000.0)], s)
    assert kinds(o) == ["T:OPPORTUNITY>WON", "F:CONVERTED"]
    fb = o[1]
    assert isinstance(fb, MarketingFeedback)
    assert fb.amount == 42_000.0 and fb.campaigns == ("c-ebook", "c-webinar")
    assert fb.hours_to_first_contact is None  # reported once, on ACCEPTED
    rec = fb.to_record()
    assert rec["type"] == "CONVERTED" and rec["feedback_id"].startswith("feedback:L1:")
    assert s.stage is Stage.WON and s.owner == "rep-dan"
    # terminal: later outcomes and events move nothing
    s2, o = run(policy, [oc("LOST", t + 30 * D, reason="x"), ev("DEMO_REQUESTED", t + 31 * D)], s)
    assert o == [] and s2.stage is Stage.WON


def test_lost_then_recycled(policy: Policy) -> None:
    s, _ = mql(policy)
    s, o = run(policy, [oc("LOST", T0 + 2 * D + 5 * H, reason="price")], s)
    assert kinds(o) == ["T:MQL>LOST", "F:LOST"] and o[1].reason == "price"  # type: ignore
    s, o = run(policy, [oc("RECYCLED", T0 + 60 * D, reason="next year")], s)
    assert kinds(o) == ["T:LOST>NURTURE", "F:RECYCLED"]


@pytest.mark.parametrize(
    "stage_items,outcome,expect",
    [
        ([], "WON", ["T:RAW>WON", "F:CONVERTED"]),  # sales is authoritative
        ([], "ACCEPTED", ["T:RAW>SAL", "F:ACCEPTED"]),
        ([], "CONTACTED", []),
        ([], "REJECTED", ["T:RAW>NURTURE", "F:REJECTED"]),
    ],
)
def test_outcomes_that_do_not_fit_the_stage(policy: Policy, stage_items: list[Any],
                                            outcome: str, expect: list[str]) -> None:
    _s, o = run(policy, [*stage_items, oc(outcome, T0, reason="r", amount=1.0)])
    assert kinds(o) == expect


def test_backward_outcome_is_ignored_and_counted(policy: Policy) -> None:
    s, _ = mql(policy)
    s, _ = run(policy, [oc("MEETING_HELD", T0 + 3 * D)], s)
    before = s.ignored
    s, o = run(policy, [oc("ACCEPTED", T0 + 4 * D)], s)
    assert o == [] and s.stage is Stage.SQL and s.ignored == before + 1


@pytest.mark.parametrize(
    "attrs,rule",
    [
        ({"email": "bob@rivalcorp.com"}, "competitor"),
        ({"company": "Leadzilla"}, "competitor"),
        ({"title": "Student"}, "student"),
        ({"email": "kid@state.edu"}, "student"),
        ({"title": "Marketing Intern"}, "student"),
    ],
)
def test_disqualify_rules(policy: Policy, attrs: dict[str, str], rule: str) -> None:
    s, o = run(policy, [ev("CONTENT_DOWNLOAD", T0, attrs={**BANT, **attrs})])
    assert kinds(o) == ["T:RAW>DISQUALIFIED", "F:DISQUALIFIED"]
    assert o[1].reason == rule  # type: ignore[union-attr]
    assert o[0].reasons[0].rule == f"disqualify:{rule}"  # type: ignore[union-attr]
    s, o = run(policy, [ev("DEMO_REQUESTED", T0 + H), ev("PRICING_PAGE_VISIT", T0 + 2 * H),
                        oc("ACCEPTED", T0 + 3 * H)], s)
    assert o == [] and s.stage is Stage.DISQUALIFIED


def test_erasure_drops_personal_data_and_ignores_later_events(policy: Policy) -> None:
    s, _ = mql(policy)
    events_before = s.events
    s, o = run(policy, [ev("ERASURE_REQUESTED", T0 + 3 * D)], s)
    assert kinds(o) == ["T:MQL>ERASED"]
    assert s.stage is Stage.ERASED
    assert s.profile == {} and s.history == [] and s.campaigns == []
    assert s.first_touch is None and s.contrib == {} and s.owner is None
    assert s.events == events_before + 1
    blob = encode_state(s)
    for secret in (b"vp@acme.com", b"Acme", b"c-ebook", b"VP Marketing"):
        assert secret not in blob
    s2, o = run(policy, [ev("DEMO_REQUESTED", T0 + 4 * D, attrs=BANT), oc("WON", T0 + 5 * D)], s)
    assert o == [] and s2.profile == {} and s2.ignored == s.ignored + 2
    assert next_deadline(s2) is None


def test_negative_events_and_floor(policy: Policy) -> None:
    s, _o = run(policy, [ev("UNSUBSCRIBED", T0), ev("EMAIL_BOUNCED", T0 + H)])
    from streams.domain.scoring import current_score, raw_score_at
    assert raw_score_at(s, s.clock, policy.scoring) < 0
    assert current_score(s, policy.scoring) == policy.scoring.floor


def test_cap_limits_email_opens_per_window(policy: Policy) -> None:
    items = [ev("EMAIL_OPENED", T0 + i * H) for i in range(10)]
    s, _ = run(policy, items)
    assert sum(v for v in s.contrib.values()) == pytest.approx(3.0, rel=1e-3)


def test_asset_rule_adds_points(policy: Policy) -> None:
    s, _ = run(policy, [ev("CONTENT_DOWNLOAD", T0, asset="pricing-roi")])
    assert s.contrib["pricing-and-roi-assets"] == pytest.approx(10.0)
    s, _ = run(policy, [ev("CONTENT_DOWNLOAD", T0, lead="L2", asset="ebook")])
    assert "pricing-and-roi-assets" not in s.contrib


def test_decay_halves_after_half_life(policy: Policy) -> None:
    from streams.domain.scoring import score_at
    s, _ = run(policy, [ev("DEMO_REQUESTED", T0)])
    hl = int(policy.scoring.half_life_ms)
    assert score_at(s, T0 + hl, policy.scoring) == pytest.approx(20.0)


def test_duplicate_event_returns_same_state_and_no_outputs(policy: Policy) -> None:
    e = ev("CONTENT_DOWNLOAD", T0, attrs=BANT)
    s, _ = run(policy, [e])
    s2, o = step(s, e, policy, T0)
    assert s2 is s and o == []


def test_unknown_event_scores_nothing_and_is_counted(policy: Policy) -> None:
    s, o = run(policy, [ev("UNKNOWN", T0)])
    assert o == [] and s.score_sum == 0 and s.ignored == 1 and s.events == 1
    rec = ev("CONTENT_DOWNLOAD", T0).to_record()
    rec["type"] = "FUTURE_TYPE"
    assert LeadEvent.from_record(rec).type == "UNKNOWN"


def test_routing_is_deterministic_and_balanced(policy: Policy) -> None:
    from collections import Counter

    from streams.domain.routing import assign_rep
    reps = policy.routing.by_name["mid-market-na"].reps
    got = Counter(assign_rep(f"L-{i}", reps) for i in range(4000))
    assert set(got) == set(reps)
    assert max(got.values()) / min(got.values()) < 1.25
    assert all(assign_rep(f"L-{i}", reps) == assign_rep(f"L-{i}", reps) for i in range(50))


@pytest.mark.parametrize(
    "attrs,queue",
    [
        ({"country": "US", "employees": "5000"}, "enterprise-na"),
        ({"country": "CA", "employees": "300"}, "mid-market-na"),
        ({"country": "US", "employees": "20"}, "smb-na"),
        ({"country": "DE", "employees": "20"}, "emea"),
        ({"country": "BR", "employees": "900"}, "general"),
    ],
)
def test_routing_by_territory_and_segment(policy: Policy, attrs: dict[str, str],
                                          queue: str) -> None:
    from streams.domain.routing import choose_queue
    s = LeadState("L")
    s.profile = attrs
    assert choose_queue(s, policy.routing).name == queue


def test_records_round_trip(policy: Policy) -> None:
    e = ev("CONTENT_DOWNLOAD", T0, attrs={"a": "b"}, campaign="c", asset="x", rep="r")
    assert LeadEvent.from_record(e.to_record()) == e
    o = oc("WON", T0, amount=3.0, reason=None)
    assert SalesOutcome.from_record(o.to_record()) == o


def test_state_encoding_round_trip_and_size(policy: Policy) -> None:
    s, _ = mql(policy)
    s, _ = run(policy, [oc("CONTACTED", T0 + 3 * D)], s)
    blob = encode_state(s)
    back = decode_state(blob)
    assert encode_state(back) == blob
    assert back.stage is s.stage and back.score_sum == s.score_sum and back.seen == s.seen
    assert back.history == s.history and back.ho_contact == s.ho_contact
    assert len(blob) < 1024
    # decoded state keeps deduplicating and behaves the same
    e = seed_story()[0]
    assert step(back, LeadEvent(e.event_id, "L1", e.type, e.occurred_at), policy, 0)[1] == []


def test_transition_records_match_contract_shape(policy: Policy) -> None:
    _, outs = mql(policy)
    rec = outs[0].to_record()
    assert set(rec) == {"transition_id", "lead_id", "from_stage", "to_stage", "occurred_at",
                        "cause_event_id", "score", "fit_grade", "criteria_met", "reasons",
                        "policy_version"}
    assert rec["transition_id"] == "transition:L1:1"
    assert all(set(r) == {"rule", "points"} for r in rec["reasons"])
