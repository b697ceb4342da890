"""Scoring models (contract 4b, `models:`): validation, one decayed order-independent score
per model, MQL by model with `QualifiedLead.model`, routing by model, the state codec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain import (
    LeadEvent,
    LeadState,
    Output,
    QualifiedLead,
    SalesOutcome,
    decode_state,
    encode_state,
    step,
    tick,
)
from streams.domain.policy import Policy, PolicyError, load_policy, parse_policy, policy_from_dict
from streams.domain.routing import choose_queue
from streams.domain.scoring import model_score_at, raw_score_at

ROOT = Path(__file__).resolve().parents[3]
PL_FILE = ROOT / "policy" / "product-lines.yaml"
H = 3_600_000
D = 24 * H
T0 = 1_790_000_000_000
HOT_PROFILE = {"budget": "yes", "authority": "yes", "need": "yes", "timeframe": "Q1",
               "employees": "500", "country": "US", "title": "VP Marketing"}


@pytest.fixture(scope="module")
def pl() -> Policy:
    return load_policy(PL_FILE)


def pl_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(PL_FILE.read_text(encoding="utf-8"))
    return doc


def ev(eid: str, etype: str, t: int, *, asset: str | None = None, campaign: str | None = None,
       attrs: dict[str, str] | None = None, lead: str = "L1") -> LeadEvent:
    return LeadEvent(eid, lead, etype, t, "t", campaign, asset, None, attrs or {})


def run(policy: Policy, events: list[Any]) -> tuple[LeadState, list[Output]]:
    s: LeadState | None = None
    outs: list[Output] = []
    for e in events:
        s, o = step(s, e, policy, e.occurred_at)
        outs += o
    assert s is not None
    return s, outs


def problems_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as err:
        policy_from_dict(doc, "pl.yaml")
    return [f"{p.path}: {p.message}" for p in err.value.problems]


# ---------------------------------------------------------------- validation

def test_the_shipped_product_lines_policy_is_valid(pl: Policy) -> None:
    assert [m.name for m in pl.models] == ["analytics", "integration"]
    assert [m.name for m in pl.mql_models] == ["analytics", "integration"]
    assert not pl.mql_default
    assert pl.models[0].scoring.half_life_days == 45 and pl.models[0].mql_score == 60
    assert pl.routing.by_name["analytics-desk"].models == frozenset({"analytics"})


def test_default_policy_declares_no_models(policy: Policy) -> None:
    assert policy.models == () and policy.mql_models == () and policy.mql_default


@pytest.mark.parametrize("name", ["Analytics", "default", "9lives", "a b", "x" * 49])
def test_bad_model_names_are_refused(name: str) -> None:
    doc = pl_doc()
    doc["models"][name] = doc["models"].pop("integration")
    doc["stages"]["mql"].pop("any_model")
    doc["routing"]["queues"] = [q for q in doc["routing"]["queues"] if "model" not in q]
    assert any(p.startswith(f"models.{name}:") and "model name" in p for p in problems_of(doc))


def test_unknown_applies_to_types_and_keys_are_refused() -> None:
    doc = pl_doc()
    doc["models"]["analytics"]["applies_to"] = [{"events": ["CONTENT_DOWNLOAD", "PODCAST"]},
                                                {"assett": "x-*"}, {}]
    found = problems_of(doc)
    assert any(p.startswith("models.analytics.applies_to[0].events[1]:")
               and "unknown event type 'PODCAST'" in p for p in found)
    assert any(p.startswith("models.analytics.applies_to[1].assett:") for p in found)
    assert any(p.startswith("models.analytics.applies_to[2]:") and "empty filter" in p
               for p in found)


def test_model_sections_are_checked_like_the_default_scoring() -> None:
    doc = pl_doc()
    m = doc["models"]["integration"]
    m["half_life_days"] = 0
    m["points"]["WEBINAR_WATCHED"] = 3
    m["caps"]["PRICING_PAGE_VISIT"] = {"max": -1, "per_days": 7}
    m.pop("applies_to")
    m["mql_score"] = 5  # below stages.engaged.score
    m["colour"] = "red"
    found = problems_of(doc)
    for path in ("models.integration.half_life_days", "models.integration.points.WEBINAR_WATCHED",
                 "models.integration.caps.PRICING_PAGE_VISIT.max",
                 "models.integration.applies_to", "models.integration.mql_score",
                 "models.integration.colour"):
        assert any(p.startswith(path + ":") for p in found), path


def test_duplicate_model_names_are_refused_with_file_and_line() -> None:
    text = PL_FILE.read_text(encoding="utf-8").replace(
        "  integration:              # APIs", "  analytics:                # APIs")
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "pl.yaml")
    dup = [p for p in err.value.problems if p.path == "models.analytics"]
    assert dup and "duplicate key" in dup[0].message
    line = next(i for i, x in enumerate(text.splitlines(), 1)
                if "analytics:                # APIs" in x)
    assert dup[0].location == f"pl.yaml:{line}"


def test_references_to_models_are_checked() -> None:
    doc = pl_doc()
    doc["stages"]["mql"]["model"] = "payroll"
    doc["routing"]["queues"][0]["model"] = "payroll"
    found = problems_of(doc)
    assert any(p.startswith("stages.mql.model:") and "not both" in p for p in found)
    assert any(p.startswith("routing.queues[0].model:") and "unknown model 'payroll'" in p
               for p in found)
    doc["stages"]["mql"].pop("any_model")
    assert any(p.startswith("stages.mql.model:") and "unknown model 'payroll'" in p
               for p in problems_of(doc))


def test_problems_carry_file_and_line() -> None:
    text = PL_FILE.read_text(encoding="utf-8").replace(
        '- {asset: "analytics-*"}', '- {events: [PODCAST]}')
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "pl.yaml")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "PODCAST" in x)
    assert [p.location for p in err.value.problems] == [f"pl.yaml:{line}"]


# ---------------------------------------------------------------- scoring

def test_each_model_scores_only_what_it_applies_to(pl: Policy, policy: Policy) -> None:
    events = [ev("e1", "CONTENT_DOWNLOAD", T0, asset="analytics-ebook"),
              ev("e2", "CONTENT_DOWNLOAD", T0 + H, asset="api-guide"),
              ev("e3", "WEBINAR_ATTENDED", T0 + 2 * H, campaign="cmp-integration-q1"),
              ev("e4", "EMAIL_OPENED", T0 + 3 * H),
              ev("e5", "DEMO_REQUESTED", T0 + 4 * H, campaign="cmp-dev-days"),
              ev("e6", "MEETING_BOOKED", T0 + 5 * H, campaign="cmp-analytics-x")]
    s, _ = run(pl, events)
    ana, integ = pl.models
    assert set(s.models) == {"analytics", "integration"}
    # analytics: the e-book (15); MEETING_BOOKED has no analytics points
    assert model_score_at(s, ana, T0 + 5 * H) == pytest.approx(
        15 * 2 ** (-5 / (45 * 24)), rel=1e-12)
    # integration: api guide 10, webinar 15, demo on a cmp-dev campaign 40, decayed
    want = sum(p * 2 ** (-(5 - h) / (14 * 24)) for p, h in ((10, 1), (15, 2), (40, 4)))
    assert model_score_at(s, integ, T0 + 5 * H) == pytest.approx(want, rel=1e-12)
    # the default score is exactly the default policy's: models do not touch it
    d, _ = run(policy, events)
    assert s.score_sum == d.score_sum and s.contrib == d.contrib and s.caps == d.caps


def test_a_model_score_exists_only_once_an_event_counted(pl: Policy) -> None:
    s, _ = run(pl, [ev("e1", "EMAIL_OPENED", T0, asset="analytics-x")])  # 0 points
    assert s.models == {}


def test_model_caps_and_half_life_are_its_own(pl: Policy) -> None:
    visits = [ev(f"p{i}", "PRICING_PAGE_VISIT", T0 + i * H, campaign="cmp-analytics-a")
              for i in range(4)]
    s, _ = run(pl, visits)
    ana = pl.models[0]
    assert model_score_at(s, ana, T0 + 3 * H) == pytest.approx(
        25 * (2 ** (-3 / (45 * 24)) + 2 ** (-2 / (45 * 24))), rel=1e-12)


def test_nurture_reset_and_erasure_clear_model_scores(pl: Policy) -> None:
    s, _ = run(pl, [ev("e1", "CONTENT_DOWNLOAD", T0, asset="analytics-a", attrs=HOT_PROFILE)])
    assert s.models
    s2, _ = step(s, ev("x", "ERASURE_REQUESTED", T0 + H), pl, T0 + H)
    assert s2.models == {} and s2.ho_model is None


# ---------------------------------------------------------------- order independence

_KINDS = [("CONTENT_DOWNLOAD", "analytics-ebook", None), ("CONTENT_DOWNLOAD", "api-guide", None),
          ("PRICING_PAGE_VISIT", None, "cmp-analytics-a"),
          ("PRICING_PAGE_VISIT", None, "cmp-integration-b"),
          ("EMAIL_CLICKED", None, "cmp-analytics-c"), ("WEBINAR_ATTENDED", None, "cmp-dev-x"),
          ("DEMO_REQUESTED", None, "cmp-dev-y"), ("CONTENT_DOWNLOAD", "analytics-pricing-1", None),
          ("EMAIL_OPENED", None, None), ("UNSUBSCRIBED", None, None)]


@pytest.fixture(scope="module")
def still_pl() -> Policy:
    """product-lines.yaml where no stage can change: the whole score state must then be
    order-independent, every model's included."""
    doc = pl_doc()
    doc["version"] = "still-pl"
    doc["stages"]["engaged"]["score"] = 1e12
    doc["stages"]["mql"]["score"] = 1e12
    for m in doc["models"].values():
        m["mql_score"] = 1e12
    doc["disqualify"] = []
    return policy_from_dict(doc, "still-pl.yaml")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_KINDS) - 1), st.integers(0, 40 * D)),
                min_size=1, max_size=25),
       st.randoms(use_true_random=False))
def test_every_model_score_is_order_independent(still_pl: Policy,
                                                rows: list[tuple[int, int]], rnd: Any) -> None:
    events = [ev(f"e{i}", _KINDS[k][0], T0 + t, asset=_KINDS[k][1], campaign=_KINDS[k][2])
              for i, (k, t) in enumerate(rows)]
    shuffled = events[:]
    rnd.shuffle(shuffled)
    a, _ = run(still_pl, events)
    b, _ = run(still_pl, shuffled)
    assert a.clock == b.clock
    assert set(a.models) == set(b.models)
    for m in still_pl.models:
        ma, mb = a.models.get(m.name), b.models.get(m.name)
        if ma is None or mb is None:
            assert ma is mb
            continue
        assert ma.caps == mb.caps
        assert raw_score_at(ma, a.clock, m.scoring) == pytest.approx(
            raw_score_at(mb, b.clock, m.scoring), rel=1e-9, abs=1e-9)
        assert model_score_at(a, m, a.clock) == pytest.approx(
            model_score_at(b, m, b.clock), rel=1e-9, abs=1e-9)
    assert decode_state(encode_state(a)) == a


# ---------------------------------------------------------------- MQL by model

def qualify(policy: Policy, asset_prefix: str, n: int, country: str = "US",
            lead: str = "L1") -> tuple[LeadState, list[Output]]:
    prof = dict(HOT_PROFILE, country=country)
    events = [ev("e0", "FORM_SUBMITTED", T0, attrs=prof, lead=lead)]
    events += [ev(f"e{i}", "CONTENT_DOWNLOAD", T0 + i * H, asset=f"{asset_prefix}-{i}",
                  lead=lead) for i in range(1, n + 1)]
    return run(policy, events)


def handoffs(outs: list[Output]) -> list[QualifiedLead]:
    return [o for o in outs if isinstance(o, QualifiedLead)]


def test_hot_for_analytics_is_mql_and_the_handoff_says_so(pl: Policy) -> None:
    s, outs = qualify(pl, "analytics", 4)  # 4 x 15 = 60 analytics points (minus decay)
    assert handoffs(outs) == []  # 59.9: decay keeps it just short
    s, outs = qualify(pl, "analytics", 5)
    (ho,) = handoffs(outs)
    assert ho.model == "analytics" and ho.queue == "analytics-desk"
    assert ho.owner_rep_id in ("rep-quinn", "rep-rosa")
    assert ho.score == pytest.approx(model_score_at(s, pl.models[0], s.clock))
    assert ho.reasons[0].rule == "analytics:CONTENT_DOWNLOAD"
    assert s.ho_model == "analytics" and s.ho_score == ho.score
    assert ho.to_record()["model"] == "analytics"


def test_integration_routes_by_model_and_country(pl: Policy) -> None:
    _, outs = qualify(pl, "integration", 5)  # 5 x 10 = 50 >= 45
    (ho,) = handoffs(outs)
    assert (ho.model, ho.queue) == ("integration", "integration-na")
    _, outs = qualify(pl, "integration", 5, country="DE")
    (ho,) = handoffs(outs)
    assert (ho.model, ho.queue) == ("integration", "integration-intl")


def test_the_default_score_alone_does_not_qualify_under_any_model(pl: Policy) -> None:
    """100+ default points, nothing for a product line: ENGAGED, never MQL."""
    s, outs = qualify(pl, "ebook", 8)
    assert handoffs(outs) == [] and s.stage.value == "ENGAGED"
    assert s.models == {}


def test_include_default_lets_the_default_score_qualify_with_model_null() -> None:
    doc = pl_doc()
    doc["stages"]["mql"]["include_default"] = True
    p = policy_from_dict(doc, "pl.yaml")
    _, outs = qualify(p, "ebook", 8)
    (ho,) = handoffs(outs)
    assert ho.model is None and ho.queue == "mid-market-na"


def test_mql_model_names_the_only_model_that_counts() -> None:
    doc = pl_doc()
    doc["stages"]["mql"].pop("any_model")
    doc["stages"]["mql"]["model"] = "analytics"
    p = policy_from_dict(doc, "pl.yaml")
    assert [m.name for m in p.mql_models] == ["analytics"]
    _, outs = qualify(p, "integration", 8)
    assert handoffs(outs) == []
    _, outs = qualify(p, "analytics", 5)
    assert [h.model for h in handoffs(outs)] == ["analytics"]


def test_the_hottest_model_names_the_handoff(pl: Policy) -> None:
    """One download counts for both lines (analytics asset, integration campaign):
    analytics 75/60 = 1.25 beats integration 50/45 = 1.11."""
    prof = dict(HOT_PROFILE)
    events = [ev("e0", "FORM_SUBMITTED", T0, attrs=prof)]
    events += [ev(f"e{i}", "CONTENT_DOWNLOAD", T0 + i, asset=f"analytics-{i}",
                  campaign="cmp-integration-x") for i in range(1, 6)]
    _, outs = run(pl, events)
    assert [h.model for h in handoffs(outs)] == ["analytics"]


def test_grade_and_criteria_still_hold_for_models(pl: Policy) -> None:
    events = [ev("e0", "FORM_SUBMITTED", T0, attrs=dict(HOT_PROFILE, budget="no",
                                                          authority="no"))]
    events += [ev(f"e{i}", "CONTENT_DOWNLOAD", T0 + i * H, asset=f"analytics-{i}")
               for i in range(1, 8)]
    _, outs = run(pl, events)
    assert handoffs(outs) == []


def test_an_escalation_keeps_the_model(pl: Policy) -> None:
    s, outs = qualify(pl, "analytics", 5)
    (ho,) = handoffs(outs)
    _, outs = tick(s, pl, ho.sla_due_at)
    (esc,) = handoffs(outs)
    assert esc.path.value == "ESCALATION" and esc.model == "analytics"
    assert esc.queue == "escalation"


def test_a_referral_has_no_model(pl: Policy) -> None:
    e = LeadEvent("r1", "L1", "REP_REFERRAL", T0, "t", None, None, "rep-x",
                  dict(HOT_PROFILE))
    _, outs = run(pl, [e])
    (ho,) = handoffs(outs)
    assert ho.path.value == "REFERRAL" and ho.model is None


def test_rejection_then_requalification_by_another_model(pl: Policy) -> None:
    s, outs = qualify(pl, "analytics", 5)
    s, _ = step(s, SalesOutcome("o1", "L1", "REJECTED", T0 + 10 * H, "rep-quinn", "no fit"),
                pl, T0 + 10 * H)
    assert s.models == {}  # reset_score: every score starts again
    later = [ev(f"i{i}", "CONTENT_DOWNLOAD", T0 + (20 + i) * H, asset=f"api-{i}")
             for i in range(5)]
    s, outs = run_from(pl, s, later)
    assert [h.model for h in handoffs(outs)] == ["integration"]


def run_from(policy: Policy, s: LeadState, events: list[LeadEvent]
             ) -> tuple[LeadState, list[Output]]:
    outs: list[Output] = []
    for e in events:
        s, o = step(s, e, policy, e.occurred_at)
        outs += o
    return s, outs


# ---------------------------------------------------------------- routing

def test_choose_queue_by_model(pl: Policy) -> None:
    s = LeadState("L1")
    s.profile = {"country": "US", "employees": "5000"}
    assert choose_queue(s, pl.routing).name == "enterprise-na"  # default score: no model
    assert choose_queue(s, pl.routing, "analytics").name == "analytics-desk"
    assert choose_queue(s, pl.routing, "integration").name == "integration-na"
    s.profile["country"] = "JP"
    assert choose_queue(s, pl.routing, "integration").name == "integration-intl"
    assert choose_queue(s, pl.routing).name == "general"


def test_a_queue_can_take_the_default_score_by_name() -> None:
    doc = pl_doc()
    doc["routing"]["queues"].insert(0, {"name": "generic", "model": ["default"],
                                        "reps": ["rep-x"]})
    p = policy_from_dict(doc, "pl.yaml")
    s = LeadState("L1")
    assert choose_queue(s, p.routing).name == "generic"
    assert choose_queue(s, p.routing, "analytics").name == "analytics-desk"


# ---------------------------------------------------------------- state codec

# encode_state before scoring models (format 2, commit 56a7e43): default policy, a lead
# handed off to mid-market-na with a capped pricing visit.
FORMAT_2 = (
    b'[2,"L2",2,100.18795230454421,1790000000000,1790010800000,3,4,0,{"budget":"yes",'
    b'"authority":"yes","need":"yes","timeframe":"Q1","employees":"500","country":"US",'
    b'"title":"VP Marketing"},"A",70.0,13,["budget","authority","need","timeframe"],15,'
    b'"2026.11-1+d9b70e39",[6,10800000,7,7200000,0,3600000,8,0],[6,1,7,1,0,1,8,1],'
    b'["c-a","c-b"],"c-a","c-b",[6,10.0,7,25.024079199152087,0,15.028908954370472,'
    b'"pricing-and-roi-assets",10.019272636246981,8,40.11569151477468],'
    b'[[7,2959,[7200000,7,25.0]]],"CI2NJwD9AJeRhNydAP4AmOaD7AsA/wCZeOd5qAEAAJo=",null,'
    b'"rep-eve",[1790007200000,1790180000000,"mid-market-na","SCORE",59.95670840660087,0,'
    b'null]]'
)


def test_a_format_2_state_decodes_and_re_encodes_byte_identical(policy: Policy) -> None:
    s = decode_state(FORMAT_2)
    assert s.lead_id == "L2" and s.ho_queue == "mid-market-na" and s.models == {}
    assert s.ho_model is None and s.caps == {7: {2959: ((1790003600000, (
        ("PRICING_PAGE_VISIT", 25.0),)),)}}
    assert encode_state(s) == FORMAT_2  # no models: still written as format 2


def test_model_scores_round_trip_losslessly(pl: Policy) -> None:
    s, _ = qualify(pl, "analytics", 5)
    s, _ = run_from(pl, s, [
        ev("x1", "PRICING_PAGE_VISIT", s.clock + H, campaign="cmp-integration-a"),
        ev("x2", "PRICING_PAGE_VISIT", s.clock + 2 * H, campaign="cmp-integration-a"),
        ev("x3", "PRICING_PAGE_VISIT", s.clock + 3 * H, campaign="cmp-integration-a")])
    assert s.models["integration"].caps and s.ho_model == "analytics"
    data = encode_state(s)
    assert data.startswith(b"[3,")
    back = decode_state(data)
    assert back == s
    assert back.models["integration"].contrib == s.models["integration"].contrib
    assert encode_state(back) == data


def test_a_handoff_model_alone_is_kept(pl: Policy) -> None:
    s = LeadState("L9")
    s.ho_model = "integration"
    assert decode_state(encode_state(s)).ho_model == "integration"


# ---------------------------------------------------------------- lead view and why not MQL

def test_lead_view_shows_every_model_score(pl: Policy, policy: Policy) -> None:
    from streams.lead_view import lead_view

    s, _ = qualify(pl, "analytics", 3)  # analytics ~45 of 60, integration nothing
    view = lead_view(s, pl, now=s.clock + 45 * D)  # one analytics half-life later
    rows = {m["model"]: m for m in view["model_scores"]}
    assert rows["analytics"]["score"] == 45.0 and rows["analytics"]["score_now"] == 22.5
    assert rows["analytics"]["mql_score"] == 60
    assert rows["integration"] == {"model": "integration", "score": 0.0, "score_now": 0.0,
                                   "mql_score": 45}
    assert view["handoff_model"] is None
    assert "model_scores" not in lead_view(run(policy, [ev("e", "FORM_SUBMITTED", T0)])[0],
                                           policy)


def test_why_not_mql_covers_model_thresholds(pl: Policy) -> None:
    from streams.domain.why import why_not_mql

    s, _ = qualify(pl, "analytics", 3)
    why = why_not_mql(s, pl, s.clock)
    (score,) = [c for c in why.unmet if c.condition == "score"]
    assert (score.value, score.threshold) == (45.0, 60)  # the closest: analytics
    assert "analytics score 45 < 60 (15 short)" in score.text
    assert "integration score 0 < 45 (45 short)" in score.text
    d = score.to_dict()
    assert d["scores"] == [{"model": "analytics", "value": 45.0, "threshold": 60, "met": False},
                           {"model": "integration", "value": 0.0, "threshold": 45,
                            "met": False}]
    assert "analytics score 45 < 60" in why.summary


def test_why_not_mql_says_which_model_is_hot(pl: Policy) -> None:
    from streams.domain.why import mql_checks

    s, _ = qualify(pl, "integration", 5, lead="L5")
    (score, _, _) = mql_checks(s, pl, s.clock)
    assert score.met and score.text == "integration score 49.8 >= 45"  # only the hot one


def test_cli_renders_model_scores(pl: Policy) -> None:
    import io

    from rich.console import Console

    from streams.cli.lead import render
    from streams.lead_view import lead_view

    s, _ = qualify(pl, "analytics", 5)
    out = io.StringIO()
    render(lead_view(s, pl), Console(file=out, width=160))
    text = out.getvalue()
    assert "analytics score" in text and "(MQL at 60)" in text
    assert "by model analytics" in text
