"""Qualification criteria: named conditions over profile and history."""

from __future__ import annotations

from streams.domain.models import LeadState
from streams.domain.policy import Policy


def met(state: LeadState, policy: Policy) -> tuple[str, ...]:
    """Names of the criteria the lead meets now, in policy order.

    Profile-only criteria come from the bitmask cached on profile change (`state.pcrit`);
    history criteria are evaluated now."""
    mask = state.pcrit
    out = []
    for name, bit, test in policy.criteria_plan:
        if (mask >> bit & 1) if test is None else test(state):
            out.append(name)
    return tuple(out)
