"""Qualification criteria: named conditions over profile and history."""

from __future__ import annotations

from streams.domain.models import LeadState
from streams.domain.policy import Policy


def met(state: LeadState, policy: Policy) -> tuple[str, ...]:
    """Names of the criteria the lead meets now, in policy order."""
    return tuple(c.name for c in policy.criteria if c.when.test(state))


def refresh(state: LeadState, policy: Policy) -> tuple[str, ...]:
    state.criteria = met(state, policy)
    return state.criteria
