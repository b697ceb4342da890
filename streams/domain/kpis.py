"""KPI aggregates per report window: mergeable, serialisable, exact enough.

`KpiAggregate.observe(output)` takes output records (dicts of docs/records.md, or the domain
dataclasses): QualifiedLead, MarketingFeedback, StageTransition. Aggregates of the same window
`merge` (partitions, restarts); `to_dict`/`from_dict` store them in a table; `to_report`
builds the SlaReport record. Windows are tumbling, aligned to the epoch, length from
`policy.sla.report_window_ms`; a record falls in the window of its own time (handed_off_at /
occurred_at).

What is counted where (decisions the contract leaves open):
- handoffs: every QualifiedLead, by path and queue; targets and conversion rates use the
  fresh ones (SCORE + REFERRAL), not ESCALATION re-routes.
- accepted / rejected (+ by reason) / sla_breaches / won (+ revenue) / lost: from feedback.
  `sla_breaches` counts breaches of hand-offs' own deadlines (reason "sla_breached"), one
  per hand-off at most, so breaches / fresh hand-offs is the share that missed its SLA. The
  escalation queue's breach of an escalated lead (reason "escalation_sla_breached") would
  count that lead twice: it is kept apart in `escalation_breaches` (stored and merged with
  the aggregate; the SlaReport record has no field for it, the feedback topic carries it).
- contacted: feedback carrying `hours_to_first_contact` (the domain reports it once per
  hand-off). Hours go into a histogram of quarter-hour buckets, so merging is exact and the
  median is exact to 15 minutes. contacted_within_sla compares with the policy's default
  follow-up hours (feedback does not name the queue).
- opportunities: StageTransition to OPPORTUNITY; transitions carry no campaigns, so this
  counts in `totals` and in the score band of the transition's score only.
- by_campaign: every campaign the lead touched (multi-touch); by_score_band: the score at
  hand-off (QualifiedLead.score, feedback.score_at_handoff).
- accounts (`AccountFigures`, SlaReport `accounts`, null without an accounts policy): from
  the account agent's outputs (streams.domain.account_sla), each in the window of its own
  time: qualified (by queue; `qualified_at`; ESCALATION re-routes are not qualifications),
  contacted and contacted_within_sla (the first contact, at its time), sla_breaches (the
  qualification's own due, which re-routes it once) and escalation_breaches (the
  escalation queue's due) at the due time, moved_back at the time it moved back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from streams.domain.account_sla import AccountContacted, AccountOutput, AccountSlaBreached
from streams.domain.accounts import AccountMovedBack, AccountQualified
from streams.domain.models import MarketingFeedback, QualifiedLead, Stage, StageTransition
from streams.domain.policy import Policy
from streams.domain.sla import ESCALATION_BREACH_REASON

BUCKETS_PER_HOUR = 4
_FRESH_PATHS = ("SCORE", "REFERRAL")


def window_start(ts: int, window_ms: int) -> int:
    return ts - ts % window_ms


def window_of(record: dict[str, Any]) -> int:
    """The record's own time: handed_off_at for hand-offs, occurred_at otherwise."""
    return int(record["handed_off_at"] if "handoff_id" in record else record["occurred_at"])


def band_label(score: float | None, bands: tuple[float, ...]) -> str:
    s = 0.0 if score is None else score
    labels = _band_labels(bands)
    for i, hi in enumerate(bands):
        if s < hi:
            return labels[i]
    return labels[-1]


@lru_cache(maxsize=64)
def _band_labels(bands: tuple[float, ...]) -> tuple[str, ...]:
    """Each band's label, then the top band's (formatted once per band list)."""
    out = []
    lo = 0.0
    for hi in bands:
        out.append(f"{_g(lo)}-{_g(hi - 1) if float(hi).is_integer() else '<' + _g(hi)}")
        lo = hi
    out.append(f"{_g(lo)}+")
    return tuple(out)


def _g(x: float) -> str:
    return f"{x:g}"


def _add(d: dict[str, int], k: str, n: int = 1) -> None:
    d[k] = d.get(k, 0) + n


@dataclass(slots=True)
class Figures:
    handoffs: int = 0
    handoffs_by_path: dict[str, int] = field(default_factory=dict)
    handoffs_by_queue: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    contacted: int = 0
    hours: dict[int, int] = field(default_factory=dict)  # quarter-hour bucket -> count
    sla_breaches: int = 0
    escalation_breaches: int = 0  # the escalation queue's own SLA (not in the SlaReport)
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    revenue_won: float = 0.0

    def merge(self, o: Figures) -> None:
        self.handoffs += o.handoffs
        for k, n in o.handoffs_by_path.items():
            _add(self.handoffs_by_path, k, n)
        for k, n in o.handoffs_by_queue.items():
            _add(self.handoffs_by_queue, k, n)
        self.accepted += o.accepted
        self.rejected += o.rejected
        for k, n in o.rejected_by_reason.items():
            _add(self.rejected_by_reason, k, n)
        self.contacted += o.contacted
        for b, n in o.hours.items():
            self.hours[b] = self.hours.get(b, 0) + n
        self.sla_breaches += o.sla_breaches
        self.escalation_breaches += o.escalation_breaches
        self.opportunities += o.opportunities
        self.won += o.won
        self.lost += o.lost
        self.revenue_won += o.revenue_won

    def fresh_handoffs(self) -> int:
        return sum(self.handoffs_by_path.get(p, 0) for p in _FRESH_PATHS)

    def median_hours(self) -> float | None:
        total = sum(self.hours.values())
        if not total:
            return None
        half = (total + 1) // 2
        run = 0
        for b in sorted(self.hours):
            run += self.hours[b]
            if run >= half:
                return b / BUCKETS_PER_HOUR
        return None  # pragma: no cover

    def within(self, hours: float) -> int:
        limit = hours * BUCKETS_PER_HOUR
        return sum(n for b, n in self.hours.items() if b <= limit)

    def to_record(self, sla_hours: float) -> dict[str, Any]:
        fresh = self.fresh_handoffs()
        return {
            "handoffs": self.handoffs,
            "handoffs_by_path": dict(self.handoffs_by_path),
            "handoffs_by_queue": dict(self.handoffs_by_queue),
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "contacted": self.contacted,
            "contacted_within_sla": self.within(sla_hours),
            "sla_breaches": self.sla_breaches,
            "opportunities": self.opportunities,
            "won": self.won,
            "lost": self.lost,
            "revenue_won": self.revenue_won,
            "median_hours_to_first_contact": self.median_hours(),
            "conversion_to_opportunity": self.opportunities / fresh if fresh else None,
            "conversion_to_won": self.won / fresh if fresh else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "h": self.handoffs, "hp": self.handoffs_by_path, "hq": self.handoffs_by_queue,
            "a": self.accepted, "r": self.rejected, "rr": self.rejected_by_reason,
            "c": self.contacted, "hh": {str(k): v for k, v in self.hours.items()},
            "b": self.sla_breaches, "eb": self.escalation_breaches, "o": self.opportunities,
            "w": self.won, "l": self.lost, "rev": self.revenue_won,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Figures:
        return cls(
            handoffs=int(d["h"]), handoffs_by_path=dict(d["hp"]),
            handoffs_by_queue=dict(d["hq"]), accepted=int(d["a"]), rejected=int(d["r"]),
            rejected_by_reason=dict(d["rr"]), contacted=int(d["c"]),
            hours={int(k): int(v) for k, v in d["hh"].items()}, sla_breaches=int(d["b"]),
            escalation_breaches=int(d.get("eb", 0)),  # absent from aggregates stored before
            opportunities=int(d["o"]), won=int(d["w"]), lost=int(d["l"]),
            revenue_won=float(d["rev"]),
        )


def _count_feedback(g: Figures, ftype: str, reason: str | None, amount: float | None,
                    hours: float | None) -> None:
    """One marketing feedback in one KPI group (from a record or a domain output alike)."""
    if ftype == "ACCEPTED":
        g.accepted += 1
    elif ftype == "REJECTED":
        g.rejected += 1
        _add(g.rejected_by_reason, reason or "unspecified")
    elif ftype == "SLA_BREACHED":
        if reason == ESCALATION_BREACH_REASON:
            g.escalation_breaches += 1
        else:
            g.sla_breaches += 1
    elif ftype == "CONVERTED":
        g.won += 1
        g.revenue_won += float(amount or 0.0)
    elif ftype == "LOST":
        g.lost += 1
    if hours is not None and math.isfinite(hours):
        g.contacted += 1
        b = math.ceil(max(0.0, hours) * BUCKETS_PER_HOUR)
        g.hours[b] = g.hours.get(b, 0) + 1

@dataclass(slots=True)
class AccountFigures:
    """Mergeable account figures for one report window (see the module doc)."""

    qualified: int = 0
    qualified_by_queue: dict[str, int] = field(default_factory=dict)
    contacted: int = 0
    contacted_within_sla: int = 0
    sla_breaches: int = 0
    escalation_breaches: int = 0
    moved_back: int = 0

    def observe(self, o: AccountOutput) -> None:
        if type(o) is AccountQualified:
            if o.path != "ESCALATION":
                self.qualified += 1
                _add(self.qualified_by_queue, o.queue)
        elif type(o) is AccountContacted:
            self.contacted += 1
            self.contacted_within_sla += int(o.within_sla)
        elif type(o) is AccountSlaBreached:
            if o.escalation:
                self.escalation_breaches += 1
            else:
                self.sla_breaches += 1
        elif type(o) is AccountMovedBack:
            self.moved_back += 1
        else:
            raise ValueError("not an account output")

    def merge(self, o: AccountFigures) -> AccountFigures:
        self.qualified += o.qualified
        for k, n in o.qualified_by_queue.items():
            _add(self.qualified_by_queue, k, n)
        self.contacted += o.contacted
        self.contacted_within_sla += o.contacted_within_sla
        self.sla_breaches += o.sla_breaches
        self.escalation_breaches += o.escalation_breaches
        self.moved_back += o.moved_back
        return self

    def to_record(self) -> dict[str, Any]:
        return {"qualified": self.qualified,
                "qualified_by_queue": dict(sorted(self.qualified_by_queue.items())),
                "contacted": self.contacted, "contacted_within_sla": self.contacted_within_sla,
                "sla_breaches": self.sla_breaches,
                "escalation_breaches": self.escalation_breaches,
                "moved_back": self.moved_back}

    def to_dict(self) -> dict[str, Any]:
        return self.to_record()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AccountFigures:
        return cls(int(d["qualified"]), {k: int(v) for k, v in d["qualified_by_queue"].items()},
                   int(d["contacted"]), int(d["contacted_within_sla"]),
                   int(d["sla_breaches"]), int(d["escalation_breaches"]),
                   int(d["moved_back"]))


def account_time(o: AccountOutput) -> int:
    """The time whose window an account output falls in."""
    if type(o) is AccountQualified:
        return o.qualified_at
    if type(o) is AccountSlaBreached:
        return o.due_at
    if type(o) is AccountContacted or type(o) is AccountMovedBack:
        return o.at
    raise ValueError("not an account output")


class KpiAggregate:
    """Mergeable KPI figures for one report window."""

    __slots__ = ("bands", "by_band", "by_campaign", "observed", "totals")

    def __init__(self, bands: tuple[float, ...] = (50.0, 100.0)) -> None:
        self.bands = bands
        self.totals = Figures()
        self.by_campaign: dict[str, Figures] = {}
        self.by_band: dict[str, Figures] = {}
        self.observed = 0

    def _groups(self, campaigns: Sequence[str], score: float | None, banded: bool
                ) -> list[Figures]:
        gs = [self.totals]
        for c in dict.fromkeys(campaigns):
            g = self.by_campaign.get(c)
            if g is None:
                g = self.by_campaign[c] = Figures()
            gs.append(g)
        if banded:
            label = band_label(score, self.bands)
            g = self.by_band.get(label)
            if g is None:
                g = self.by_band[label] = Figures()
            gs.append(g)
        return gs

    def observe(self, output: dict[str, Any] | StageTransition | QualifiedLead
                | MarketingFeedback) -> None:
        if not isinstance(output, dict):
            self.observe_output(output)
            return
        rec = output
        self.observed += 1
        if "handoff_id" in rec:
            for g in self._groups(rec["campaigns"], rec["score"], True):
                g.handoffs += 1
                _add(g.handoffs_by_path, rec["path"])
                _add(g.handoffs_by_queue, rec["queue"])
        elif "feedback_id" in rec:
            sah = rec["score_at_handoff"]
            hours = rec["hours_to_first_contact"]
            ftype = rec["type"]
            for g in self._groups(rec["campaigns"], sah, sah is not None):
                _count_feedback(g, ftype, rec["reason"], rec["amount"], hours)
        elif "transition_id" in rec:
            if rec["to_stage"] == "OPPORTUNITY":
                for g in self._groups([], rec["score"], True):
                    g.opportunities += 1
        else:
            raise ValueError("not a leadflow output record")

    def observe_output(self, o: StageTransition | QualifiedLead | MarketingFeedback) -> None:
        """`observe` of a domain output, read from its fields: what `to_record` would give
        (its floats are `float(...)`), without building the record."""
        self.observed += 1
        if type(o) is StageTransition:  # the most common output
            if o.to_stage is Stage.OPPORTUNITY:  # a Stage: its value is "OPPORTUNITY"
                for g in self._groups((), float(o.score), True):
                    g.opportunities += 1
        elif type(o) is QualifiedLead:
            path, queue = o.path.value, o.queue
            for g in self._groups(o.campaigns, float(o.score), True):
                g.handoffs += 1
                _add(g.handoffs_by_path, path)
                _add(g.handoffs_by_queue, queue)
        elif type(o) is MarketingFeedback:
            sah = o.score_at_handoff
            hours = o.hours_to_first_contact
            ftype = o.type.value
            for g in self._groups(o.campaigns, sah, sah is not None):
                _count_feedback(g, ftype, o.reason, o.amount, hours)
        else:  # a subclass: its record decides (and counts it)
            self.observed -= 1
            self.observe(o.to_record())

    def merge(self, other: KpiAggregate) -> KpiAggregate:
        self.totals.merge(other.totals)
        for mine, theirs in ((self.by_campaign, other.by_campaign),
                             (self.by_band, other.by_band)):
            for k, f in theirs.items():
                g = mine.get(k)
                if g is None:
                    g = mine[k] = Figures()
                g.merge(f)
        self.observed += other.observed
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "bands": list(self.bands),
            "t": self.totals.to_dict(),
            "c": {k: v.to_dict() for k, v in self.by_campaign.items()},
            "s": {k: v.to_dict() for k, v in self.by_band.items()},
            "n": self.observed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KpiAggregate:
        agg = cls(tuple(float(b) for b in d["bands"]))
        agg.totals = Figures.from_dict(d["t"])
        agg.by_campaign = {k: Figures.from_dict(v) for k, v in d["c"].items()}
        agg.by_band = {k: Figures.from_dict(v) for k, v in d["s"].items()}
        agg.observed = int(d["n"])
        return agg

    def to_report(self, window_start: int, window_end: int, policy: Policy,
                  accounts: AccountFigures | None = None) -> dict[str, Any]:
        """The SlaReport record; ``accounts``: the window's account figures (reported as
        zeros when the policy has accounts and none are given, null without accounts)."""
        sla = policy.sla
        t = self.totals
        fresh = t.fresh_handoffs()
        quantity = (sla.min_handoffs is None or fresh >= sla.min_handoffs) and (
            sla.max_handoffs is None or fresh <= sla.max_handoffs)
        decided = t.accepted + t.rejected
        quality = True
        if sla.min_acceptance_rate is not None and decided:
            quality = t.accepted / decided >= sla.min_acceptance_rate
        if sla.max_breach_rate is not None and (fresh or t.sla_breaches):
            quality = quality and t.sla_breaches / max(fresh, 1) <= sla.max_breach_rate
        hours = sla.default_hours
        return {
            "report_id": f"sla-report:{window_start}",
            "window_start": window_start,
            "window_end": window_end,
            "policy_version": policy.version,
            "totals": t.to_record(hours),
            "by_campaign": {k: v.to_record(hours) for k, v in sorted(self.by_campaign.items())},
            "by_score_band": {k: v.to_record(hours) for k, v in sorted(self.by_band.items())},
            "quantity_target_met": quantity,
            "quality_target_met": quality,
            "accounts": None if policy.accounts is None else (
                accounts or AccountFigures()).to_record(),
        }
