"""Honest figures for a policy replayed on recorded history (contract 4a).

The recorded sales outcomes happened to the leads policy A (the policy that produced the
history) handed off. Replaying them onto policy B tells nothing about leads B hands off that
A did not: nobody in sales ever saw them. So, for B:

- a lead B hands off has **evidence** when A handed it off too, to the same queue or the same
  owner: its recorded outcomes (accepted, rejected, opportunity, won, lost, SLA) carry over;
- a lead B hands off without that is **no evidence**: never counted as won or lost;
- a recorded win of a lead B does not hand off (with evidence) is a win B would not have
  delivered: it counts against B's recall.

For A every hand-off has evidence (its outcomes are the record). All figures are computed
per lead, in lead-id order, so the result is the same for any number of replay workers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from streams.backtest.figures import FRESH, Figures

REFERRAL_ROW = "referral"


@dataclass
class Scorecard:
    """One policy's figures, counting recorded outcomes only where there is evidence."""

    version: str
    leads: int  # leads seen in the history
    handed: set[str]  # fresh hand-offs (SCORE and REFERRAL), one per lead
    by_path: Counter[str]
    escalations: int
    evidence: set[str]
    accepted: int
    rejected: int
    opportunities: int
    won: set[str]
    lost: int
    revenue: float
    breaches: int  # SLA breaches among hand-offs with evidence
    recorded_won: int  # every recorded win, whoever handed the lead off
    won_no_evidence: int = 0  # recorded wins among the no-evidence hand-offs
    bands: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def no_evidence(self) -> int:
        return len(self.handed) - len(self.evidence)

    @property
    def precision(self) -> tuple[int, int]:
        """Hand-offs with evidence that reached an opportunity (or won) / those hand-offs."""
        return self.opportunities, len(self.evidence)

    @property
    def recall(self) -> tuple[int, int]:
        """Recorded wins this policy hands off (with evidence) / every recorded win."""
        return len(self.won), self.recorded_won

    @property
    def conversion(self) -> tuple[int, int]:
        """Won / hand-offs with evidence."""
        return len(self.won), len(self.evidence)

    def confusion(self) -> dict[str, int]:
        """Handed off x won, over every lead of the history (the cells add up to `leads`)."""
        return {
            "handed_won": len(self.won),
            "handed_not_won": len(self.evidence) - len(self.won),
            "handed_no_evidence": self.no_evidence,
            "not_handed_won": self.recorded_won - len(self.won) - self.won_no_evidence,
            "not_handed_not_won": (self.leads - len(self.handed) - self.recorded_won
                                   + len(self.won) + self.won_no_evidence),
        }


def same_hands(a: Figures, b: Figures, lead: str) -> bool:
    """B handed `lead` to the queue or the owner A handed it to."""
    if a.first_queue.get(lead) == b.first_queue.get(lead):
        return True
    owner = a.first_owner.get(lead)
    return owner is not None and owner == b.first_owner.get(lead)


def scorecard(record: Figures, f: Figures) -> Scorecard:
    """`f`'s figures judged on the outcomes recorded under `record` (policy A)."""
    handed = set(f.first_path)
    if f is record:
        evidence = handed
    else:
        evidence = {lid for lid in handed if lid in record.first_path
                    and same_hands(record, f, lid)}
    won = evidence & record.won
    leads = sum(record.stages.values())
    escalations = int(f.kpi["totals"]["handoffs_by_path"].get("ESCALATION", 0))
    card = Scorecard(
        version=f.version, leads=leads, handed=handed,
        by_path=Counter(f.first_path.values()), escalations=escalations, evidence=evidence,
        accepted=len(evidence & record.accepted), rejected=len(evidence & record.rejected),
        opportunities=len(evidence & (record.opp | record.won)), won=won,
        lost=len(evidence & record.lost),
        revenue=sum(record.amount.get(lid, 0.0) for lid in sorted(won)),
        breaches=len(evidence & (record.breached if f is record else f.breached)),
        recorded_won=len(record.won))
    card.won_no_evidence = len((handed - evidence) & record.won)
    card.bands = _bands(record, f, evidence)
    return card


def _bands(record: Figures, f: Figures, evidence: set[str]) -> dict[str, dict[str, int]]:
    """Per score band of the first fresh hand-off; referrals in their own row (a referral
    skips scoring, so its score says nothing about the band)."""
    rows: dict[str, dict[str, int]] = {}
    for lid in sorted(f.first_path):
        key = REFERRAL_ROW if f.first_path[lid] == "REFERRAL" else f.first_band[lid]
        row = rows.setdefault(key, {"handoffs": 0, "evidence": 0, "opportunities": 0,
                                    "won": 0})
        row["handoffs"] += 1
        if lid in evidence:
            row["evidence"] += 1
            row["opportunities"] += lid in record.opp or lid in record.won
            row["won"] += lid in record.won
    return rows


def band_order(name: str) -> float:
    """Score bands by their lower edge; the referral row last."""
    if name == REFERRAL_ROW:
        return float("inf")
    return float(name.split("-")[0].rstrip("+"))


def recorded_outcome(record: Figures, lead: str) -> str:
    """The furthest recorded sales outcome of a lead ("" when none)."""
    for name, leads in (("won", record.won), ("lost", record.lost),
                        ("opportunity", record.opp), ("accepted", record.accepted),
                        ("rejected", record.rejected)):
        if lead in leads:
            return name
    return ""


__all__ = ["FRESH", "REFERRAL_ROW", "Scorecard", "band_order", "recorded_outcome",
           "same_hands", "scorecard"]
