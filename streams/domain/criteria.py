"""Qualification criteria: named conditions over profile and history."""

from __future__ import annotations

from streams.domain.models import LeadState
from streams.domain.policy import Policy


def met(state: LeadState, policy: Policy) -> tuple[str, ...]:
    """Names of the criteria the lead meets now, in policy order.

    Profile-only criteria come from the bitmask cached on profile change (`state.pcrit`);
    history criteria are evaluated now."""
    mask = state.pcrit
    names = {c.name for i, c in enumerate(policy.profile_criteria) if mask >> i & 1}
    names.update(c.name for c in policy.event_criteria if c.when.test(state))
    return tuple(n for n in policy.criteria_names if n in names)

