"""What ``GET /leads/{id}`` and ``leadflow lead`` show: a lead's state for people."""

from __future__ import annotations

from typing import Any

from streams.domain import LeadState, Policy
from streams.domain.explain import top_reasons
from streams.domain.models import LEAD_EVENT_TYPES as EVENT_TYPES
from streams.domain.scoring import current_score

HISTORY_SHOWN = 10


def lead_view(state: LeadState, policy: Policy) -> dict[str, Any]:
    stage = state.stage.value
    if stage == "ERASED":
        # Only the fact of the erasure remains.
        return {"lead_id": state.lead_id, "stage": stage}
    history = [
        {"type": EVENT_TYPES[ti] if 0 <= ti < len(EVENT_TYPES) else "UNKNOWN", "occurred_at": t}
        for ti, t in state.history[-HISTORY_SHOWN:]
    ]
    return {
        "lead_id": state.lead_id,
        "stage": stage,
        "score": round(current_score(state, policy.scoring), 3),
        "fit_grade": state.grade,
        "criteria_met": list(state.criteria),
        "reasons": [{"rule": r.rule, "points": r.points} for r in top_reasons(state, policy)],
        "recent_history": history[::-1],
        "owner_rep_id": state.owner,
        "queue": state.ho_queue or None,
        "handed_off_at": state.ho_at,
        "sla_due_at": state.ho_due if state.ho_at is not None and not state.ho_closed else None,
        "campaigns": list(state.campaigns),
        "events": state.events,
        "policy_version": policy.version,
    }
