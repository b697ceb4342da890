"""An account's SLA and cold timer (streams.domain.account_sla): what meets the SLA, the
breach and its one escalation, the cold time, and order independence with deadlines."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.account_sla import (
    AccountContacted,
    AccountSlaBreached,
    next_deadline,
    step,
    tick,
)
from streams.domain.accounts import (
    AccountMovedBack,
    AccountQualified,
    AccountSignal,
    AccountState,
    facts,
    holds_at,
)
from streams.domain.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[3]
DAY = 86_400_000
HOUR = 3_600_000
T0 = 1_790_000_000_000
POLICY = ROOT / "policy" / "accounts.yaml"


@pytest.fixture(scope="module")
def ap() -> Policy:
    return load_policy(POLICY)


def sig(lead: str, clock: int, score: float = 45.0, role: str | None = "champion",
        version: int = 1, touched: int | None = None, removed: bool = False
        ) -> AccountSignal:
    return AccountSignal(lead, "acme.com", clock, version, removed, score, clock, 30 * DAY,
                         "ENGAGED", role, "A", ("US", "5000", "software"), touched)


def qualified(ap: Policy) -> AccountState:
    state = None
    for i, role in enumerate(["economic_buyer", "champion", "user"]):
        state, _ = step(state, sig(f"l{i}", T0, 45.0, role), ap)
    assert state is not None and state.qualified
    return state


def kinds(outs: list[object]) -> list[str]:
    return [type(o).__name__ for o in outs]


def test_cold_time_is_the_first_millisecond_the_rule_fails(ap: Policy) -> None:
    state = qualified(ap)
    cold = state.cold_at
    assert cold is not None
    # 3 x 45 = 135 decays to the account minimum 120 after 30 days * log2(135/120)
    assert cold - T0 == pytest.approx(30 * DAY * 0.16992500, abs=60_000)
    assert holds_at(state, ap, cold - 1) and not holds_at(state, ap, cold)
    assert next_deadline(state) == state.sla_due_at  # the SLA (2 days) comes first


def test_cold_timer_moves_back_at_its_time_without_another_signal(ap: Policy) -> None:
    state = qualified(ap)
    state, _ = step(state, sig("l0", T0 + HOUR, touched=T0 + HOUR, version=2), ap)
    cold = state.cold_at
    assert cold is not None and next_deadline(state) == cold  # the SLA is met
    same, outs = tick(state, ap, cold - 1)
    assert same is state and outs == []
    after, outs = tick(state, ap, cold + 5 * DAY)
    [back] = outs
    assert isinstance(back, AccountMovedBack) and back.at == cold
    assert not after.qualified and after.moved_back_at == cold
    assert after.stream_time == cold + 5 * DAY and next_deadline(after) is None


def test_a_signal_changing_the_members_moves_the_cold_time(ap: Policy) -> None:
    state = qualified(ap)
    before = state.cold_at
    state, _ = step(state, sig("l3", T0 + HOUR, 60.0, "user"), ap)
    assert state.cold_at is not None and before is not None and state.cold_at > before
    assert holds_at(state, ap, state.cold_at - 1) and not holds_at(state, ap, state.cold_at)


def test_a_contact_of_any_lead_before_the_due_meets_the_sla(ap: Policy) -> None:
    state = qualified(ap)
    t = T0 + 47 * HOUR
    state, outs = step(state, sig("l2", t, 45.0, "user", version=2, touched=t), ap)
    [contacted] = outs
    assert isinstance(contacted, AccountContacted)
    assert contacted.within_sla and contacted.at == t and contacted.queue == "enterprise-na"
    assert next_deadline(state) == state.cold_at
    # a second contact is not reported again
    state2, outs = step(state, sig("l1", t + 1, 45.0, version=2, touched=t + 1), ap)
    assert outs == [] and state2.contacted_at == t


def test_a_contact_before_the_qualification_does_not_count(ap: Policy) -> None:
    state = None
    for i, role in enumerate(["economic_buyer", "champion"]):
        state, _ = step(state, sig(f"l{i}", T0, 45.0, role, touched=T0 - DAY), ap)
    state, outs = step(state, sig("l2", T0 + 1, 45.0, "user"), ap)
    assert kinds(outs) == ["AccountQualified"] and state.contacted_at is None


def test_breach_escalates_once_and_the_escalation_breach_is_only_reported(ap: Policy
                                                                          ) -> None:
    state = qualified(ap)
    due = state.sla_due_at
    assert due is not None
    esc_hours = ap.sla.due_ms(ap.sla.escalation_queue)
    state, outs = tick(state, ap, due)
    breach, esc = outs
    assert isinstance(breach, AccountSlaBreached) and not breach.escalation
    assert breach.queue == "enterprise-na" and breach.due_at == due
    assert isinstance(esc, AccountQualified) and esc.path == "ESCALATION"
    assert esc.qualification_id == "aq:acme.com:1:esc"
    assert esc.queue == ap.sla.escalation_queue and esc.qualified_at == T0
    assert esc.sla_due_at == due + esc_hours and esc.to_record()["sla_due_at"] == esc.sla_due_at
    state, outs = tick(state, ap, due + esc_hours)
    [again] = outs
    assert isinstance(again, AccountSlaBreached) and again.escalation
    assert again.queue == ap.sla.escalation_queue
    assert next_deadline(state) == state.cold_at  # no SLA deadline left, never re-routed


def test_a_contact_after_the_breach_stops_the_escalation_but_is_late(ap: Policy) -> None:
    state = qualified(ap)
    assert state.sla_due_at is not None
    state, _ = tick(state, ap, state.sla_due_at)
    t = state.sla_due_at - HOUR
    state, outs = step(state, sig("l0", t, 45.0, "economic_buyer", version=2, touched=t),
                       ap)
    [contacted] = outs
    assert isinstance(contacted, AccountContacted) and not contacted.within_sla
    assert next_deadline(state) == state.cold_at


def test_deadlines_at_one_tick_run_in_time_order(ap: Policy) -> None:
    state = qualified(ap)
    assert state.cold_at is not None
    _, outs = tick(state, ap, state.cold_at)
    assert kinds(outs) == ["AccountSlaBreached", "AccountQualified", "AccountSlaBreached",
                           "AccountMovedBack"]


def test_an_older_signal_still_brings_its_contact(ap: Policy) -> None:
    state = qualified(ap)
    newer = sig("l0", T0 + 2 * HOUR, 45.0, "economic_buyer", version=3)
    older = sig("l0", T0 + HOUR, 45.0, "economic_buyer", version=2, touched=T0 + HOUR)
    a, _ = step(state, newer, ap)
    a, outs = step(a, older, ap)
    assert a.members["l0"].touched == T0 + HOUR and kinds(outs) == ["AccountContacted"]
    b, _ = step(state, older, ap)
    b, _ = step(b, newer, ap)
    assert a.members == b.members and a.contacted_at == b.contacted_at == T0 + HOUR


def test_encodings_round_trip_and_read_the_older_forms(ap: Policy) -> None:
    s = sig("l0", T0, touched=T0 + 5)
    assert AccountSignal.decode(s.encode()) == s
    plain = sig("l0", T0)
    assert len(json.loads(plain.encode())) == 12  # unchanged bytes without a contact
    assert AccountSignal.decode(plain.encode()) == plain
    state = qualified(ap)
    state, _ = tick(state, ap, state.sla_due_at or 0)
    assert AccountState.decode(state.encode()) == state
    old = json.loads(state.encode())
    for key in ("ca", "esc", "eb", "cold"):
        del old[key]
    back = AccountState.decode(json.dumps(old).encode())
    assert back.cold_at is None and not back.escalated and back.members == state.members


signal_st = st.builds(
    sig,
    lead=st.sampled_from([f"l{i}" for i in range(5)]),
    clock=st.integers(T0, T0 + 20 * DAY),
    score=st.floats(0, 120),
    role=st.sampled_from([None, "economic_buyer", "champion", "technical_evaluator", "user"]),
    version=st.integers(1, 5),
    touched=st.one_of(st.none(), st.integers(T0, T0 + 20 * DAY)),
    removed=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(signals=st.lists(signal_st, max_size=12), seed=st.integers(0, 2**32))
def test_final_state_after_the_deadlines_is_independent_of_signal_order(
        signals: list[AccountSignal], seed: int) -> None:
    """Any order of the same signals, then the deadlines up to a later time: the same
    members (with their contacts), time and verdict, which is the rule at that time."""
    policy = load_policy(POLICY)
    seen: set[tuple[str, int, int]] = set()
    signals = [s for s in signals if (s.lead_id, *s.order()) not in seen
               and not seen.add((s.lead_id, *s.order()))]  # type: ignore[func-returns-value]
    shuffled = signals[:]
    random.Random(seed).shuffle(shuffled)
    end = T0 + 400 * DAY
    finals = []
    for order in (signals, shuffled):
        state = None
        for s in order:
            state, _ = step(state, s, policy)
        if state is None:
            return
        state, _ = tick(state, policy, end)
        finals.append(state)
    a, b = finals
    assert (a.members, a.stream_time, a.qualified) == (b.members, b.stream_time, b.qualified)
    assert a.qualified == holds_at(replace(a, qualified=True), policy, end)
    assert not a.qualified or facts(a, policy).holds


@settings(max_examples=100, deadline=None)
@given(scores=st.lists(st.floats(-30, 150), min_size=3, max_size=7),
       offsets=st.lists(st.integers(0, 10 * DAY), min_size=7, max_size=7))
def test_closed_form_cold_time_equals_the_search(scores: list[float], offsets: list[int]
                                                 ) -> None:
    """The fast estimate, confirmed by the rule, is the first millisecond the search over
    the rule itself finds (negative scores fall back to the search)."""
    from streams.domain.accounts import _cold_search

    policy = load_policy(POLICY)
    roles = ["economic_buyer", "champion", "user", "technical_evaluator"]
    state = None
    for i, score in enumerate(scores):
        state, _ = step(state, sig(f"l{i}", T0 + offsets[i], score, roles[i % 4]), policy)
    assert state is not None
    if not state.qualified:
        return
    assert state.cold_at == _cold_search(state, policy, state.stream_time)
