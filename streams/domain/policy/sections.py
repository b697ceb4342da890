"""The sections that say what a lead is worth and where it stands: scoring, fit,
criteria, stages and disqualify."""

from __future__ import annotations

from streams.domain.conditions import DAY_MS, Condition, Problems, compile_condition
from streams.domain.models import EVENT_TYPE_INDEX, GRADES, LEAD_EVENT_TYPES
from streams.domain.policy.fields import (
    MAX_DAYS,
    _event_type,
    _glob_or_regex,
    _mapping,
    _name,
    _number,
    _unknown,
)
from streams.domain.policy.model import (
    Cap,
    Criterion,
    DisqualifyRule,
    Fit,
    FitRule,
    ScoreRule,
    Scoring,
    Stages,
)

# keys of `stages.mql` that name scoring models: read by models_section.py
MQL_MODEL_KEYS = frozenset({"model", "any_model", "include_default"})


def _scoring(v: object, problems: Problems, path: str = "scoring",
             extra: frozenset[str] = frozenset()) -> Scoring | None:
    """The default `scoring` section, or a scoring model's (`path`, plus its `extra` keys
    checked by the caller: models_section.py)."""
    d = _mapping(v, path, problems)
    if d is None:
        return None
    _unknown(d, {"half_life_days", "floor", "points", "rules", "caps", *extra}, path, problems)
    ok = True
    half = _number(d.get("half_life_days"), f"{path}.half_life_days", problems, positive=True,
                   maximum=MAX_DAYS)
    floor = _number(d.get("floor", 0), f"{path}.floor", problems)
    points: dict[str, float] = {}
    pd = _mapping(d.get("points"), f"{path}.points", problems)
    if pd is None:
        ok = False
    else:
        for k, pv in pd.items():
            p = f"{path}.points.{k}"
            et = _event_type(k, p, problems)
            n = _number(pv, p, problems)
            if et is None or n is None:
                ok = False
            else:
                points[et] = n
    rules: list[ScoreRule] = []
    rl = d.get("rules", [])
    if not isinstance(rl, list):
        problems.add(f"{path}.rules", "must be a list")
        ok = False
        rl = []
    names: set[str] = set()
    for i, r in enumerate(rl):
        p = f"{path}.rules[{i}]"
        rd = _mapping(r, p, problems)
        if rd is None:
            ok = False
            continue
        _unknown(rd, {"name", "points", "events", "asset", "asset_regex", "campaign",
                      "campaign_regex"}, p, problems)
        name = _name(rd.get("name"), f"{p}.name", problems)
        if name is not None and (name in names or name in EVENT_TYPE_INDEX):
            problems.add(f"{p}.name", f"duplicate rule name {name!r}")
            name = None
        if name is not None:
            names.add(name)
        pts = _number(rd.get("points"), f"{p}.points", problems)
        types: frozenset[str] | None = None
        if "events" in rd:
            tl = rd["events"]
            if not isinstance(tl, list) or not tl:
                problems.add(f"{p}.events", "must be a non-empty list of event types")
                ok = False
            else:
                ts = [_event_type(t, f"{p}.events[{j}]", problems) for j, t in enumerate(tl)]
                if any(t is None for t in ts):
                    ok = False
                else:
                    types = frozenset(t for t in ts if t is not None)
        aok, asset = _glob_or_regex(rd, "asset", p, problems)
        cok, camp = _glob_or_regex(rd, "campaign", p, problems)
        if aok and cok and asset is None and camp is None:
            problems.add(p, "a scoring rule needs an asset/asset_regex or "
                            "campaign/campaign_regex pattern")
            ok = False
        if name is None or pts is None or not aok or not cok:
            ok = False
            continue
        rules.append(ScoreRule(name, pts, types, asset, camp))
    caps: dict[str, Cap] = {}
    cd = _mapping(d.get("caps"), f"{path}.caps", problems, required=False)
    if cd is None:
        ok = False
    else:
        for k, cv in cd.items():
            p = f"{path}.caps.{k}"
            et = _event_type(k, p, problems)
            cm = _mapping(cv, p, problems)
            if et is None or cm is None:
                ok = False
                continue
            _unknown(cm, {"max", "per_days"}, p, problems)
            mx = _number(cm.get("max"), f"{p}.max", problems, minimum=0, integer=True)
            per = _number(cm.get("per_days"), f"{p}.per_days", problems, positive=True,
                          maximum=MAX_DAYS)
            if mx is None or per is None:
                ok = False
                continue
            caps[et] = Cap(int(mx), max(1, int(per * DAY_MS)))
    if not ok or half is None or floor is None:
        return None
    by_type = {
        t: tuple(r for r in rules if r.event_types is None or t in r.event_types)
        for t in LEAD_EVENT_TYPES
    }
    return Scoring(points, tuple(rules), by_type, caps, floor, half, half * DAY_MS)


def _named_conditions(v: object, path: str, problems: Problems, *, with_points: bool
                      ) -> list[tuple[str, Condition, float]] | None:
    if not isinstance(v, list):
        problems.add(path, "missing" if v is None else "must be a list of rules")
        return None
    out: list[tuple[str, Condition, float]] = []
    ok = True
    names: set[str] = set()
    for i, r in enumerate(v):
        p = f"{path}[{i}]"
        rd = _mapping(r, p, problems)
        if rd is None:
            ok = False
            continue
        _unknown(rd, {"name", "when", "points"} if with_points else {"name", "when"}, p,
                 problems)
        name = _name(rd.get("name"), f"{p}.name", problems)
        if name is not None and name in names:
            problems.add(f"{p}.name", f"duplicate name {name!r}")
            name = None
        if name is not None:
            names.add(name)
        cond = compile_condition(rd.get("when"), f"{p}.when", problems)
        pts = _number(rd.get("points"), f"{p}.points", problems) if with_points else 0.0
        if name is None or cond is None or pts is None:
            ok = False
            continue
        out.append((name, cond, pts))
    return out if ok else None


def _fit(v: object, problems: Problems) -> Fit | None:
    d = _mapping(v, "fit", problems)
    if d is None:
        return None
    _unknown(d, {"rules", "grades"}, "fit", problems)
    rules = _named_conditions(d.get("rules"), "fit.rules", problems, with_points=True)
    gd = _mapping(d.get("grades"), "fit.grades", problems)
    thresholds: list[tuple[str, float]] = []
    if gd is not None:
        for k in gd:
            if k not in ("A", "B", "C"):
                problems.add(f"fit.grades.{k}", "grades are A, B and C (below C is D)")
        prev: float | None = None
        for g in ("A", "B", "C"):
            n = _number(gd.get(g), f"fit.grades.{g}", problems)
            if n is None:
                continue
            if prev is not None and n > prev:
                problems.add(f"fit.grades.{g}", "thresholds must not increase from A to C")
            prev = n
            thresholds.append((g, n))
    if rules is None or gd is None or len(thresholds) != 3:
        return None
    return Fit(tuple(FitRule(n, c, p) for n, c, p in rules), tuple(thresholds),
               any(c.uses_events for _, c, _ in rules))


def _criteria(v: object, problems: Problems) -> tuple[Criterion, ...] | None:
    d = _mapping(v, "criteria", problems)
    if d is None:
        return None
    out: list[Criterion] = []
    ok = True
    for k, cv in d.items():
        cond = compile_condition(cv, f"criteria.{k}", problems)
        if cond is None:
            ok = False
        else:
            out.append(Criterion(k, cond))
    return tuple(out) if ok else None


def _stages(v: object, problems: Problems) -> Stages | None:
    d = _mapping(v, "stages", problems)
    if d is None:
        return None
    _unknown(d, {"engaged", "mql", "nurture"}, "stages", problems)
    ed = _mapping(d.get("engaged"), "stages.engaged", problems)
    md = _mapping(d.get("mql"), "stages.mql", problems)
    nd = _mapping(d.get("nurture"), "stages.nurture", problems, required=False)
    engaged = mql = grade = crit = None
    reset = True
    if ed is not None:
        _unknown(ed, {"score"}, "stages.engaged", problems)
        engaged = _number(ed.get("score"), "stages.engaged.score", problems)
    if md is not None:
        _unknown(md, {"score", "min_grade", "min_criteria", *MQL_MODEL_KEYS}, "stages.mql",
                 problems)  # the model keys are read by models_section.py
        mql = _number(md.get("score"), "stages.mql.score", problems)
        g = md.get("min_grade")
        if g not in GRADES:
            problems.add("stages.mql.min_grade", "must be one of A, B, C, D")
        else:
            grade = g
        crit = _number(md.get("min_criteria", 0), "stages.mql.min_criteria", problems,
                       minimum=0, integer=True)
    if nd is not None:
        _unknown(nd, {"reset_score"}, "stages.nurture", problems)
        r = nd.get("reset_score", True)
        if not isinstance(r, bool):
            problems.add("stages.nurture.reset_score", "must be true or false")
        else:
            reset = r
    if engaged is not None and mql is not None and engaged > mql:
        problems.add("stages.engaged.score", "must not be above stages.mql.score")
    if engaged is None or mql is None or grade is None or crit is None:
        return None
    return Stages(engaged, mql, grade, int(crit), reset)


def _disqualify(v: object, problems: Problems) -> tuple[DisqualifyRule, ...] | None:
    if v is None:
        return ()
    rules = _named_conditions(v, "disqualify", problems, with_points=False)
    if rules is None:
        return None
    return tuple(DisqualifyRule(n, c) for n, c, _ in rules)
