"""SLA clock: a hand-off must be ACCEPTED or CONTACTED by `sla_due_at`.

A disposition (REJECTED, RECYCLED) or any later sales step also stops the clock. A hand-off
has at most two deadlines, judged on the lead's history in event time:

1. Its own `sla_due_at`. When it runs out, `tick` emits SLA_BREACHED feedback (reason
   `BREACH_REASON` "sla_breached", occurred_at = the deadline) and one ESCALATION hand-off
   to the policy's escalation queue (handed_off_at = `now`, its due from that queue's hours).
2. The escalation's own due (now in `ho_due`). When it runs out, `tick` emits a second
   SLA_BREACHED feedback (reason `ESCALATION_BREACH_REASON` "escalation_sla_breached",
   occurred_at = that deadline) and no further escalation: the escalation queue is where
   unanswered leads go, re-routing again would only loop. Afterwards the lead has no open
   deadline, so ticking again gives nothing. KPIs tell the two breaches apart by reason.

A sales outcome at time t later than an open deadline that no tick has handled yet
(`catch_up`) first produces exactly what `tick(state, policy, now=deadline)` would have
produced at each deadline before t (breach + escalation with handed_off_at = the deadline,
then possibly the escalation's breach), then the outcome applies to the hand-off open at t:
the worker emits the same records whether a tick ran before the late outcome or not.

A state written before escalations had their own deadline (format 1) that shows an
escalation not yet contacted gets that deadline now, at its stored `ho_due`.
"""

from __future__ import annotations

from streams.domain import emit, fit
from streams.domain.models import FeedbackType, HandoffPath, LeadState, Output
from streams.domain.policy import Policy
from streams.domain.routing import assign_rep

BREACH_REASON = "sla_breached"
ESCALATION_BREACH_REASON = "escalation_sla_breached"


def next_deadline(state: LeadState) -> int | None:
    """Epoch ms when `tick` will have something to do for this lead, else None."""
    if (state.ho_at is None or state.ho_closed or state.ho_contact is not None
            or state.ho_esc_breached):
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
    if s.ho_escalated:  # the escalation's own deadline: reported, not escalated again
        s.ho_esc_breached = True
        return s, [emit.feedback(s, FeedbackType.SLA_BREACHED, ESCALATION_BREACH_REASON, due,
                                 policy)]
    s.ho_escalated = True
    outs: list[Output] = [emit.feedback(s, FeedbackType.SLA_BREACHED, BREACH_REASON, due,
                                        policy)]
    esc = policy.sla.escalation_queue
    owner = assign_rep(s.lead_id, policy.routing.by_name[esc].reps)
    outs.append(emit.handoff(s, HandoffPath.ESCALATION, esc, owner, now, policy, fresh=False,
                             explain=explain))
    return s, outs


def catch_up(s: LeadState, t: int, policy: Policy, explain: bool) -> list[Output]:
    """Before a sales outcome at time t (state already owned): every deadline earlier than
    t that no tick handled, ticked at the deadline itself. A contact at the deadline is in
    time (as `tick` only fires once an outcome at that time was applied)."""
    outs: list[Output] = []
    due = next_deadline(s)
    while due is not None and due < t:
        _, o = tick(s, policy, due, inplace=True, explain=explain)
        outs += o
        due = next_deadline(s)
    return outs
