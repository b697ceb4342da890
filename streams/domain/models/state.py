"""`LeadState`: everything the domain remembers about one lead, and its size limits."""

from __future__ import annotations

from streams.domain.models.records import Stage

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


class ModelScore:
    """One scoring model's decayed, order-independent score for a lead (contract 4b): the
    same `score_sum` / `anchor` / `contrib` / `caps` as the lead's default score, kept
    by the same code (scoring.py), with the model's own half-life and caps."""

    __slots__ = ("anchor", "caps", "contrib", "score_sum")

    def __init__(self) -> None:
        self.score_sum = 0.0
        self.anchor = 0
        self.contrib: dict[str, float] = {}
        self.caps: dict[int, dict[int, tuple[CapEntry, ...]]] = {}

    def copy(self) -> ModelScore:
        new = _new_state(ModelScore)
        new.score_sum = self.score_sum
        new.anchor = self.anchor
        new.contrib = self.contrib.copy()
        new.caps = {k: v.copy() for k, v in self.caps.items()} if self.caps else {}
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelScore):
            return NotImplemented
        return (self.score_sum == other.score_sum and self.anchor == other.anchor
                and self.contrib == other.contrib and self.caps == other.caps)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ModelScore(score_sum={self.score_sum!r}, anchor={self.anchor!r})"

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
        "ho_model",
        "ho_path",
        "ho_queue",
        "ho_score",
        "ignored",
        "last_touch",
        "lead_id",
        "models",
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
        self.models: dict[str, ModelScore] = {}  # scoring model name -> its score
        self.ho_model: str | None = None  # the model that qualified the hand-off (None: default)
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
        new.ho_model = self.ho_model
        new.ho_path = self.ho_path
        new.ho_queue = self.ho_queue
        new.ho_score = self.ho_score
        new.ignored = self.ignored
        new.last_touch = self.last_touch
        new.lead_id = self.lead_id
        new.models = {k: v.copy() for k, v in self.models.items()} if self.models else {}
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
