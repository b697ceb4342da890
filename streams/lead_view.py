"""What ``GET /leads/{id}`` and ``leadflow lead`` show: a lead's state for people.

No personal data: the profile (email, names, phone, company...) is never shown; only ids
(lead, campaigns, reps), stages, scores, grades, rule and criterion names.

Scores and points are rounded to one decimal. The score is shown twice: at the lead's
stream time (its latest event, `state.clock`: what the engine last decided on) and as of
`now` (the worker's clock), decayed, so a lead silent for months does not show its peak.
With scoring models (policy `models:`), each model's score is shown the same way.
"""

from __future__ import annotations

from typing import Any

from streams.domain import LeadState, Policy, Stage
from streams.domain.explain import top_reasons
from streams.domain.models import LEAD_EVENT_TYPES as EVENT_TYPES
from streams.domain.scoring import current_score, model_score_at, score_at
from streams.domain.why import mql_checks, shown, why_not_mql

HISTORY_SHOWN = 10
# stages only a sales outcome moves a lead to (besides NURTURE, which a rejection or a
# recycle gives)
_BY_SALES = frozenset({Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST})


def _history(state: LeadState) -> list[dict[str, Any]]:
    """Recent events and the sales facts the state keeps, newest first.

    The state keeps events with their times, but of sales outcomes only what the hand-off
    needs: when it was handed off, first contacted, whether accepted, and the stage the
    latest outcome moved it to (without its time: shown first, `occurred_at` null)."""
    rows: list[dict[str, Any]] = [
        {"kind": "event", "type": EVENT_TYPES[ti] if 0 <= ti < len(EVENT_TYPES) else "UNKNOWN",
         "occurred_at": t}
        for ti, t in state.history[-HISTORY_SHOWN:]
    ]
    if state.ho_at is not None:
        rows.append({"kind": "handoff", "type": f"HANDED_OFF {state.ho_path or '?'}",
                     "occurred_at": state.ho_at, "queue": state.ho_queue or None})
        if state.ho_contact is not None:
            rows.append({"kind": "sales", "type": "FIRST_CONTACT",
                         "occurred_at": state.ho_contact})
    rows.sort(key=lambda r: r["occurred_at"], reverse=True)
    if state.stage in _BY_SALES or (state.stage is Stage.NURTURE and state.ho_at is not None):
        rows.insert(0, {"kind": "sales", "type": f"OUTCOME -> {state.stage.value}",
                        "occurred_at": None})
    elif state.ho_accepted:
        rows.insert(0, {"kind": "sales", "type": "ACCEPTED", "occurred_at": None})
    return rows


def lead_view(state: LeadState, policy: Policy, now: int | None = None) -> dict[str, Any]:
    """The lead as people read it; `now` is the worker's clock (default: the lead's own)."""
    stage = state.stage.value
    if stage == "ERASED":
        # Only the fact of the erasure remains.
        return {"lead_id": state.lead_id, "stage": stage}
    at = state.clock if now is None else max(now, state.clock)
    at_clock = mql_checks(state, policy, state.clock)
    criteria = at_clock[2]
    met = [n for n in policy.criteria_names if n not in criteria.missing]
    return {
        "lead_id": state.lead_id,
        "stage": stage,
        "score": shown(current_score(state, policy.scoring)),
        "stream_time": state.clock or None,
        "score_now": shown(score_at(state, at, policy.scoring)),
        "now": at or None,
        "fit_grade": at_clock[1].value,
        "criteria_met": met,
        "reasons": [{"rule": r.rule, "points": shown(r.points)}
                    for r in top_reasons(state, policy)],
        "why_not_mql": why_not_mql(state, policy, at).to_dict(),
        "recent_history": _history(state),
        "owner_rep_id": state.owner,
        "queue": state.ho_queue or None,
        "handed_off_at": state.ho_at,
        "sla_due_at": state.ho_due if state.ho_at is not None and not state.ho_closed else None,
        "campaigns": list(state.campaigns),
        "events": state.events,
        "policy_version": policy.version,
        **(_models(state, policy, at) if policy.models else {}),
    }


def _models(state: LeadState, policy: Policy, at: int) -> dict[str, Any]:
    """Per scoring model (contract 4b): its score at the lead's clock and now, and its
    MQL threshold when the MQL rule counts it (null otherwise); the model of the hand-off."""
    eligible = {m.name for m in policy.mql_models}
    return {
        "model_scores": [
            {"model": m.name,
             "score": shown(model_score_at(state, m, state.clock)),
             "score_now": shown(model_score_at(state, m, at)),
             "mql_score": m.mql_score if m.name in eligible else None}
            for m in policy.models],
        "handoff_model": state.ho_model,
    }


def shadow_summary(state: LeadState, policy: Policy, now: int | None = None) -> dict[str, Any]:
    """What ``/leads/{id}`` shows under ``shadow``: the shadow policy's stage and score."""
    at = state.clock if now is None else max(now, state.clock)
    return {
        "stage": state.stage.value,
        "score": shown(current_score(state, policy.scoring)),
        "score_now": shown(score_at(state, at, policy.scoring)),
        "queue": state.ho_queue or None,
        "policy_version": policy.version,
    }
