"""The `models:` section (contract 4b): named scoring models, one per product line, and the
places other sections name them (`stages.mql.model` / `any_model`, a queue's `model`).

    models:
      analytics:                       # a name: lowercase letters, digits, - and _
        applies_to:                    # the events this model scores: any filter may match;
          - {asset: "analytics-*"}     #   a filter holds when all it says holds: `events`
          - {campaign: "ana-*", events: [WEBINAR_ATTENDED]}   # (types), asset/campaign
        half_life_days: 21             #   globs or *_regex, as in scoring.rules
        points: {CONTENT_DOWNLOAD: 15} # then exactly what `scoring` holds: points, rules,
        rules: [...]                   #   caps, floor, half_life_days
        caps: {...}
        mql_score: 60                  # its MQL threshold (default: stages.mql.score)

    stages:
      mql:
        model: analytics               # MQL on this model's score (with grade and criteria)
        any_model: true                # ...or on any model's score: the hottest one names
                                       #   the hand-off (score / threshold, then file order)
        include_default: true          # with either: the default score qualifies too
    routing:
      queues:
        - {name: analytics-desk, model: analytics, reps: [...]}   # or a list; "default" is
                                                                  # the default score
"""

from __future__ import annotations

import re
from typing import Any

from streams.domain.conditions import Problems
from streams.domain.policy.fields import (
    _event_type,
    _glob_or_regex,
    _mapping,
    _number,
    _unknown,
)
from streams.domain.policy.model import Routing, ScoreRule, ScoringModel, Stages
from streams.domain.policy.sections import _scoring

MODEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")
DEFAULT_MODEL = "default"  # in a queue's `model`: the default score (QualifiedLead.model null)
MAX_MODELS = 16  # every model is scored on every event it applies to: keep it a handful
_MODEL_KEYS = frozenset({"applies_to", "mql_score"})
_FILTER_KEYS = {"events", "asset", "asset_regex", "campaign", "campaign_regex"}


def models_section(v: object, problems: Problems, stages: Stages | None
                   ) -> tuple[ScoringModel, ...] | None:
    """The declared models, in file order (`()` when the section is absent)."""
    if v is None:
        return ()
    d = _mapping(v, "models", problems)
    if d is None:
        return None
    if not d:
        problems.add("models", "declare at least one model, or leave the section out")
        return None
    if len(d) > MAX_MODELS:
        problems.add("models", f"at most {MAX_MODELS} models")
        return None
    out: list[ScoringModel] = []
    ok = True
    for name, mv in d.items():
        p = f"models.{name}"
        if not MODEL_NAME.match(name) or name == DEFAULT_MODEL:
            problems.add(p, "a model name is lowercase letters, digits, '-' and '_' (starting "
                            f"with a letter, at most 48), and not {DEFAULT_MODEL!r}")
            ok = False
            continue
        m = _model(name, mv, p, problems, stages)
        if m is None:
            ok = False
        else:
            out.append(m)
    return tuple(out) if ok else None


def _model(name: str, v: object, p: str, problems: Problems, stages: Stages | None
           ) -> ScoringModel | None:
    d = _mapping(v, p, problems)
    if d is None:
        return None
    scoring = _scoring(d, problems, p, _MODEL_KEYS)
    filters = _applies_to(d.get("applies_to"), f"{p}.applies_to", problems)
    threshold: float | None = stages.mql_score if stages is not None else 0.0
    if "mql_score" in d:
        threshold = _number(d["mql_score"], f"{p}.mql_score", problems, positive=True)
        if (threshold is not None and stages is not None
                and threshold < stages.engaged_score):
            problems.add(f"{p}.mql_score", "must not be below stages.engaged.score")
            threshold = None
    if scoring is None or filters is None or threshold is None:
        return None
    return ScoringModel(name, scoring, filters, threshold)


def _applies_to(v: object, p: str, problems: Problems) -> tuple[ScoreRule, ...] | None:
    if isinstance(v, dict):
        v = [v]  # one filter may be written without the list
    if not isinstance(v, list) or not v:
        problems.add(p, "missing" if v is None else "must be a filter or a non-empty list of "
                     "filters ({events: [...], asset: ..., campaign: ...})")
        return None
    out: list[ScoreRule] = []
    ok = True
    for i, f in enumerate(v):
        fp = f"{p}[{i}]"
        fd = _mapping(f, fp, problems)
        if fd is None:
            ok = False
            continue
        _unknown(fd, _FILTER_KEYS, fp, problems)
        if not fd:
            problems.add(fp, "an empty filter would take every event: say which events, "
                             "assets or campaigns")
            ok = False
            continue
        tok, types = _types(fd, fp, problems)
        aok, asset = _glob_or_regex(fd, "asset", fp, problems)
        cok, camp = _glob_or_regex(fd, "campaign", fp, problems)
        if not tok or not aok or not cok:
            ok = False
            continue
        out.append(ScoreRule("", 0.0, types, asset, camp))
    return tuple(out) if ok else None


def _types(fd: dict[str, Any], fp: str, problems: Problems
           ) -> tuple[bool, frozenset[str] | None]:
    """(valid, the filter's event types: None = any)."""
    if "events" not in fd:
        return True, None
    tl = fd["events"]
    if not isinstance(tl, list) or not tl:
        problems.add(f"{fp}.events", "must be a non-empty list of event types")
        return False, None
    ts = [_event_type(t, f"{fp}.events[{j}]", problems) for j, t in enumerate(tl)]
    if any(t is None for t in ts):
        return False, None
    return True, frozenset(t for t in ts if t is not None)


def mql_models(stages_doc: object, models: tuple[ScoringModel, ...], problems: Problems
               ) -> tuple[tuple[ScoringModel, ...], bool] | None:
    """`stages.mql.model` / `any_model` / `include_default`: the models whose score can make
    a lead MQL, and whether the default score can too. ((), True) = today's rule."""
    md = stages_doc.get("mql") if isinstance(stages_doc, dict) else None
    if not isinstance(md, dict):
        return (), True  # the stages section reports it
    p = "stages.mql"
    one, anym, inc = md.get("model"), md.get("any_model", False), md.get("include_default")
    by_name = {m.name: m for m in models}
    ok = True
    if not isinstance(anym, bool):
        problems.add(f"{p}.any_model", "must be true or false")
        ok = False
    if inc is not None and not isinstance(inc, bool):
        problems.add(f"{p}.include_default", "must be true or false")
        ok = False
    if one is not None and anym is True:
        problems.add(f"{p}.model", "use either 'model' or 'any_model: true', not both")
        ok = False
    chosen: tuple[ScoringModel, ...] = ()
    if one is not None:
        if not isinstance(one, str) or one not in by_name:
            problems.add(f"{p}.model", f"unknown model {one!r} (declare it under models)")
            ok = False
        else:
            chosen = (by_name[one],)
    elif anym is True:
        if not models:
            problems.add(f"{p}.any_model", "no models are declared (see `models:`)")
            ok = False
        chosen = models
    if inc is not None and not chosen and ok:
        problems.add(f"{p}.include_default", "only means something with 'model' or "
                                             "'any_model'")
        ok = False
    if not ok:
        return None
    return chosen, (not chosen) or inc is True


def queue_models(v: object, p: str, problems: Problems
                 ) -> tuple[bool, frozenset[str] | None]:
    """(valid, a queue's `model`): one name or a list (`default` = the default score, kept
    as ""); None = the queue takes any model. Whether the names are declared is checked by
    `check_queue_models` once the models are known."""
    if v is None:
        return True, None
    raw = v if isinstance(v, list) else [v]
    names = [n for n in raw if isinstance(n, str) and n]
    if not names or len(names) != len(raw):
        problems.add(p, "must be a model name or a non-empty list of them")
        return False, None
    return True, frozenset("" if n == DEFAULT_MODEL else n for n in names)


def check_queue_models(routing: Routing | None, raw_routing: object,
                       models: tuple[ScoringModel, ...] | None, problems: Problems) -> None:
    if routing is None or models is None:
        return
    known = {m.name for m in models} | {""}
    order = _queue_positions(raw_routing)
    for q in routing.queues:
        for n in sorted(q.models or ()):
            if n not in known:
                problems.add(f"routing.queues[{order.get(q.name, 0)}].model",
                             f"unknown model {n!r} (declare it under models)")


def _queue_positions(raw: object) -> dict[str, int]:
    ql = raw.get("queues") if isinstance(raw, dict) else None
    if not isinstance(ql, list):
        return {}
    return {q["name"]: i for i, q in enumerate(ql)
            if isinstance(q, dict) and isinstance(q.get("name"), str)}
