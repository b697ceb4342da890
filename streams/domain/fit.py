"""Fit: rules over profile attributes give points; thresholds turn points into a grade."""

from __future__ import annotations

from streams.domain.criteria import met
from streams.domain.models import LeadState, Reason
from streams.domain.policy import Fit, Policy

GRADE_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


def evaluate(state: LeadState, fit: Fit) -> tuple[float, str, int]:
    """(points, grade, bitmask of the rules that hold)."""
    points = 0.0
    mask = 0
    for i, rule in enumerate(fit.rules):
        if rule.when.test(state):
            points += rule.points
            mask |= 1 << i
    grade = "D"
    for g, threshold in fit.thresholds:
        if points >= threshold:
            grade = g
            break
    return points, grade, mask


def reasons(state: LeadState, policy: Policy) -> list[Reason]:
    """The fit rules that hold, as reasons `fit:<rule>` (empty if the policy changed since)."""
    if state.pv != policy.version:
        return []
    mask = state.fmask
    return [Reason(r.reason, r.points) for i, r in enumerate(policy.fit.rules)
            if mask >> i & 1]


def refresh(state: LeadState, policy: Policy) -> None:
    """Re-evaluate what depends on the profile: fit and the profile-only criteria count."""
    state.fit_points, state.grade, state.fmask = evaluate(state, policy.fit)
    state.pv = policy.version
    mask = 0
    for i, c in enumerate(policy.profile_criteria):
        if c.when.test(state):
            mask |= 1 << i
    state.pcrit = mask
    state.criteria = met(state, policy)


def grade_at_least(grade: str, minimum: str) -> bool:
    return GRADE_RANK[grade] <= GRADE_RANK[minimum]
