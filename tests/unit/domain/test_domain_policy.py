"""Policy loading and validation: every problem, with path and file:line; nothing but
PolicyError ever escapes."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.domain.policy import Policy, PolicyError, load_policy, parse_policy, policy_from_dict


def problems_of(text: str) -> list[tuple[str, str | None, str]]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    return [(p.path, p.location, p.message) for p in info.value.problems]


def test_default_policy_loads(policy: Policy) -> None:
    assert policy.declared_version == "2026.11-1"
    assert re.fullmatch(r"2026\.11-1\+[0-9a-f]{8}", policy.version)
    assert set(policy.criteria_names) >= {"budget", "authority", "need", "timeframe"}
    assert policy.stages.mql_min_grade == "B" and policy.stages.mql_min_criteria == 3
    assert policy.sla.default_hours == 48 and policy.sla.escalation_queue == "escalation"
    assert policy.scoring.points["UNSUBSCRIBED"] < 0 < policy.scoring.points["CONTENT_DOWNLOAD"]
    assert policy.scoring.points["EMAIL_BOUNCED"] < 0
    assert {r.name for r in policy.disqualify} == {"competitor", "student"}
    assert policy.referral.require_criteria == ("need",)


def test_every_problem_is_listed_with_path_and_line(policy_text: str) -> None:
    text = policy_text.replace("DEMO_REQUESTED: 40", "DEMO_REQUESTED: lots")
    text = text.replace("min_grade: B ", "min_grade: E ")
    text = text.replace("escalation_queue: escalation", "escalation_queue: nowhere")
    text = text.replace('equals: "student"', "equals: yes")
    probs = problems_of(text)
    paths = {p for p, _, _ in probs}
    assert {"scoring.points.DEMO_REQUESTED", "stages.mql.min_grade", "sla.escalation_queue",
            "disqualify[1].when.any[2].equals"} <= paths
    lines = text.splitlines()
    for path, loc, _ in probs:
        assert loc is not None and loc.startswith("p.yaml:")
        line = lines[int(loc.split(":")[1]) - 1]
        key = path.rsplit(".", 1)[-1].split("[")[0]
        assert key in line, (path, loc, line)


@pytest.mark.parametrize(
    "mutate,path",
    [
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["scoring"]["points"].__setitem__("BOGUS_EVENT", 3),
         "scoring.points.BOGUS_EVENT"),
        (lambda d: d["scoring"].__setitem__("half_life_days", 0), "scoring.half_life_days"),
        (lambda d: d["scoring"]["caps"]["EMAIL_OPENED"].__setitem__("max", 2.5),
         "scoring.caps.EMAIL_OPENED.max"),
        (lambda d: d["scoring"]["rules"][0].__setitem__("asset", 5), "scoring.rules[0].asset"),
        (lambda d: d["scoring"]["rules"][1].__setitem__("asset_regex", "(unclosed"),
         "scoring.rules[1].asset_regex"),
        (lambda d: d["fit"]["grades"].__setitem__("A", 10), "fit.grades.B"),
        (lambda d: d["fit"]["rules"][0]["when"].__setitem__("gte", "many"),
         "fit.rules[0].when.gte"),
        (lambda d: d["criteria"].__setitem__("x", {"event": "NOPE", "within_days": 3}),
         "criteria.x.event"),
        (lambda d: d["criteria"].__setitem__("y", {"attribute": "a", "between": [1, 2]}),
         "criteria.y.between"),
        (lambda d: d["criteria"].__setitem__("z", {"eval": "__import__('os')"}), "criteria.z"),
        (lambda d: d["stages"]["mql"].__setitem__("min_criteria", 99),
         "stages.mql.min_criteria"),
        (lambda d: d["referral"].__setitem__("require_criteria", ["psychic"]),
         "referral.require_criteria[0]"),
        (lambda d: d["routing"].__setitem__("default_queue", "void"), "routing.default_queue"),
        (lambda d: d["sla"]["targets"].__setitem__("max_breach_rate", 3),
         "sla.targets.max_breach_rate"),
        (lambda d: d["sla"]["follow_up_hours"].__setitem__("nowhere", 4),
         "sla.follow_up_hours.nowhere"),
        (lambda d: d.__setitem__("surprise", 1), "surprise"),
        (lambda d: d["scoring"]["caps"]["EMAIL_OPENED"].__setitem__("per_days", 1e308),
         "scoring.caps.EMAIL_OPENED.per_days"),
        (lambda d: d["scoring"].__setitem__("half_life_days", float("inf")),
         "scoring.half_life_days"),
        (lambda d: d["criteria"].__setitem__("w", {"event": "DEMO_VIEWED", "within_days": 1e300}),
         "criteria.w.within_days"),
    ],
)
def test_specific_problems(policy_text: str, mutate: Any, path: str | None) -> None:
    doc = yaml.safe_load(policy_text)
    mutate(doc)
    with pytest.raises(PolicyError) as info:
        policy_from_dict(doc, "p.yaml")
    paths = [p.path for p in info.value.problems]
    assert paths and all(isinstance(p, str) for p in paths)
    if path is not None:
        assert path in paths, paths


@pytest.mark.parametrize("text", ["", "   \n", "[1, 2", "- a\n- b\n", "version: [\n", "42",
                                  "a: &x [*x]\n", "version: 1\nversion: 2\n", "\x00\x01"])
def test_garbage_is_refused_with_policy_error(text: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "g.yaml")
    assert info.value.problems


def test_duplicate_keys_are_reported(policy_text: str) -> None:
    text = policy_text.replace("  floor: 0 ", "  floor: 0\n  floor: 5 ")
    assert any("duplicate" in m for _, _, m in problems_of(text))


def test_load_missing_file() -> None:
    with pytest.raises(PolicyError):
        load_policy(Path("/nonexistent/policy.yaml"))


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["(", "[a-", "*", "DEMO_VIEWED", "A", "yes"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_mutations_never_crash(policy_text: str, data: st.DataObject) -> None:
    base = yaml.safe_load(policy_text)
    doc = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        where = data.draw(st.sampled_from(paths))
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        junk = data.draw(JUNK)
        if action == "delete":
            del parent[where[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=6))] = junk
        else:
            parent[where[-1]] = junk
    for via_text in (False, True):
        try:
            if via_text:
                parse_policy(yaml.safe_dump(doc), "m.yaml")
            else:
                policy_from_dict(doc, "m.yaml")
        except PolicyError as exc:
            assert exc.problems
            for p in exc.problems:
                assert isinstance(p.path, str) and p.message
                assert "internal validator error" not in p.message, p
