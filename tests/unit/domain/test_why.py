"""Why not MQL: each unmet condition of the MQL rule, with the lead's value and the threshold."""

from __future__ import annotations

from typing import Any

import pytest

from streams.domain import LeadState, encode_state
from streams.domain.policy import Policy, parse_policy
from streams.domain.why import mql_checks, why_not_mql
from tests.unit.domain.test_domain_stories import BANT, T0, D, ev, mql, oc, run

SMALL = {"employees": "5", "country": "BR", "title": "Analyst"}  # fit grade D
PROFILE_A = {"employees": "500", "country": "US", "title": "VP Marketing"}  # fit grade A


def unmet(state: LeadState, policy: Policy, at: int | None = None) -> dict[str, Any]:
    why = why_not_mql(state, policy, state.clock if at is None else at)
    assert why.applies
    return {c.condition: c for c in why.unmet}


def test_score_short_names_value_threshold_and_gap(policy: Policy) -> None:
    s, _ = run(policy, [ev("EMAIL_OPENED", T0, attrs=BANT)])
    got = unmet(s, policy)
    assert list(got) == ["score"]
    c = got["score"]
    assert (c.value, c.threshold) == (1.0, 50)
    assert c.text == "score 1 < 50 (49 short)"


def test_grade_short(policy: Policy) -> None:
    attrs = {**SMALL, "budget": "yes", "authority": "yes", "need": "yes", "timeframe": "Q1"}
    s, _ = run(policy, [ev("DEMO_REQUESTED", T0, attrs=attrs), ev("PRICING_PAGE_VISIT", T0 + 1)])
    got = unmet(s, policy)
    assert list(got) == ["fit_grade"]
    assert (got["fit_grade"].value, got["fit_grade"].threshold) == ("D", "B")
    assert "fit grade D below minimum B" in why_not_mql(s, policy, s.clock).summary


def test_criteria_short_lists_the_missing_ones(policy: Policy) -> None:
    # the lead: score 91, grade A, 1 criterion of 3
    s, _ = run(policy, [ev("DEMO_REQUESTED", T0, attrs={**PROFILE_A, "need": "yes"}),
                        ev("PRICING_PAGE_VISIT", T0 + 1), ev("CONTENT_DOWNLOAD", T0 + 2),
                        ev("NEWSLETTER_SIGNUP", T0 + 3), ev("EMAIL_OPENED", T0 + 4),
                        ev("EMAIL_CLICKED", T0 + 5)])
    assert s.stage.value == "ENGAGED" and s.grade == "A"
    got = unmet(s, policy)
    assert list(got) == ["criteria"]
    c = got["criteria"]
    assert (c.value, c.threshold) == (1, 3)
    assert c.missing == ("budget", "authority", "timeframe", "demo_viewed", "met_rep")
    assert "needs 2 more of: budget, authority" in c.text


def test_every_unmet_condition_is_listed(policy: Policy) -> None:
    s, _ = run(policy, [ev("EMAIL_OPENED", T0, attrs=SMALL)])
    why = why_not_mql(s, policy, s.clock)
    assert [c.condition for c in why.unmet] == ["score", "fit_grade", "criteria"]
    assert why.summary.startswith("not MQL: score 1 < 50")
    assert why.to_dict()["unmet"][2]["missing"][0] == "budget"


def test_all_met_says_it_qualifies_on_its_next_event(policy: Policy, policy_text: str
                                                      ) -> None:
    strict = parse_policy(policy_text.replace("score: 50   ", "score: 70   ")
                          .replace('version: "', 'version: "strict-'), "strict.yaml")
    s, _ = run(strict, [ev("DEMO_REQUESTED", T0, attrs=BANT), ev("PRICING_PAGE_VISIT", T0 + 1)])
    assert s.stage.value == "ENGAGED"  # 65 < 70 under the strict policy
    assert [c.condition for c in why_not_mql(s, strict, s.clock).unmet] == ["score"]
    why = why_not_mql(s, policy, s.clock)  # judged with the default policy: all hold
    assert why.applies and why.unmet == ()
    assert "qualifies on its next event" in why.summary


def test_score_is_judged_as_of_now_decayed(policy: Policy) -> None:
    s, _ = run(policy, [ev("DEMO_REQUESTED", T0, attrs={**PROFILE_A, "need": "yes"}),
                        ev("PRICING_PAGE_VISIT", T0 + 1)])
    assert unmet(s, policy).keys() == {"criteria"}
    later = unmet(s, policy, s.clock + 60 * D)  # two half-lives: 65 -> 16.25
    assert later["score"].value == 16.2 and later["score"].text.startswith("score 16.2 < 50")


def test_history_criteria_expire_as_of_now(policy: Policy) -> None:
    s, _ = run(policy, [ev("DEMO_VIEWED", T0, attrs={**BANT, "budget": "no",
                                                     "authority": "no"})])
    assert "demo_viewed" not in unmet(s, policy).get("criteria", mql_checks(
        s, policy, s.clock)[2]).missing
    assert "demo_viewed" in unmet(s, policy, s.clock + 100 * D)["criteria"].missing


@pytest.mark.parametrize(("items", "applies", "summary"), [
    ([], False, "already MQL: handed off (SCORE) to queue mid-market-na"),
    ([oc("ACCEPTED", T0 + 3 * D)], False, "past MQL: sales moved it to SAL after it was "
     "handed off (SCORE) to queue mid-market-na"),
    ([oc("WON", T0 + 3 * D, amount=10.0)], False, "closed by sales: WON"),
    ([oc("REJECTED", T0 + 3 * D, reason="bad timing")], True,
     "back in nurture (sales rejected or recycled it); not MQL: score 0 < 50 (50 short)"),
])
def test_stages_past_the_question_say_why_it_does_not_apply(
        policy: Policy, items: list[Any], applies: bool, summary: str) -> None:
    s, _ = mql(policy)
    s, _ = run(policy, items, s)
    why = why_not_mql(s, policy, s.clock)
    assert (why.applies, why.summary) == (applies, summary)
    if not applies:
        assert why.checks == () and why.to_dict()["unmet"] == []


def test_disqualified_names_the_rule(policy: Policy) -> None:
    s, _ = run(policy, [ev("DEMO_REQUESTED", T0, attrs={**BANT, "title": "student"})])
    why = why_not_mql(s, policy, s.clock)
    assert not why.applies and why.summary == ("disqualified by rule student: never handed "
                                               "to sales")


def test_the_state_is_not_changed(policy: Policy, policy_text: str) -> None:
    s, _ = run(policy, [ev("DEMO_VIEWED", T0, attrs=BANT)])
    before = encode_state(s)
    other = parse_policy(policy_text.replace('version: "', 'version: "x-'), "x.yaml")
    why_not_mql(s, other, s.clock + 400 * D)
    assert encode_state(s) == before
