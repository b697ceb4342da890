"""The records leadflow reads and writes, and the enums and type tables they use.

Frozen slotted dataclasses whose `from_record` / `to_record` speak exactly the dict shapes
of docs/records.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    RAW = "RAW"
    ENGAGED = "ENGAGED"
    MQL = "MQL"
    SAL = "SAL"
    SQL = "SQL"
    OPPORTUNITY = "OPPORTUNITY"
    WON = "WON"
    LOST = "LOST"
    NURTURE = "NURTURE"
    DISQUALIFIED = "DISQUALIFIED"
    ERASED = "ERASED"


class FitGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class HandoffPath(StrEnum):
    SCORE = "SCORE"
    REFERRAL = "REFERRAL"
    ESCALATION = "ESCALATION"


class FeedbackType(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    RECYCLED = "RECYCLED"
    CONVERTED = "CONVERTED"
    LOST = "LOST"
    SLA_BREACHED = "SLA_BREACHED"
    DISQUALIFIED = "DISQUALIFIED"


# Order is append-only: the index is used in the compact state encoding.
LEAD_EVENT_TYPES: tuple[str, ...] = (
    "CONTENT_DOWNLOAD",
    "WEBINAR_REGISTERED",
    "WEBINAR_ATTENDED",
    "NEWSLETTER_SIGNUP",
    "EMAIL_OPENED",
    "EMAIL_CLICKED",
    "FORM_SUBMITTED",
    "PRICING_PAGE_VISIT",
    "DEMO_REQUESTED",
    "DEMO_VIEWED",
    "TRADE_SHOW_SCAN",
    "REP_REFERRAL",
    "MEETING_BOOKED",
    "PROFILE_UPDATED",
    "UNSUBSCRIBED",
    "EMAIL_BOUNCED",
    "ERASURE_REQUESTED",
    "UNKNOWN",
)
EVENT_TYPE_INDEX: dict[str, int] = {t: i for i, t in enumerate(LEAD_EVENT_TYPES)}
SALES_OUTCOME_TYPES: tuple[str, ...] = (
    "ACCEPTED",
    "REJECTED",
    "CONTACTED",
    "MEETING_HELD",
    "OPPORTUNITY_CREATED",
    "WON",
    "LOST",
    "RECYCLED",
)
STAGES: tuple[Stage, ...] = tuple(Stage)
STAGE_INDEX: dict[Stage, int] = {s: i for i, s in enumerate(STAGES)}
GRADES: tuple[str, ...] = ("A", "B", "C", "D")


@dataclass(slots=True, frozen=True)
class Reason:
    rule: str
    points: float

    def to_record(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": float(self.points)}


def _reasons(reasons: tuple[Reason, ...]) -> list[dict[str, Any]]:
    return [r.to_record() for r in reasons]


# ---------------------------------------------------------------- inputs


@dataclass(slots=True, frozen=True)
class LeadEvent:
    event_id: str
    lead_id: str
    type: str
    occurred_at: int
    source: str = ""
    campaign_id: str | None = None
    asset_id: str | None = None
    rep_id: str | None = None
    attributes: dict[str, str] | None = None

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> LeadEvent:
        t = rec.get("type", "UNKNOWN")
        if t not in EVENT_TYPE_INDEX:
            t = "UNKNOWN"  # enum default: old readers survive new types
        attrs = rec.get("attributes") or {}
        return cls(
            event_id=str(rec["event_id"]),
            lead_id=str(rec["lead_id"]),
            type=t,
            occurred_at=int(rec["occurred_at"]),
            source=str(rec.get("source") or ""),
            campaign_id=rec.get("campaign_id"),
            asset_id=rec.get("asset_id"),
            rep_id=rec.get("rep_id"),
            attributes={str(k): str(v) for k, v in attrs.items()},
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "lead_id": self.lead_id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "source": self.source,
            "campaign_id": self.campaign_id,
            "asset_id": self.asset_id,
            "rep_id": self.rep_id,
            "attributes": dict(self.attributes or {}),
        }


@dataclass(slots=True, frozen=True)
class SalesOutcome:
    event_id: str
    lead_id: str
    type: str
    occurred_at: int
    rep_id: str | None = None
    reason: str | None = None
    amount: float | None = None

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> SalesOutcome:
        t = str(rec["type"])
        if t not in SALES_OUTCOME_TYPES:
            raise ValueError(f"unknown sales outcome type {t!r}")
        amount = rec.get("amount")
        return cls(
            event_id=str(rec["event_id"]),
            lead_id=str(rec["lead_id"]),
            type=t,
            occurred_at=int(rec["occurred_at"]),
            rep_id=rec.get("rep_id"),
            reason=rec.get("reason"),
            amount=None if amount is None else float(amount),
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "lead_id": self.lead_id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "rep_id": self.rep_id,
            "reason": self.reason,
            "amount": self.amount,
        }


# ---------------------------------------------------------------- outputs


@dataclass(slots=True, frozen=True)
class StageTransition:
    transition_id: str
    lead_id: str
    from_stage: Stage
    to_stage: Stage
    occurred_at: int
    cause_event_id: str
    score: float
    fit_grade: str
    criteria_met: tuple[str, ...]
    reasons: tuple[Reason, ...]
    policy_version: str

    def to_record(self) -> dict[str, Any]:
        return {
            "transition_id": self.transition_id,
            "lead_id": self.lead_id,
            "from_stage": self.from_stage.value,
            "to_stage": self.to_stage.value,
            "occurred_at": self.occurred_at,
            "cause_event_id": self.cause_event_id,
            "score": float(self.score),
            "fit_grade": self.fit_grade,
            "criteria_met": list(self.criteria_met),
            "reasons": _reasons(self.reasons),
            "policy_version": self.policy_version,
        }


@dataclass(slots=True, frozen=True)
class QualifiedLead:
    handoff_id: str
    lead_id: str
    path: HandoffPath
    queue: str
    owner_rep_id: str | None
    score: float
    fit_grade: str
    criteria_met: tuple[str, ...]
    reasons: tuple[Reason, ...]
    profile: dict[str, str]
    first_touch_campaign: str | None
    last_touch_campaign: str | None
    campaigns: tuple[str, ...]
    handed_off_at: int
    sla_due_at: int
    policy_version: str
    model: str | None = None  # the scoring model that qualified it (None: the default score)

    def to_record(self) -> dict[str, Any]:
        return {
            "handoff_id": self.handoff_id,
            "lead_id": self.lead_id,
            "path": self.path.value,
            "queue": self.queue,
            "owner_rep_id": self.owner_rep_id,
            "score": float(self.score),
            "fit_grade": self.fit_grade,
            "criteria_met": list(self.criteria_met),
            "reasons": _reasons(self.reasons),
            "profile": dict(self.profile),
            "first_touch_campaign": self.first_touch_campaign,
            "last_touch_campaign": self.last_touch_campaign,
            "campaigns": list(self.campaigns),
            "handed_off_at": self.handed_off_at,
            "sla_due_at": self.sla_due_at,
            "policy_version": self.policy_version,
            "model": self.model,
        }


@dataclass(slots=True, frozen=True)
class MarketingFeedback:
    feedback_id: str
    lead_id: str
    type: FeedbackType
    reason: str | None
    campaigns: tuple[str, ...]
    score_at_handoff: float | None
    hours_to_first_contact: float | None
    amount: float | None
    occurred_at: int
    policy_version: str

    def to_record(self) -> dict[str, Any]:
        return {
            "feedback_id": self.feedback_id,
            "lead_id": self.lead_id,
            "type": self.type.value,
            "reason": self.reason,
            "campaigns": list(self.campaigns),
            "score_at_handoff": self.score_at_handoff,
            "hours_to_first_contact": self.hours_to_first_contact,
            "amount": self.amount,
            "occurred_at": self.occurred_at,
            "policy_version": self.policy_version,
        }


Output = StageTransition | QualifiedLead | MarketingFeedback
