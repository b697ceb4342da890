"""Why: the top contributions (rule and points) behind a lead's score and fit.

Score contributions are read at the lead's clock (decayed like the score itself), so they add
up to the raw score; fit rules contribute their points as `fit:<rule>`. A scoring model's
contributions (`model_reasons`, for a lead a model qualified) are named `<model>:<rule>`.
The top 5 by absolute points are kept, largest first; ties break by rule name so the list
is deterministic.
"""

from __future__ import annotations

from streams.domain.models import LeadState, Reason
from streams.domain.policy import Policy, ScoringModel

TOP_N = 5


def score_reasons(state: LeadState, policy: Policy) -> list[Reason]:
    if not state.contrib:
        return []
    f = 2.0 ** (-(state.clock - state.anchor) / policy.scoring.half_life_ms)
    return [Reason(k, round(v * f, 4)) for k, v in state.contrib.items() if v]


def top_reasons(state: LeadState, policy: Policy, cause: Reason | None = None
                ) -> tuple[Reason, ...]:
    """Top reasons; `cause` (e.g. the outcome or rule that forced a move) always comes first."""
    ranked: list[tuple[float, str, float]] = []
    if state.contrib:
        f = 2.0 ** ((state.anchor - state.clock) / policy.scoring.half_life_ms)
        for k, v in state.contrib.items():
            p = round(v * f, 4)
            if p:
                ranked.append((-abs(p), k, p))
    mask = state.fmask if state.pv == policy.version else 0  # = fit.reasons(), inlined
    if mask:
        for i, rule in enumerate(policy.fit.rules):
            pts = rule.points
            if mask >> i & 1 and pts:
                ranked.append((-abs(pts), rule.reason, pts))
    ranked.sort()
    if cause is not None:
        return (cause, *(Reason(k, p) for _, k, p in ranked[: TOP_N - 1]))
    if not ranked:
        return (Reason("score", 0.0),)
    return tuple(Reason(k, p) for _, k, p in ranked[:TOP_N])


def model_reasons(state: LeadState, policy: Policy, model: ScoringModel,
                  cause: Reason | None = None) -> tuple[Reason, ...]:
    """`top_reasons` for a scoring model's score: its contributions, then the fit rules."""
    ranked: list[tuple[float, str, float]] = []
    ms = state.models.get(model.name)
    if ms is not None and ms.contrib:
        f = 2.0 ** ((ms.anchor - state.clock) / model.scoring.half_life_ms)
        for k, v in ms.contrib.items():
            p = round(v * f, 4)
            if p:
                ranked.append((-abs(p), f"{model.name}:{k}", p))
    mask = state.fmask if state.pv == policy.version else 0
    for i, rule in enumerate(policy.fit.rules):
        if mask >> i & 1 and rule.points:
            ranked.append((-abs(rule.points), rule.reason, rule.points))
    ranked.sort()
    if cause is not None:
        return (cause, *(Reason(k, p) for _, k, p in ranked[: TOP_N - 1]))
    if not ranked:
        return (Reason(f"{model.name}:score", 0.0),)
    return tuple(Reason(k, p) for _, k, p in ranked[:TOP_N])
