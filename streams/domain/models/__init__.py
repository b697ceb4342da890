"""Records and the per-lead state, as plain typed data.

Input records (`LeadEvent`, `SalesOutcome`) and output records (`StageTransition`,
`QualifiedLead`, `MarketingFeedback`) are frozen slotted dataclasses whose
`from_record` / `to_record` speak exactly the dict shapes of docs/records.md.

`LeadState` is the per-lead memory the domain keeps between events. It is a mutable slotted
object *owned by the domain*: by default `step`/`tick` leave the state they are given alone
and return a new one; with `inplace=True` the caller hands it over (see `engine.py`).
`encode_state` / `decode_state` turn it into compact bytes for the worker's table (median
~0.8 KB: positional JSON, history times relative to the lead's clock, event ids as 64-bit
hashes, fit rules and profile criteria as bitmasks valid for the policy version `pv`).
`decode_state` also reads the states written before the current format (see `_STATE_FORMAT`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


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

# ---------------------------------------------------------------- state

HISTORY_LIMIT = 32  # recent events kept for "event within N days" and for display
DEDUPE_LIMIT = 64  # recent event ids remembered (as 64-bit hashes)
CAMPAIGN_LIMIT = 16  # campaigns touched kept (the first touch is always kept)

# A capped event counted in its window: (occurred_at, ((rule, points earned), ...)), the
# points unscaled (see scoring.py). Tuples: a state copy shares them.
CapEntry = tuple[int, tuple[tuple[str, float], ...]]
# Counted events of a window decoded from a format-1 state (which kept only a count): times
# and points unknown, so they sort first and are never displaced by a late event.
LEGACY_CAP_T = -(2**53)


_new_state = object.__new__
_STATE_FIELDS = (
        "anchor",
        "campaigns",
        "caps",
        "clock",
        "contrib",
        "counts",
        "criteria",
        "disq_rule",
        "events",
        "first_touch",
        "fit_points",
        "fmask",
        "grade",
        "history",
        "ho_accepted",
        "ho_at",
        "ho_closed",
        "ho_contact",
        "ho_contact_reported",
        "ho_due",
        "ho_esc_breached",
        "ho_escalated",
        "ho_path",
        "ho_queue",
        "ho_score",
        "ignored",
        "last_touch",
        "lead_id",
        "owner",
        "pcrit",
        "profile",
        "pv",
        "score_sum",
        "seen",
        "seq",
        "stage",
)


class LeadState:
    """Everything the domain remembers about one lead.

    Score is stored as `score_sum`, the sum of every contribution scaled to the time
    `anchor` (see scoring.py); `contrib` holds the same per rule, for explanations.
    The open hand-off (if any) lives in the `ho_*` fields.
    """

    __slots__ = _STATE_FIELDS

    def __init__(self, lead_id: str) -> None:
        self.lead_id = lead_id
        self.stage: Stage = Stage.RAW
        self.score_sum = 0.0
        self.anchor = 0
        self.clock = 0  # max occurred_at seen (the lead's event-time clock); 0 = no events
        self.seq = 0  # output counter, shared by all output kinds
        self.events = 0  # events and outcomes applied
        self.ignored = 0  # events ignored (after ERASED / terminal, UNKNOWN type, misfit)
        self.profile: dict[str, str] = {}
        self.grade = "D"
        self.fit_points = 0.0
        self.fmask = 0  # bitmask of the fit rules that hold (policy version `pv`)
        # criteria met when last evaluated (profile change, transition, hand-off): for display;
        # `criteria.met(state, policy)` gives the live value
        self.criteria: tuple[str, ...] = ()
        self.pcrit = 0  # bitmask of profile-only criteria met (refreshed with the fit)
        self.pv = ""  # version of the policy the cached fit/pcrit were computed with
        self.history: list[tuple[int, int]] = []  # (event type index, occurred_at)
        self.counts: dict[int, int] = {}  # event type index -> count, all time
        self.campaigns: list[str] = []
        self.first_touch: str | None = None
        self.last_touch: str | None = None
        self.contrib: dict[str, float] = {}  # rule -> contribution scaled to anchor
        # type index -> window index -> events counted there, sorted (see scoring.py)
        self.caps: dict[int, dict[int, tuple[CapEntry, ...]]] = {}
        self.seen: list[int] = []  # 64-bit hashes of recent event ids
        self.disq_rule: str | None = None
        self.owner: str | None = None
        # the current (latest) hand-off
        self.ho_at: int | None = None
        self.ho_due = 0
        self.ho_queue = ""
        self.ho_path = ""
        self.ho_score = 0.0
        self.ho_escalated = False  # breached and escalated: ho_due is the escalation's due
        self.ho_esc_breached = False  # the escalation breached too: no deadline left
        self.ho_contact: int | None = None
        self.ho_contact_reported = False
        self.ho_accepted = False
        self.ho_closed = False  # a disposition (accept/reject/recycle...) stopped the clock

    def copy(self) -> LeadState:
        """A copy whose containers are independent (written out: this is the hot path)."""
        new = _new_state(LeadState)
        new.anchor = self.anchor
        new.campaigns = self.campaigns[:]
        new.caps = {k: v.copy() for k, v in self.caps.items()} if self.caps else {}
        new.clock = self.clock
        new.contrib = self.contrib.copy()
        new.counts = self.counts.copy()
        new.criteria = self.criteria
        new.disq_rule = self.disq_rule
        new.events = self.events
        new.first_touch = self.first_touch
        new.fit_points = self.fit_points
        new.fmask = self.fmask
        new.grade = self.grade
        new.history = self.history[:]
        new.ho_accepted = self.ho_accepted
        new.ho_at = self.ho_at
        new.ho_closed = self.ho_closed
        new.ho_contact = self.ho_contact
        new.ho_contact_reported = self.ho_contact_reported
        new.ho_due = self.ho_due
        new.ho_esc_breached = self.ho_esc_breached
        new.ho_escalated = self.ho_escalated
        new.ho_path = self.ho_path
        new.ho_queue = self.ho_queue
        new.ho_score = self.ho_score
        new.ignored = self.ignored
        new.last_touch = self.last_touch
        new.lead_id = self.lead_id
        new.owner = self.owner
        new.pcrit = self.pcrit
        new.pv = self.pv
        new.profile = dict(self.profile)
        new.score_sum = self.score_sum
        new.seen = self.seen[:]
        new.seq = self.seq
        new.stage = self.stage
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LeadState):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _STATE_FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LeadState({self.lead_id!r}, stage={self.stage.value}, events={self.events})"


# ---------------------------------------------------------------- compact encoding

# 2: caps hold the counted events per window; hand-off flag 16 = escalation breached.
# 1: caps were [type, window, count] triples (decoded as LEGACY_CAP_T entries).
_STATE_FORMAT = 2


def _pack_seen(seen: list[int]) -> str:
    raw = b"".join(h.to_bytes(8, "big") for h in seen)
    return base64.b64encode(raw).decode("ascii")


def _unpack_seen(text: str) -> list[int]:
    raw = base64.b64decode(text)
    return [int.from_bytes(raw[i : i + 8], "big") for i in range(0, len(raw), 8)]


def encode_state(state: LeadState) -> bytes:
    """Compact JSON (positional list, short forms); history times relative to the clock."""
    clock = state.clock
    hist: list[int] = []
    for ti, t in state.history:
        hist.append(ti)
        hist.append(clock - t)
    counts: list[int] = []
    for ti, n in state.counts.items():
        counts.append(ti)
        counts.append(n)
    # [type, window, [clock - t, rule, points, rule, points...], ...] per remembered window;
    # a rule named like an event type is written as the type's index (like contrib)
    caps: list[list[Any]] = []
    for ti, wins in state.caps.items():
        for w, counted in wins.items():
            row: list[Any] = [ti, w]
            for t, pts in counted:
                e: list[Any] = [clock - t]
                for name, p in pts:
                    e += (EVENT_TYPE_INDEX.get(name, name), p)
                row.append(e)
            caps.append(row)
    ho: list[Any] = []
    # Sales outcomes can set hand-off flags on a lead that was never handed off: keep the
    # block whenever any field is off its default, or a decoded state would differ.
    if (state.ho_at is not None or state.ho_contact is not None or state.ho_due
            or state.ho_queue or state.ho_path or state.ho_score or state.ho_escalated
            or state.ho_contact_reported or state.ho_accepted or state.ho_closed
            or state.ho_esc_breached):
        ho = [
            state.ho_at,
            state.ho_due,
            state.ho_queue,
            state.ho_path,
            state.ho_score,
            int(state.ho_escalated)
            | int(state.ho_contact_reported) << 1
            | int(state.ho_accepted) << 2
            | int(state.ho_closed) << 3
            | int(state.ho_esc_breached) << 4,
            state.ho_contact,
        ]
    doc = [
        _STATE_FORMAT,
        state.lead_id,
        STAGE_INDEX[state.stage],
        state.score_sum,
        state.anchor,
        clock,
        state.seq,
        state.events,
        state.ignored,
        state.profile,
        state.grade,
        state.fit_points,
        state.fmask,
        state.criteria,
        state.pcrit,
        state.pv,
        hist,
        counts,
        state.campaigns,
        state.first_touch,
        state.last_touch,
        # Exact: the worker round-trips state through this encoding between records, and
        # must explain a lead exactly as an offline replay (which never encodes) does.
        [x for k, v in state.contrib.items() for x in (EVENT_TYPE_INDEX.get(k, k), v)],
        caps,
        _pack_seen(state.seen),
        state.disq_rule,
        state.owner,
        ho,
    ]
    # orjson: the worker encodes every lead's state once per batch (json.dumps was ~5% of
    # its CPU); the same compact JSON, read back by json or orjson alike.
    return orjson.dumps(doc)


def decode_state(data: bytes) -> LeadState:
    doc = orjson.loads(data)
    if not isinstance(doc, list) or not doc or doc[0] not in (1, _STATE_FORMAT):
        raise ValueError("not a leadflow lead state (unknown format)")
    (
        fmt,
        lead_id,
        stage,
        score_sum,
        anchor,
        clock,
        seq,
        events,
        ignored,
        profile,
        grade,
        fit_points,
        fmask,
        criteria,
        pcrit,
        pv,
        hist,
        counts,
        campaigns,
        first_touch,
        last_touch,
        contrib,
        caps,
        seen,
        disq_rule,
        owner,
        ho,
    ) = doc
    s = LeadState(lead_id)
    s.stage = STAGES[stage]
    s.score_sum = float(score_sum)
    s.anchor = anchor
    s.clock = clock
    s.seq = seq
    s.events = events
    s.ignored = ignored
    s.profile = profile
    s.grade = grade
    s.fit_points = float(fit_points)
    s.fmask = fmask
    s.criteria = tuple(criteria)
    s.pcrit = pcrit
    s.pv = pv
    s.history = [(hist[i], clock - hist[i + 1]) for i in range(0, len(hist), 2)]
    s.counts = {counts[i]: counts[i + 1] for i in range(0, len(counts), 2)}
    s.campaigns = campaigns
    s.first_touch = first_touch
    s.last_touch = last_touch
    s.contrib = {
        (LEAD_EVENT_TYPES[k] if isinstance(k, int) else k): float(v)
        for k, v in zip(contrib[::2], contrib[1::2], strict=True)
    }
    s.caps = _decode_caps(caps, clock) if fmt == _STATE_FORMAT else _decode_caps_v1(caps)
    s.seen = _unpack_seen(seen)
    s.disq_rule = disq_rule
    s.owner = owner
    if ho:
        s.ho_at, s.ho_due, s.ho_queue, s.ho_path, s.ho_score, flags, s.ho_contact = ho
        s.ho_score = float(s.ho_score)
        s.ho_escalated = bool(flags & 1)
        s.ho_contact_reported = bool(flags & 2)
        s.ho_accepted = bool(flags & 4)
        s.ho_closed = bool(flags & 8)
        s.ho_esc_breached = bool(flags & 16)
    return s


def _decode_caps(rows: list[list[Any]], clock: int
                 ) -> dict[int, dict[int, tuple[CapEntry, ...]]]:
    caps: dict[int, dict[int, tuple[CapEntry, ...]]] = {}
    for ti, w, *entries in rows:
        counted = []
        for e in entries:
            pts = tuple((LEAD_EVENT_TYPES[k] if isinstance(k, int) else k, float(p))
                        for k, p in zip(e[1::2], e[2::2], strict=True))
            counted.append((clock - e[0], pts))
        caps.setdefault(ti, {})[w] = tuple(counted)
    return caps


def _decode_caps_v1(flat: list[int]) -> dict[int, dict[int, tuple[CapEntry, ...]]]:
    """Format 1 kept, per type, the latest window and how many events it counted."""
    return {flat[i]: {flat[i + 1]: ((LEGACY_CAP_T, ()),) * flat[i + 2]}
            for i in range(0, len(flat), 3)}
