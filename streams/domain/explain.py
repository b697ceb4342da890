"""Why: the top contributions (rule and points) behind a lead's score and fit.

Score contributions are read at the lead's clock (decayed like the score itself), so they add
up to the raw score; fit rules contribute their points as `fit:<rule>`. The top 5 by absolute
points are kept, largest first; ties break by rule name so the list is deterministic.
"""

from __future__ import annotations

from streams.domain.models import LeadState, Reason
from streams.domain.policy import Policy

TOP_N = 5


def score_reasons(state: LeadState, policy: Policy) -> list[Reason]:
    if not state.contrib:
        return []
    f = 2.0 ** (-(state.clock - state.anchor) / policy.scoring.half_life_ms)
    return [Reason(k, round(v * f, 4)) for k, v in state.contrib.items() if v]


def top_reasons(state: LeadState, policy: Policy, cause: Reason | None = None
                ) -> tuple[Reason, ...]:
    """Top reasons; `cause` (e.g. the outcome or rule that forced a move) always comes first."""
    items = score_reasons(state, policy) + list(state.fit_reasons)
    items = [r for r in items if r.points]
    items.sort(key=lambda r: (-abs(r.points), r.rule))
    if cause is not None:
        return (cause, *items[: TOP_N - 1])
    if not items:
        return (Reason("score", 0.0),)
    return tuple(items[:TOP_N])
