"""Fit: rules over profile attributes give points; thresholds turn points into a grade."""

from __future__ import annotations

from streams.domain.models import LeadState, Reason
from streams.domain.policy import Fit

GRADE_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


def evaluate(state: LeadState, fit: Fit) -> tuple[float, str, tuple[Reason, ...]]:
    points = 0.0
    reasons: list[Reason] = []
    for rule in fit.rules:
        if rule.when.test(state):
            points += rule.points
            reasons.append(Reason(f"fit:{rule.name}", rule.points))
    grade = "D"
    for g, threshold in fit.thresholds:
        if points >= threshold:
            grade = g
            break
    return points, grade, tuple(reasons)


def refresh(state: LeadState, fit: Fit) -> None:
    state.fit_points, state.grade, state.fit_reasons = evaluate(state, fit)


def grade_at_least(grade: str, minimum: str) -> bool:
    return GRADE_RANK[grade] <= GRADE_RANK[minimum]
