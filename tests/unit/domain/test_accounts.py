"""Accounts (contract 4b): account key, roles, the lead's signal, the account state and
its MQA rule; the order-independence property."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import LeadEvent, LeadState, step
from streams.domain.accounts import (
    AccountQualified,
    AccountSignal,
    AccountState,
    account_key,
    account_view,
    apply_signal,
    facts,
    role_of,
    signal_of,
    signals_for,
)
from streams.domain.freemail import FREE_MAIL_DOMAINS
from streams.domain.policy import Policy, PolicyError, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[3]
DAY = 86_400_000
T0 = 1_790_000_000_000


@pytest.fixture(scope="module")
def ap() -> Policy:
    return load_policy(ROOT / "policy" / "accounts.yaml")


def sig(lead: str, clock: int, score: float = 40.0, role: str | None = "champion",
        grade: str = "A", version: int = 1, account: str = "acme.com", stage: str = "ENGAGED",
        removed: bool = False) -> AccountSignal:
    return AccountSignal(lead, account, clock, version, removed, score, clock, 30 * DAY,
                         stage, role, grade, ("US", "5000", "software"))


def test_default_policy_has_no_accounts(policy: Policy) -> None:
    assert policy.accounts is None


def test_account_key_attribute_then_domain_never_free_mail(ap: Policy) -> None:
    a = ap.accounts
    assert a is not None
    assert account_key({"account_id": "ACC-1", "email": "x@acme.com"}, a) == "ACC-1"
    assert account_key({"email": "x@Acme.COM"}, a) == "acme.com"
    assert account_key({"email": "x@gmail.com"}, a) is None
    assert account_key({"email": "nope"}, a) is None
    assert account_key({}, a) is None
    assert {"gmail.com", "outlook.com", "yahoo.com", "icloud.com"} <= FREE_MAIL_DOMAINS


def test_roles_by_title(ap: Policy) -> None:
    a = ap.accounts
    assert a is not None
    assert role_of("CFO", a) == "economic_buyer"
    assert role_of("Lead Solutions Architect", a) == "technical_evaluator"
    assert role_of("Director of Marketing", a) == "champion"
    assert role_of("Marketing Manager", a) == "user"
    assert role_of("Student", a) is None and role_of(None, a) is None


def test_invalid_accounts_section_lists_every_problem(policy_text: str) -> None:
    bad = policy_text + ("\naccounts:\n  roles: {champion: ['(']}\n"
                         "  mqa: {roles_covered: 3, min_grade: Z}\n  queue: nowhere\n")
    with pytest.raises(PolicyError) as err:
        parse_policy(bad, "bad.yaml")
    text = str(err.value)
    for path in ("accounts.roles.champion[0]", "accounts.mqa.min_grade",
                 "accounts.mqa.roles_covered", "accounts.queue"):
        assert path in text


def test_qualifies_once_with_a_buying_group_and_deterministic_id(ap: Policy) -> None:
    state = None
    outs: list[object] = []
    for i, role in enumerate(["economic_buyer", "champion", "user"]):
        state, o = apply_signal(state, sig(f"l{i}", T0 + i, 45.0, role), ap)
        outs += o
    assert state is not None and state.qualified
    [q] = outs
    assert isinstance(q, AccountQualified)
    assert q.qualification_id == "aq:acme.com:1"
    assert q.queue == "enterprise-na" and q.owner_rep_id is not None
    assert q.qualified_at == T0 + 2 and q.sla_due_at == T0 + 2 + 48 * 3_600_000
    assert {c.lead_id for c in q.contacts} == {"l0", "l1", "l2"}
    assert 134 < q.score < 136
    # redelivery of any signal changes nothing
    again, o = apply_signal(state, sig("l1", T0 + 1, 45.0, "champion"), ap)
    assert again is state and o == []


def test_two_contacts_do_not_make_an_account(ap: Policy) -> None:
    state = None
    for i in range(2):
        state, out = apply_signal(state, sig(f"l{i}", T0, 80.0, "champion"), ap)
        assert out == []
    assert state is not None
    assert any("engaged contacts 2 < 3" in u for u in facts(state, ap).unmet)


def qualified_state(ap: Policy) -> AccountState:
    state = None
    for i, role in enumerate(["economic_buyer", "champion", "user"]):
        state, _ = apply_signal(state, sig(f"l{i}", T0, 45.0, role), ap)
    assert state is not None and state.qualified
    return state


def test_moves_back_when_contacts_go_cold_and_requalifies_with_next_id(ap: Policy) -> None:
    state = qualified_state(ap)
    # 60 days later a fourth contact shows up: the others have decayed below ENGAGED
    state, out = apply_signal(state, sig("l3", T0 + 60 * DAY, 25.0, "user"), ap)
    assert not state.qualified and state.moved_back_at == T0 + 60 * DAY
    assert [type(o).__name__ for o in out] == ["AccountMovedBack"]
    for i, role in enumerate(["economic_buyer", "champion"]):
        state, out = apply_signal(state, sig(f"l{i}", T0 + 61 * DAY, 50.0, role,
                                             version=2), ap)
    assert state.qualified and state.qualification_id == "aq:acme.com:2"


def test_erasure_removes_the_contribution_and_moves_back(ap: Policy) -> None:
    state = qualified_state(ap)
    state, out = apply_signal(state, sig("l0", T0 + 1, version=2, removed=True), ap)
    assert not state.qualified and out
    gone = state.members["l0"]
    assert gone.removed and gone.score_sum == 0 and gone.role is None
    # a stale signal of the erased lead never brings it back
    state2, out = apply_signal(state, sig("l0", T0, 45.0, "economic_buyer"), ap)
    assert state2 is state and out == []
    view = account_view(state, ap)
    assert "l0" not in {c["lead_id"] for c in view["contacts"]}


def test_state_encoding_round_trips(ap: Policy) -> None:
    state = qualified_state(ap)
    back = AccountState.decode(state.encode())
    assert back == state


def lead_with(profile: dict[str, str], ap: Policy) -> LeadState:
    ev = LeadEvent.from_record({
        "event_id": "e1", "lead_id": "L1", "type": "DEMO_REQUESTED", "occurred_at": T0,
        "source": "web", "campaign_id": None, "asset_id": None, "rep_id": None,
        "attributes": profile})
    state, _ = step(None, ev, ap, T0)
    return state


def test_lead_signal_and_when_it_is_sent(ap: Policy) -> None:
    state = lead_with({"email": "ann@acme.com", "title": "CFO", "country": "US"}, ap)
    s = signal_of(state, ap)
    assert s is not None and s.account_id == "acme.com" and s.role == "economic_buyer"
    assert s.score_at(T0) == pytest.approx(40.0)
    assert signals_for(None, s, s.clock, s.version) == [s]
    assert signals_for(s, s, s.clock, s.version) == []  # nothing the account reads changed
    moved = AccountSignal("L1", "other.com", T0 + 5, 2, score_sum=40.0)
    gone, new = signals_for(s, moved, T0 + 5, 2)
    assert gone.account_id == "acme.com" and gone.removed and gone.order() == (T0 + 5, 2)
    assert new is moved
    [erased] = signals_for(s, None, T0 + 9, 3)
    assert erased.removed and erased.account_id == "acme.com"
    assert signal_of(lead_with({"email": "ann@gmail.com"}, ap), ap) is None


def comparable(state: AccountState) -> tuple[object, ...]:
    return (state.members, state.stream_time, state.qualified)


signal_st = st.builds(
    sig,
    lead=st.sampled_from([f"l{i}" for i in range(6)]),
    clock=st.integers(T0, T0 + 90 * DAY),
    score=st.floats(0, 120),
    role=st.sampled_from([None, "economic_buyer", "champion", "technical_evaluator", "user"]),
    grade=st.sampled_from(["A", "B", "C", "D"]),
    version=st.integers(1, 5),
    stage=st.sampled_from(["RAW", "ENGAGED", "MQL", "DISQUALIFIED"]),
    removed=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(signals=st.lists(signal_st, max_size=14), seed=st.integers(0, 2**32))
def test_account_state_is_independent_of_signal_order(signals: list[AccountSignal],
                                                      seed: int) -> None:
    policy = load_policy(ROOT / "policy" / "accounts.yaml")
    # per lead, distinct (clock, version): the latest signal per lead wins
    seen: set[tuple[str, int, int]] = set()
    signals = [s for s in signals if (s.lead_id, *s.order()) not in seen
               and not seen.add((s.lead_id, *s.order()))]  # type: ignore[func-returns-value]
    shuffled = signals[:]
    random.Random(seed).shuffle(shuffled)
    a = b = None
    for s in signals:
        a, _ = apply_signal(a, s, policy)
    for s in shuffled:
        b, _ = apply_signal(b, s, policy)
    if a is None or b is None:
        assert a is b
        return
    assert comparable(a) == comparable(b)
    latest = {}
    for s in sorted(signals, key=lambda s: s.order()):
        latest[s.lead_id] = s.removal() if s.removed else s
    assert a.members == latest
