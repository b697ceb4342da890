"""Output builders: every output takes the next number of the lead's own counter, so ids are
deterministic (`transition:<lead>:<seq>`, `handoff:<lead>:<seq>`, `feedback:<lead>:<seq>`)."""

from __future__ import annotations

from streams.domain import criteria as crit
from streams.domain.explain import model_reasons, top_reasons
from streams.domain.models import (
    FeedbackType,
    HandoffPath,
    LeadState,
    MarketingFeedback,
    QualifiedLead,
    Reason,
    Stage,
    StageTransition,
)
from streams.domain.policy import Policy, ScoringModel
from streams.domain.scoring import current_score, model_score_at

HOUR_MS = 3_600_000.0


def transition(s: LeadState, to: Stage, cause_event_id: str, t: int, policy: Policy,
               cause: Reason | None = None, *, explain: bool = True,
               model: ScoringModel | None = None) -> StageTransition:
    """A stage change; `model`: the scoring model whose score made it (its score and
    reasons are reported instead of the default score's)."""
    s.seq += 1
    frm = s.stage
    s.stage = to
    criteria = crit.met(s, policy) if to is not Stage.ERASED else ()
    s.criteria = criteria
    return StageTransition(
        transition_id=f"transition:{s.lead_id}:{s.seq}",
        lead_id=s.lead_id,
        from_stage=frm,
        to_stage=to,
        occurred_at=t,
        cause_event_id=cause_event_id,
        score=(current_score(s, policy.scoring) if model is None
               else model_score_at(s, model, s.clock)),
        fit_grade=s.grade,
        criteria_met=criteria,
        reasons=((top_reasons(s, policy, cause) if model is None
                  else model_reasons(s, policy, model, cause)) if explain else ()),
        policy_version=policy.version,
    )


def handoff(s: LeadState, path: HandoffPath, queue: str, owner: str | None, at: int,
            policy: Policy, *, fresh: bool = True, criteria: tuple[str, ...] | None = None,
            explain: bool = True, model: ScoringModel | None = None) -> QualifiedLead:
    """A hand-off; `fresh` starts a new SLA clock (SCORE/REFERRAL), else re-routes it.
    `explain=False`: no `reasons` (see `engine.step`). `model`: the scoring model that
    qualified the lead (a fresh hand-off); a re-route keeps the one it re-routes."""
    s.seq += 1
    if fresh:
        s.ho_model = None if model is None else model.name
    elif s.ho_model is not None and model is None:
        model = next((m for m in policy.models if m.name == s.ho_model), None)
    score = (current_score(s, policy.scoring) if model is None
             else model_score_at(s, model, s.clock))
    due = at + policy.sla.due_ms(queue)
    if fresh:
        s.ho_at = at
        s.ho_score = score
        s.ho_escalated = False
        s.ho_esc_breached = False
        s.ho_contact = None
        s.ho_contact_reported = False
        s.ho_accepted = False
        s.ho_closed = False
    s.ho_due = due
    s.ho_queue = queue
    s.ho_path = path.value
    s.owner = owner
    cause = None if path is HandoffPath.SCORE else Reason(path.value.lower(), 0.0)
    return QualifiedLead(
        handoff_id=f"handoff:{s.lead_id}:{s.seq}",
        lead_id=s.lead_id,
        path=path,
        queue=queue,
        owner_rep_id=owner,
        score=score,
        fit_grade=s.grade,
        criteria_met=crit.met(s, policy) if criteria is None else criteria,
        reasons=((top_reasons(s, policy, cause) if model is None
                  else model_reasons(s, policy, model, cause)) if explain else ()),
        profile=dict(s.profile),
        first_touch_campaign=s.first_touch,
        last_touch_campaign=s.last_touch,
        campaigns=tuple(s.campaigns),
        handed_off_at=at,
        sla_due_at=due,
        policy_version=policy.version,
        model=s.ho_model,
    )


def feedback(s: LeadState, ftype: FeedbackType, reason: str | None, t: int, policy: Policy,
             amount: float | None = None) -> MarketingFeedback:
    """Feedback about the lead's latest hand-off. `hours_to_first_contact` is reported once
    per hand-off: on the first feedback after the first contact (so KPIs count it once)."""
    s.seq += 1
    hours = None
    if s.ho_at is not None and s.ho_contact is not None and not s.ho_contact_reported:
        hours = max(0, s.ho_contact - s.ho_at) / HOUR_MS
        s.ho_contact_reported = True
    return MarketingFeedback(
        feedback_id=f"feedback:{s.lead_id}:{s.seq}",
        lead_id=s.lead_id,
        type=ftype,
        reason=reason,
        campaigns=tuple(s.campaigns),
        score_at_handoff=s.ho_score if s.ho_at is not None else None,
        hours_to_first_contact=hours,
        amount=amount,
        occurred_at=t,
        policy_version=policy.version,
    )
