"""Hypothesis properties of step/tick."""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import (
    LeadEvent,
    LeadState,
    MarketingFeedback,
    Output,
    QualifiedLead,
    SalesOutcome,
    Stage,
    StageTransition,
    encode_state,
    step,
    tick,
)
from streams.domain.models import LEAD_EVENT_TYPES, SALES_OUTCOME_TYPES
from streams.domain.policy import Policy
from streams.domain.scoring import raw_score_at, score_at

H = 3_600_000
D = 24 * H
T0 = 1_790_000_000_000
ATTRS = st.sampled_from([
    {},
    {"budget": "yes", "authority": "yes", "need": "yes", "timeframe": "Q1"},
    {"employees": "500", "country": "US", "title": "VP Sales"},
    {"employees": "20", "country": "BR", "title": "Engineer"},
    {"need": "no"},
    {"email": "x@rivalcorp.com"},
    {"title": "Student"},
])
EVENT_TYPES = [t for t in LEAD_EVENT_TYPES if t != "ERASURE_REQUESTED"]


@st.composite
def lead_events(draw: Any, types: list[str] = EVENT_TYPES, max_size: int = 25,
                span: int = 90 * D) -> list[LeadEvent]:
    n = draw(st.integers(1, max_size))
    out = []
    for i in range(n):
        out.append(LeadEvent(
            f"e{i}", "L1", draw(st.sampled_from(types)), T0 + draw(st.integers(0, span)),
            "t", draw(st.sampled_from([None, "c1", "c2"])),
            draw(st.sampled_from([None, "pricing-x", "gartner-1"])),
            draw(st.sampled_from([None, "rep-q"])), draw(ATTRS)))
    return out


@st.composite
def mixed_items(draw: Any) -> list[Any]:
    items: list[Any] = list(draw(lead_events(types=LEAD_EVENT_TYPES)))
    for i in range(draw(st.integers(0, 8))):
        items.append(SalesOutcome(f"o{i}", "L1", draw(st.sampled_from(SALES_OUTCOME_TYPES)),
                                  T0 + draw(st.integers(0, 90 * D)),
                                  draw(st.sampled_from([None, "rep-r"])), "why", 10.0))
    for i in range(draw(st.integers(0, 4))):
        items.append(("tick", T0 + draw(st.integers(0, 120 * D)), i))
    return list(draw(st.permutations(items)))


def run(policy: Policy, items: list[Any]) -> tuple[LeadState | None, list[Output]]:
    s: LeadState | None = None
    outs: list[Output] = []
    for it in items:
        if isinstance(it, tuple):
            if s is not None:
                s, o = tick(s, policy, it[1])
                outs += o
            continue
        s, o = step(s, it, policy, it.occurred_at)
        outs += o
    return s, outs


@settings(max_examples=120, deadline=None)
@given(items=mixed_items(), data=st.data())
def test_replaying_any_event_twice_changes_nothing(policy: Policy, items: list[Any],
                                                   data: st.DataObject) -> None:
    s: LeadState | None = None
    seen: list[Any] = []
    for it in items:
        if isinstance(it, tuple):
            if s is not None:
                s, _ = tick(s, policy, it[1])
            continue
        s, _ = step(s, it, policy, it.occurred_at)
        seen.append(it)
        again = data.draw(st.sampled_from(seen))
        before = encode_state(s)
        s2, outs = step(s, again, policy, again.occurred_at)
        assert outs == []
        if s.stage is not Stage.ERASED:  # after erasure, everything is ignored and counted
            assert s2 is s
        assert s2.profile == s.profile and s2.stage is s.stage
        assert encode_state(s) == before  # the input state was not mutated


POSITIVE_UNCAPPED = ["CONTENT_DOWNLOAD", "WEBINAR_REGISTERED", "WEBINAR_ATTENDED",
                     "NEWSLETTER_SIGNUP", "FORM_SUBMITTED", "DEMO_REQUESTED", "DEMO_VIEWED",
                     "MEETING_BOOKED", "PROFILE_UPDATED", "REP_REFERRAL", "UNSUBSCRIBED",
                     "EMAIL_BOUNCED"]


@settings(max_examples=150, deadline=None)
@given(events=lead_events(types=POSITIVE_UNCAPPED, span=80 * 365 * D), data=st.data())
def test_any_order_gives_the_same_score(policy: Policy, events: list[LeadEvent],
                                        data: st.DataObject) -> None:
    other = data.draw(st.permutations(events))
    a, _ = run(policy, events)
    b, _ = run(policy, other)
    assert a is not None and b is not None and a.clock == b.clock
    sa, sb = raw_score_at(a, a.clock, policy.scoring), raw_score_at(b, b.clock, policy.scoring)
    hl = policy.scoring.half_life_ms
    scale = sum(abs(policy.scoring.points.get(e.type, 0.0)) + 10.0
                * 2.0 ** ((e.occurred_at - a.clock) / hl) for e in events)
    assert math.isfinite(sa) and math.isfinite(sb)
    assert abs(sa - sb) <= 1e-9 * max(scale, 1e-300) + 1e-12


@settings(max_examples=100, deadline=None)
@given(events=lead_events(span=2_000 * 365 * D, max_size=40))
def test_scores_are_always_finite(policy: Policy, events: list[LeadEvent]) -> None:
    s: LeadState | None = None
    for e in events:
        s, outs = step(s, e, policy, e.occurred_at)
        assert math.isfinite(s.score_sum)
        assert all(math.isfinite(v) for v in s.contrib.values())
        for t in (s.clock, s.clock + 10**12, T0):
            assert math.isfinite(score_at(s, t, policy.scoring))
        for o in outs:
            if isinstance(o, StageTransition | QualifiedLead):
                assert math.isfinite(o.score)


FORWARD_BY_EVENTS = {
    (Stage.RAW, Stage.ENGAGED), (Stage.RAW, Stage.MQL), (Stage.ENGAGED, Stage.MQL),
    (Stage.NURTURE, Stage.MQL),
}


@settings(max_examples=150, deadline=None)
@given(items=mixed_items())
def test_no_backward_move_without_an_outcome(policy: Policy, items: list[Any]) -> None:
    outcome_ids = {it.event_id for it in items if isinstance(it, SalesOutcome)}
    _, outs = run(policy, items)
    for o in outs:
        if isinstance(o, StageTransition) and o.cause_event_id not in outcome_ids:
            pair = (o.from_stage, o.to_stage)
            assert pair in FORWARD_BY_EVENTS or o.to_stage in (
                Stage.DISQUALIFIED, Stage.ERASED), pair


ID_RX = re.compile(r"^(transition|handoff|feedback):L1:(\d+)$")


@settings(max_examples=120, deadline=None)
@given(items=mixed_items())
def test_outputs_have_reasons_and_deterministic_ids(policy: Policy, items: list[Any]) -> None:
    _, outs1 = run(policy, items)
    _, outs2 = run(policy, items)
    assert [o.to_record() for o in outs1] == [o.to_record() for o in outs2]
    ids = []
    for o in outs1:
        rec = o.to_record()
        oid = rec.get("transition_id") or rec.get("handoff_id") or rec.get("feedback_id")
        assert oid is not None and ID_RX.match(oid), oid
        ids.append(int(oid.rsplit(":", 1)[1]))
        assert rec["policy_version"] == policy.version
        if isinstance(o, StageTransition | QualifiedLead):
            assert 1 <= len(o.reasons) <= 5
            assert all(r.rule for r in o.reasons)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@settings(max_examples=120, deadline=None)
@given(items=mixed_items())
def test_explain_false_changes_only_the_reasons(policy: Policy, items: list[Any]) -> None:
    """backtest steps with explain=False: same states, same outputs but for `reasons`."""
    s, outs = run(policy, items)
    q: LeadState | None = None
    quiet: list[Output] = []
    for it in items:
        if isinstance(it, tuple):
            if q is not None:
                q, o = tick(q, policy, it[1], inplace=True, explain=False)
                quiet += o
            continue
        q, o = step(q, it, policy, it.occurred_at, inplace=True, explain=False)
        quiet += o
    assert s is not None and q is not None
    assert encode_state(q) == encode_state(s)
    assert all(o.reasons == () for o in quiet if not isinstance(o, MarketingFeedback))
    strip = [{k: v for k, v in o.to_record().items() if k != "reasons"} for o in outs]
    assert strip == [{k: v for k, v in o.to_record().items() if k != "reasons"} for o in quiet]
