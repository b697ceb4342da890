"""SLA clock: a hand-off must be ACCEPTED or CONTACTED by `sla_due_at`.

A disposition (REJECTED, RECYCLED) or any later sales step also stops the clock. When the
clock runs out, `tick` emits SLA_BREACHED feedback (occurred_at = the deadline) and one
ESCALATION hand-off to the policy's escalation queue (handed_off_at = `now`, new due from
that queue's hours). One breach and one escalation per hand-off: afterwards the lead has no
open deadline, so ticking again gives nothing. If a contact arrives late before any tick
noticed, `step` records the breach (no escalation: someone is now working the lead).
"""

from __future__ import annotations

from streams.domain import emit, fit
from streams.domain.models import FeedbackType, HandoffPath, LeadState, Output
from streams.domain.policy import Policy
from streams.domain.routing import assign_rep


def next_deadline(state: LeadState) -> int | None:
    """Epoch ms when `tick` will have something to do for this lead, else None."""
    if (state.ho_at is None or state.ho_closed or state.ho_contact is not None
            or state.ho_escalated):
        return None
    return state.ho_due


def tick(state: LeadState, policy: Policy, now: int, *, inplace: bool = False,
         explain: bool = True) -> tuple[LeadState, list[Output]]:
    """SLA deadlines at processing time `now`. Same ownership rule as `step` (`inplace`)
    and the same `explain`."""
    due = next_deadline(state)
    if due is None or now < due:
        return state, []
    s = state if inplace else state.copy()
    if s.pv != policy.version:  # the policy changed since the last event: re-evaluate fit
        fit.refresh(s, policy)
    s.ho_escalated = True
    outs: list[Output] = [emit.feedback(s, FeedbackType.SLA_BREACHED, "sla_breached", due,
                                        policy)]
    esc = policy.sla.escalation_queue
    owner = assign_rep(s.lead_id, policy.routing.by_name[esc].reps)
    outs.append(emit.handoff(s, HandoffPath.ESCALATION, esc, owner, now, policy, fresh=False,
                             explain=explain))
    return s, outs


def late_breach(s: LeadState, t: int, policy: Policy) -> list[Output]:
    """Called when sales first acts on a hand-off at time t (state already copied)."""
    due = next_deadline(s)
    if due is None or t <= due:
        return []
    s.ho_escalated = True
    return [emit.feedback(s, FeedbackType.SLA_BREACHED, "sla_breached", due, policy)]
