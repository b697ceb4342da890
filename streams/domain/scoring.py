"""Engagement score with exponential decay in *event time*, order-independent.

The score is kept as `score_sum`: the sum of every contribution p_i scaled to a reference
time `anchor`, i.e. sum(p_i * 2**((t_i - anchor) / half_life)). The value at time t is
`score_sum * 2**(-(t - anchor) / half_life)`. Each event weighs what it weighed when it
happened, whatever order events arrive in (the sum is commutative; floating point keeps it
equal within ~1e-15 relative). When a new event lies more than `REANCHOR_HALF_LIVES` half-lives
after the anchor, everything is rescaled to a new anchor so the weights never overflow; old
events before the anchor get tiny weights that underflow gracefully to 0.

The floor is applied when reading (`score_at`), never stored, so it stays order-independent.
Caps (max N events of a type per window) use tumbling windows aligned to the epoch and remember
the latest window per type; a late event for an older window is counted uncapped.
"""

from __future__ import annotations

from streams.domain.models import EVENT_TYPE_INDEX, LeadEvent, LeadState
from streams.domain.policy import Scoring

REANCHOR_HALF_LIVES = 256.0
MAX_BACKWARD_HALF_LIVES = 256.0


def event_points(state: LeadState, event: LeadEvent, ti: int, scoring: Scoring
                 ) -> list[tuple[str, float]]:
    """The (rule, points) an event earns, after caps. Updates the cap counter in `state`."""
    etype = event.type
    base = scoring.points.get(etype, 0.0)
    rules = scoring.rules_by_type[etype]
    cap = scoring.caps.get(etype)
    if cap is not None:
        w = event.occurred_at // cap.window_ms
        entry = state.caps.get(ti)
        if entry is None or entry[0] < w:
            state.caps[ti] = [w, 1]
        elif entry[0] == w:
            if entry[1] >= cap.max_count:
                return []
            entry[1] += 1
        # entry[0] > w: late event for an older window: counted uncapped
    out: list[tuple[str, float]] = []
    if base:
        out.append((etype, base))
    if rules:
        for r in rules:
            if r.matches(event.asset_id, event.campaign_id):
                out.append((r.name, r.points))
    return out


def score_event(state: LeadState, event: LeadEvent, scoring: Scoring) -> None:
    """Add what one event earns (base points for its type, asset/campaign rules), after caps.
    The hot path: equivalent to `add_points(event_points(...))` without the temporaries."""
    etype = event.type
    t = event.occurred_at
    cap = scoring.caps.get(etype)
    if cap is not None:
        ti = EVENT_TYPE_INDEX[etype]
        w_i = t // cap.window_ms
        entry = state.caps.get(ti)
        if entry is None or entry[0] < w_i:
            state.caps[ti] = [w_i, 1]
        elif entry[0] == w_i:
            if entry[1] >= cap.max_count:
                return
            entry[1] += 1
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


def _reanchor(state: LeadState, t: int, x: float) -> None:
    factor = 2.0**-x
    state.score_sum *= factor
    state.contrib = {k: v * factor for k, v in state.contrib.items()}
    state.anchor = t


def add_points(state: LeadState, contributions: list[tuple[str, float]], t: int,
               scoring: Scoring) -> None:
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


def raw_score_at(state: LeadState, t: int, scoring: Scoring) -> float:
    if state.score_sum == 0.0:
        return 0.0
    x = (state.anchor - t) / scoring.half_life_ms
    if x > MAX_BACKWARD_HALF_LIVES:  # reading far before the lead's events: stay finite
        x = MAX_BACKWARD_HALF_LIVES
    return float(state.score_sum * 2.0**x)


def score_at(state: LeadState, t: int, scoring: Scoring) -> float:
    """The score at event time t, floor applied."""
    s = raw_score_at(state, t, scoring)
    return s if s > scoring.floor else scoring.floor


def current_score(state: LeadState, scoring: Scoring) -> float:
    """The score at the lead's own clock (its latest event time)."""
    return score_at(state, state.clock, scoring)


def reset(state: LeadState) -> None:
    state.score_sum = 0.0
    state.contrib = {}
