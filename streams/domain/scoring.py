"""Engagement score with exponential decay in *event time*, order-independent.

The score is kept as `score_sum`: the sum of every contribution p_i scaled to a reference
time `anchor`, i.e. sum(p_i * 2**((t_i - anchor) / half_life)). The value at time t is
`score_sum * 2**(-(t - anchor) / half_life)`. Each event weighs what it weighed when it
happened, whatever order events arrive in (the sum is commutative; floating point keeps it
equal within ~1e-15 relative). When a new event lies more than `REANCHOR_HALF_LIVES` half-lives
after the anchor, everything is rescaled to a new anchor so the weights never overflow; old
events before the anchor get tiny weights that underflow gracefully to 0.

The floor is applied when reading (`score_at`), never stored, so it stays order-independent.

Caps (at most `max_count` events of a type per window) keep the first N events *by event
time* in each window, whatever order they arrive in:
- Windows are tumbling and aligned to the epoch: an event at t is in window
  `t // window_ms` of its type.
- `state.caps[type index][window index]` holds the events *counted* in that window, sorted
  by (occurred_at, points earned): each as (occurred_at, ((rule, points), ...)), the
  unscaled points it earned (base points under the type's name, then asset/campaign rules).
  At most `max_count` per window.
- A late event earlier than the last counted event of a full window takes its place: the
  displaced event's contribution (its points scaled to the anchor, per rule) is subtracted
  from `score_sum` and `contrib`, the new one's added. Equal times are decided by the points
  earned, so ties are order-independent too. A `contrib` entry left at rounding noise by a
  subtraction is dropped (explanations round it to 0 anyway).
- Memory bound: the latest `CAP_WINDOWS` windows per type (by window index) are remembered.
  An event of a type whose remembered windows are all later than its own window, with
  `CAP_WINDOWS` of them remembered, is **dropped** (counted in `counts` and history, scores
  nothing): its window may have been forgotten already full, and counting it uncapped could
  let late events exceed the cap. Hence: for every history in which each capped type has
  events in at most `CAP_WINDOWS` distinct windows, score and caps are the same for any
  arrival order; beyond that, late events older than the memory are dropped, so a late
  arrival can only lower the score, never push a type over its cap. (8 windows of 7 days
  are ~2 half-lives of the default policy: what is dropped weighs under a quarter.)
- The caps state is read with the current policy: a policy that changes a cap's window
  re-reads the remembered window indices with the new length (no migration).

Scoring models (contract 4b, `models:`) are scored by the very same functions: each model
keeps its own `ModelScore` (score_sum, anchor, contrib, caps) in `state.models`, updated with
the model's `Scoring` for every event its `applies_to` takes (`score_models`). Everything
above holds per model. A policy without models never reaches that code.
"""

from __future__ import annotations

from bisect import insort
from typing import Protocol

from streams.domain.models import EVENT_TYPE_INDEX, CapEntry, LeadEvent, LeadState, ModelScore
from streams.domain.policy import Cap, Scoring, ScoringModel


class ScoreState(Protocol):
    """What a score is kept in: the lead's default score (`LeadState`) or a model's
    (`ModelScore`)."""

    score_sum: float
    anchor: int
    contrib: dict[str, float]
    caps: dict[int, dict[int, tuple[CapEntry, ...]]]

REANCHOR_HALF_LIVES = 256.0
MAX_BACKWARD_HALF_LIVES = 256.0
CAP_WINDOWS = 8  # windows remembered per capped type (see the module doc)
_NOISE = 1e-9  # a contrib entry below this share of what was subtracted is rounding noise


def score_event(state: ScoreState, event: LeadEvent, scoring: Scoring) -> None:
    """Add what one event earns (base points for its type, asset/campaign rules), after caps.
    The hot path: uncapped types go straight to the sum without temporaries."""
    etype = event.type
    cap = scoring.caps.get(etype)
    if cap is not None:
        _score_capped(state, event, cap, scoring)
        return
    t = event.occurred_at
    base = scoring.points.get(etype, 0.0)
    rules = scoring.rules_by_type[etype]
    asset, campaign = event.asset_id, event.campaign_id
    if not base and not (rules and (asset is not None or campaign is not None)):
        return
    if state.score_sum == 0.0 and not state.contrib:
        state.anchor = t
    x = (t - state.anchor) / scoring.half_life_ms
    if x > REANCHOR_HALF_LIVES:
        _reanchor(state, t, x)
        x = 0.0
    w = 2.0**x
    contrib = state.contrib
    if base:
        v = base * w
        state.score_sum += v
        contrib[etype] = contrib.get(etype, 0.0) + v
    if rules and (asset is not None or campaign is not None):
        for r in rules:
            if r.matches(asset, campaign):
                v = r.points * w
                state.score_sum += v
                contrib[r.name] = contrib.get(r.name, 0.0) + v


def earned(event: LeadEvent, scoring: Scoring) -> tuple[tuple[str, float], ...]:
    """The (rule, points) an event earns before caps: base points under its type's name,
    then every matching asset/campaign rule."""
    etype = event.type
    base = scoring.points.get(etype, 0.0)
    out = [(etype, base)] if base else []
    for r in scoring.rules_by_type[etype]:
        if r.matches(event.asset_id, event.campaign_id):
            out.append((r.name, r.points))
    return tuple(out)


def _score_capped(state: ScoreState, event: LeadEvent, cap: Cap, scoring: Scoring) -> None:
    t = event.occurred_at
    ti = EVENT_TYPE_INDEX[event.type]
    wi = t // cap.window_ms
    wins = state.caps.get(ti)
    if wins is None:
        wins = state.caps[ti] = {}
    counted = wins.get(wi)
    if counted is not None and len(counted) >= cap.max_count and t > counted[-1][0]:
        return  # the common capped-out case: the window holds its first N events by time
    pts = earned(event, scoring)
    entry: CapEntry = (t, pts)
    if counted is None:
        if len(wins) >= CAP_WINDOWS and wi < min(wins):
            return  # older than every remembered window: dropped (see the module doc)
        new: tuple[CapEntry, ...] = (entry,)
    else:
        if len(counted) >= cap.max_count:
            last = counted[-1]
            if entry >= last:
                return  # same time as the last counted: the lower points stay counted
            _subtract(state, last, scoring)  # a late, earlier event takes the last one's place
            counted = counted[:-1]
        if not counted or entry >= counted[-1]:
            new = (*counted, entry)  # in time order: no sorting
        else:
            lst = list(counted)
            insort(lst, entry)
            new = tuple(lst)
    add_points(state, pts, t, scoring)
    wins[wi] = new
    if len(wins) > CAP_WINDOWS:
        del wins[min(wins)]


def _subtract(state: ScoreState, entry: CapEntry, scoring: Scoring) -> None:
    """Remove a counted event's contribution (as `add_points` added it, at today's anchor)."""
    t, pts = entry
    if not pts:
        return
    w = 2.0 ** ((t - state.anchor) / scoring.half_life_ms)
    contrib = state.contrib
    for name, p in pts:
        v = p * w
        state.score_sum -= v
        left = contrib.get(name, 0.0) - v
        if abs(left) <= _NOISE * abs(v):
            contrib.pop(name, None)
        else:
            contrib[name] = left
    if not contrib:
        state.score_sum = 0.0  # nothing left: no rounding residue either


def _reanchor(state: ScoreState, t: int, x: float) -> None:
    factor = 2.0**-x
    state.score_sum *= factor
    state.contrib = {k: v * factor for k, v in state.contrib.items()}
    state.anchor = t


def add_points(state: ScoreState, contributions: tuple[tuple[str, float], ...]
               | list[tuple[str, float]], t: int, scoring: Scoring) -> None:
    if not contributions:
        return
    hl = scoring.half_life_ms
    if state.score_sum == 0.0 and not state.contrib:
        state.anchor = t
    x = (t - state.anchor) / hl
    if x > REANCHOR_HALF_LIVES:
        _reanchor(state, t, x)
        x = 0.0
    w = 2.0**x
    contrib = state.contrib
    total = 0.0
    for name, p in contributions:
        v = p * w
        total += v
        contrib[name] = contrib.get(name, 0.0) + v
    state.score_sum += total


def raw_score_at(state: ScoreState, t: int, scoring: Scoring) -> float:
    if state.score_sum == 0.0:
        return 0.0
    x = (state.anchor - t) / scoring.half_life_ms
    if x > MAX_BACKWARD_HALF_LIVES:  # reading far before the lead's events: stay finite
        x = MAX_BACKWARD_HALF_LIVES
    return float(state.score_sum * 2.0**x)


def score_at(state: ScoreState, t: int, scoring: Scoring) -> float:
    """The score at event time t, floor applied."""
    s = raw_score_at(state, t, scoring)
    return s if s > scoring.floor else scoring.floor


def current_score(state: LeadState, scoring: Scoring) -> float:
    """The score at the lead's own clock (its latest event time)."""
    return score_at(state, state.clock, scoring)


def reset(state: LeadState) -> None:
    state.score_sum = 0.0
    state.contrib = {}
    if state.models:
        state.models = {}


def score_models(state: LeadState, event: LeadEvent, models: tuple[ScoringModel, ...]) -> None:
    """Score one event in every model it applies to. A model's score exists once an event
    counted for it (earned points or took a cap slot): the set is order-independent too."""
    etype, asset, campaign = event.type, event.asset_id, event.campaign_id
    held = state.models
    for m in models:
        if not m.applies(etype, asset, campaign):
            continue
        ms = held.get(m.name)
        if ms is None:
            ms = ModelScore()
            score_event(ms, event, m.scoring)
            if ms.score_sum or ms.contrib or ms.caps:
                held[m.name] = ms
        else:
            score_event(ms, event, m.scoring)


def model_score_at(state: LeadState, model: ScoringModel, t: int) -> float:
    """A model's score at event time t, its floor applied (0 before any event counted)."""
    ms = state.models.get(model.name)
    if ms is None:
        return model.scoring.floor if model.scoring.floor > 0.0 else 0.0
    return score_at(ms, t, model.scoring)
