"""Time you can trust (contract 1b): score and caps do not depend on arrival order, and SLA
deadlines give the same records whether a tick ran before a late outcome or not."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import (
    LeadEvent,
    LeadState,
    MarketingFeedback,
    Output,
    SalesOutcome,
    decode_state,
    encode_state,
    next_deadline,
    step,
    tick,
)
from streams.domain.criteria import met
from streams.domain.models import LEGACY_CAP_T, SALES_OUTCOME_TYPES
from streams.domain.policy import Policy, policy_from_dict
from streams.domain.scoring import CAP_WINDOWS, raw_score_at

H = 3_600_000
D = 24 * H
WEEK = 7 * D
T0 = 1_790_000_000_000
W0 = T0 - T0 % WEEK  # a 7-day cap window starts here
POLICY_FILE = Path(__file__).resolve().parents[3] / "policy" / "default.yaml"


@pytest.fixture(scope="module")
def still_policy() -> Policy:
    """The default policy where no stage can ever change (thresholds out of reach, no
    disqualify rules, referrals need a criterion no event gives), plus a campaign rule on
    capped types: the whole state must then be order-independent."""
    doc = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    doc["version"] = "still-1"
    doc["stages"]["engaged"]["score"] = 1e12
    doc["stages"]["mql"]["score"] = 1e12
    doc["disqualify"] = []
    doc["scoring"]["rules"].append({"name": "promo", "campaign": "promo-*", "points": 4,
                                    "events": ["EMAIL_CLICKED", "PRICING_PAGE_VISIT"]})
    doc["scoring"]["caps"]["DEMO_VIEWED"] = {"max": 1, "per_days": 3}
    return policy_from_dict(doc, "still.yaml")


def run(policy: Policy, events: list[Any]) -> LeadState:
    s: LeadState | None = None
    for e in events:
        s, _ = step(s, e, policy, e.occurred_at)
    assert s is not None
    return s


# ---------------------------------------------------------------- caps, by example

def pricing(eid: str, t: int) -> LeadEvent:
    return LeadEvent(eid, "L1", "PRICING_PAGE_VISIT", t, "t", None, None, None, {})


def test_cap_keeps_the_first_two_by_event_time_whatever_the_order(policy: Policy) -> None:
    """Cap 2 per 7 days; the third visit of the window arrives first when reversed."""
    t = W0 + H
    visits = [pricing("p1", t), pricing("p2", t + 5 * D), pricing("p3", t + 5 * D + H)]
    fwd, rev = run(policy, visits), run(policy, visits[::-1])
    sc = policy.scoring
    a, b = raw_score_at(fwd, fwd.clock, sc), raw_score_at(rev, rev.clock, sc)
    assert a == pytest.approx(47.227, abs=1e-3)  # (was 49.976 reversed: p3 counted too)
    assert b == pytest.approx(a, rel=1e-12)
    assert fwd.caps == rev.caps == {7: {t // WEEK: ((t, (("PRICING_PAGE_VISIT", 25.0),)),
                                                    (t + 5 * D,
                                                     (("PRICING_PAGE_VISIT", 25.0),)))}}
    assert rev.contrib.keys() == {"PRICING_PAGE_VISIT"}
    assert decode_state(encode_state(rev)) == rev


def test_a_displaced_event_takes_its_rule_points_with_it(still_policy: Policy) -> None:
    t = W0 + H
    late = LeadEvent("c0", "L1", "EMAIL_CLICKED", t, "t", None, None, None, {})
    promo = [LeadEvent(f"c{i}", "L1", "EMAIL_CLICKED", t + i * H, "t", "promo-x", None, None,
                       {}) for i in (1, 2, 3)]
    s = run(still_policy, [*promo, late])
    assert [p for _, p in s.caps[5][t // WEEK]] == [
        (("EMAIL_CLICKED", 3.0),), (("EMAIL_CLICKED", 3.0), ("promo", 4.0)),
        (("EMAIL_CLICKED", 3.0), ("promo", 4.0))]
    hl = still_policy.scoring.half_life_ms
    f = 2.0 ** ((s.anchor - s.clock) / hl)
    two_promos = 4.0 * (2.0 ** (-2 * H / hl) + 2.0 ** (-H / hl))  # c1, c2 seen at c3's time
    assert s.contrib["promo"] * f == pytest.approx(two_promos, rel=1e-12)
    assert run(still_policy, [late, *promo]).caps == s.caps


def test_equal_times_are_decided_by_points_not_arrival(still_policy: Policy) -> None:
    t = W0 + H
    same = [LeadEvent(f"v{i}", "L1", "PRICING_PAGE_VISIT", t, "t", c, None, None, {})
            for i, c in enumerate(["promo-a", None, "promo-b"])]
    states = [run(still_policy, order) for order in (same, same[::-1], same[1:] + same[:1])]
    assert states[0].caps == states[1].caps == states[2].caps
    sc = still_policy.scoring
    scores = {round(raw_score_at(s, t, sc), 9) for s in states}
    assert scores == {54.0}  # the plain visit (lowest points) and one promo visit


def test_cap_memory_is_bounded_and_older_late_events_are_dropped(policy: Policy) -> None:
    """PRICING_PAGE_VISIT in CAP_WINDOWS + 1 weekly windows, one visit each: in time order
    all count; newest first, the oldest window is beyond memory when it arrives: dropped."""
    visits = [pricing(f"p{i}", W0 + i * WEEK + H) for i in range(CAP_WINDOWS + 1)]
    fwd, rev = run(policy, visits), run(policy, visits[::-1])
    assert len(fwd.caps[7]) == len(rev.caps[7]) == CAP_WINDOWS
    assert fwd.caps == rev.caps  # the same latest CAP_WINDOWS windows
    sc = policy.scoring
    a, b = raw_score_at(fwd, fwd.clock, sc), raw_score_at(rev, rev.clock, sc)
    oldest = 25.0 * 2.0 ** ((visits[0].occurred_at - fwd.clock) / sc.half_life_ms)
    assert b == pytest.approx(a - oldest, rel=1e-12)
    assert rev.counts[7] == CAP_WINDOWS + 1 and len(rev.history) == CAP_WINDOWS + 1
    # within the bound (drop the oldest), any order is exact
    assert raw_score_at(run(policy, visits[1:][::-1]), fwd.clock, sc) == pytest.approx(
        raw_score_at(run(policy, visits[1:]), fwd.clock, sc), rel=1e-12)


def test_displacement_after_a_reanchor_stays_finite_and_exact(policy: Policy) -> None:
    """Contributions are kept scaled to the anchor; a late event displacing one counted
    before a re-anchor (~30 years later here) subtracts it at the new anchor."""
    hl = int(policy.scoring.half_life_ms)
    far = LeadEvent("far", "L1", "DEMO_REQUESTED", W0 + 300 * hl, "t", None, None, None, {})
    t = W0 + H
    visits = [pricing("p1", t + 2 * H), pricing("p2", t + 3 * H), pricing("p0", t)]
    s = run(policy, [*visits[:2], far, visits[2]])
    ref = run(policy, [visits[2], visits[0], far])
    assert s.caps == ref.caps and s.anchor == ref.anchor == far.occurred_at
    sc = policy.scoring
    for at in (t + 4 * H, far.occurred_at):
        assert raw_score_at(s, at, sc) == pytest.approx(raw_score_at(ref, at, sc), rel=1e-9)
    assert all(math.isfinite(v) for v in s.contrib.values())


# ---------------------------------------------------------------- caps, any order

ATTR_SUBSETS = st.sampled_from([  # one value per attribute: the profile is order-free
    {}, {"budget": "yes", "need": "yes"}, {"employees": "500", "country": "US"},
    {"title": "VP Sales"}, {"authority": "yes", "timeframe": "Q1"},
])
TYPES = ["EMAIL_OPENED", "EMAIL_OPENED", "EMAIL_CLICKED", "PRICING_PAGE_VISIT",
         "TRADE_SHOW_SCAN", "DEMO_VIEWED", "CONTENT_DOWNLOAD", "WEBINAR_ATTENDED",
         "EMAIL_BOUNCED", "FORM_SUBMITTED", "PROFILE_UPDATED", "MEETING_BOOKED", "UNKNOWN"]


@st.composite
def clustered_events(draw: Any, span: int) -> list[LeadEvent]:
    """Up to 4 bursts of at most 6 days anywhere in `span`: each capped type (windows of
    3, 7 or 30 days) then has events in at most CAP_WINDOWS windows, the memory's bound."""
    origins = draw(st.lists(st.integers(0, span), min_size=1, max_size=3))
    n = draw(st.integers(1, 30))
    out = []
    for i in range(n):
        t = W0 + draw(st.sampled_from(origins)) + draw(st.integers(0, 6 * D))
        if draw(st.booleans()):
            t -= t % H  # equal times happen
        out.append(LeadEvent(
            f"e{i}", "L1", draw(st.sampled_from(TYPES)), t, "t",
            draw(st.sampled_from([None, "promo-1", "c2"])),
            draw(st.sampled_from([None, "pricing-x", "gartner-1"])),
            draw(st.sampled_from([None, "rep-q"])), draw(ATTR_SUBSETS)))
    return out


def scale_of(policy: Policy, events: list[LeadEvent], at: int) -> float:
    """A magnitude to compare sums of decayed points with: every point, every rule."""
    sc = policy.scoring
    return sum((abs(sc.points.get(e.type, 0.0)) + 15.0)
               * 2.0 ** ((e.occurred_at - at) / sc.half_life_ms) for e in events)


def rescaled_contrib(s: LeadState, policy: Policy, at: int) -> dict[str, float]:
    f = 2.0 ** ((s.anchor - at) / policy.scoring.half_life_ms)
    return {k: v * f for k, v in s.contrib.items()}


# compared below; or kept by arrival by design: first/last touch, and `criteria`, a display
# snapshot taken at the last profile change (`criteria.met` is the live value)
ORDER_FREE = {"anchor", "score_sum", "contrib", "history", "seen", "campaigns",
              "first_touch", "last_touch", "criteria"}


def assert_same_history_state(policy: Policy, a: LeadState, b: LeadState,
                              events: list[LeadEvent]) -> None:
    at = a.clock
    assert b.clock == at
    sc = policy.scoring
    tol = 1e-9 * scale_of(policy, events, at) + 1e-300
    assert abs(raw_score_at(a, at, sc) - raw_score_at(b, at, sc)) <= tol
    ca, cb = rescaled_contrib(a, policy, at), rescaled_contrib(b, policy, at)
    for k in ca.keys() | cb.keys():  # a rule displaced to rounding noise may be absent
        assert abs(ca.get(k, 0.0) - cb.get(k, 0.0)) <= tol, k
    assert a.caps == b.caps
    assert a.counts == b.counts


@settings(max_examples=150, deadline=None)
@given(events=clustered_events(span=16 * WEEK), data=st.data())
def test_any_order_gives_the_same_whole_state(still_policy: Policy, events: list[LeadEvent],
                                              data: st.DataObject) -> None:
    other = data.draw(st.permutations(events))
    a, b = run(still_policy, events), run(still_policy, other)
    assert_same_history_state(still_policy, a, b, events)
    assert sorted(a.history) == sorted(b.history) and set(a.seen) == set(b.seen)
    assert set(a.campaigns) == set(b.campaigns)
    assert met(a, still_policy) == met(b, still_policy)
    for name in LeadState.__slots__:
        if name not in ORDER_FREE:
            assert getattr(a, name) == getattr(b, name), name


@settings(max_examples=100, deadline=None)
@given(events=clustered_events(span=80 * 365 * D), data=st.data())
def test_any_order_gives_the_same_score_and_caps_over_decades(
        policy: Policy, events: list[LeadEvent], data: st.DataObject) -> None:
    """The default policy (stages may move at different moments: score, caps and counts
    still agree), bursts decades apart (re-anchoring between a count and a displacement)."""
    other = data.draw(st.permutations(events))
    a, b = run(policy, events), run(policy, other)
    assert_same_history_state(policy, a, b, events)
    assert decode_state(encode_state(b)) == b


# ---------------------------------------------------------------- SLA deadlines

BANT = {"budget": "yes", "authority": "yes", "need": "yes", "timeframe": "Q1",
        "employees": "500", "country": "US", "title": "VP Marketing"}


@st.composite
def handed_off_histories(draw: Any) -> list[Any]:
    """A lead that reaches MQL at T0 + 2h, then outcomes and events over the next days, in
    event-time order."""
    items: list[Any] = [
        LeadEvent("q1", "L1", "CONTENT_DOWNLOAD", T0, "t", "c1", None, None, BANT),
        LeadEvent("q2", "L1", "WEBINAR_ATTENDED", T0 + H, "t", "c2", None, None, {}),
        LeadEvent("q3", "L1", "PRICING_PAGE_VISIT", T0 + 2 * H, "t", None, None, None, {}),
    ]
    for i in range(draw(st.integers(0, 4))):
        items.append(SalesOutcome(f"o{i}", "L1", draw(st.sampled_from(SALES_OUTCOME_TYPES)),
                                  T0 + 2 * H + draw(st.integers(0, 120 * H)),
                                  draw(st.sampled_from([None, "rep-r"])), "why", 5.0))
    for i in range(draw(st.integers(0, 3))):
        items.append(LeadEvent(f"x{i}", "L1", draw(st.sampled_from(["EMAIL_OPENED",
                                                                   "DEMO_REQUESTED"])),
                               T0 + 2 * H + draw(st.integers(0, 120 * H)), "t", None, None,
                               None, {}))
    items.sort(key=lambda it: (it.occurred_at, isinstance(it, SalesOutcome)))
    return items


def replay(policy: Policy, items: list[Any], tick_before_outcomes: bool
           ) -> tuple[LeadState, list[Output]]:
    """Event-clock replay: deadlines ticked (now = the deadline) before any later lead
    event, and before later outcomes only if `tick_before_outcomes`; then a final tick."""
    s: LeadState | None = None
    outs: list[Output] = []
    for it in items:
        if s is not None and (tick_before_outcomes or isinstance(it, LeadEvent)):
            due = next_deadline(s)
            while due is not None and due < it.occurred_at:
                s, o = tick(s, policy, due)
                outs += o
                due = next_deadline(s)
        s, o = step(s, it, policy, it.occurred_at)
        outs += o
    assert s is not None
    for _ in range(3):
        due = next_deadline(s)
        if due is not None:
            s, o = tick(s, policy, due)
            outs += o
    return s, outs


@settings(max_examples=200, deadline=None)
@given(items=handed_off_histories())
def test_late_outcome_gives_what_the_missed_tick_would_have(policy: Policy,
                                                            items: list[Any]) -> None:
    s_tick, o_tick = replay(policy, items, tick_before_outcomes=True)
    s_late, o_late = replay(policy, items, tick_before_outcomes=False)
    assert [o.to_record() for o in o_late] == [o.to_record() for o in o_tick]
    assert encode_state(s_late) == encode_state(s_tick)
    assert next_deadline(s_tick) is None  # every deadline handled
    breaches = [o for o in o_tick if isinstance(o, MarketingFeedback)
                and o.type.value == "SLA_BREACHED"]
    escalations = [o for o in o_tick if getattr(o, "path", None) is not None
                   and o.path.value == "ESCALATION"]  # type: ignore[union-attr]
    assert len(escalations) <= 1 and len(breaches) <= 2
    assert len(escalations) == (1 if breaches else 0)


@settings(max_examples=200, deadline=None)
@given(items=handed_off_histories(), nows=st.lists(st.integers(0, 200 * H), max_size=6))
def test_no_deadline_after_the_escalation_breach(policy: Policy, items: list[Any],
                                                 nows: list[int]) -> None:
    s, _ = replay(policy, items[:3], tick_before_outcomes=True)  # just handed off
    for now in sorted(T0 + n for n in nows):
        s, outs = tick(s, policy, now)
        for o in outs:
            if isinstance(o, MarketingFeedback) and o.reason == "escalation_sla_breached":
                assert next_deadline(s) is None
                assert tick(s, policy, now + 365 * D) == (s, [])
        assert sum(1 for o in outs if isinstance(o, MarketingFeedback)) <= 1
        assert decode_state(encode_state(s)) == s


# ---------------------------------------------------------------- states stored before

# encode_state of the version before format 2 (commit d2b456b): default policy, the seed
# story plus a second pricing visit and an e-mail open, ticked at its deadline (escalated).
FORMAT_1 = (
    b'[1,"L1",2,88.90671451940894,1790000000000,1790180000000,5,5,0,{"budget":"yes",'
    b'"authority":"yes","need":"yes","timeframe":"Q1","employees":"500","country":"US",'
    b'"title":"VP Marketing","email":"vp@acme.com","company":"Acme"},"A",70.0,13,["budget",'
    b'"authority","need","timeframe"],15,"2026.11-1",[0,180000000,2,93600000,7,7200000,7,'
    b'3600000,4,0],[0,1,2,1,7,2,4,1],["c-ebook","c-webinar"],"c-ebook","c-webinar",[0,15.0,'
    b'2,20.467477839935498,7,52.38992414478554,4,1.0493125346878989],[7,2959,2,4,2959,1],'
    b'"CI2NJwD9AJeRhNydAP4AmOaD7AsA/wCZeOd5qAEAAJoP4Ek+AQEAmw==",null,"mgr-olga",'
    b'[1790172800000,1790432000000,"escalation","ESCALATION",58.86582342734116,1,null]]'
)


def test_a_format_1_state_still_decodes(policy: Policy) -> None:
    s = decode_state(FORMAT_1)
    assert s.lead_id == "L1" and s.seq == 5 and s.ho_escalated and not s.ho_esc_breached
    assert s.caps == {7: {2959: ((LEGACY_CAP_T, ()),) * 2}, 4: {2959: ((LEGACY_CAP_T, ()),)}}
    assert decode_state(encode_state(s)) == s  # re-encoded as format 2, lossless
    # the counted-but-unknown visits fill the window: a third visit there is capped
    third = pricing("p9", s.clock + H)
    assert third.occurred_at // WEEK == 2959
    s2, _ = step(s, third, policy, third.occurred_at)
    assert s2.score_sum == s.score_sum and s2.caps == s.caps
    # the escalation's own deadline is enforced now
    assert next_deadline(s) == 1790432000000
    s3, outs = tick(s, policy, 1790432000000)
    assert [(o.type.value, o.reason) for o in outs] == [  # type: ignore[union-attr]
        ("SLA_BREACHED", "escalation_sla_breached")]
    assert next_deadline(s3) is None
