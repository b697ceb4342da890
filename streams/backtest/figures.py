"""The report's figures for one policy, computed per shard of leads and merged exactly.

A ``Part`` is what one shard's replay contributes; ``merge`` adds parts up into the
``Figures`` a single replay gives, to the byte. Counts, sets and per-lead facts add up in any
order; the few things that depend on the order of outputs are kept with their order keys and
replayed in that order when merging:

- revenue sums (floating point addition is not associative): every CONVERTED feedback's
  amount, re-added in output order into each group it counts in;
- the insertion order of the KPI groups' dicts (the CLI prints one as is): by the key of
  each entry's earliest output (a replay emits partition by partition, not in key order);
- the order of final stages with equal counts (``Counter.most_common`` keeps first-seen order).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.backtest.replay import Key, Replay
from streams.domain import MarketingFeedback, Policy, QualifiedLead, Stage, StageTransition
from streams.domain.kpis import KpiAggregate, band_label

FRESH = ("SCORE", "REFERRAL")
_MQL, _OPP, _WON = Stage.MQL, Stage.OPPORTUNITY, Stage.WON
_ORDERED_DICTS = ("handoffs_by_path", "handoffs_by_queue", "rejected_by_reason")
# (KPI group: "t" totals, "c" campaign, "b" score band; its name; dict; key in it)
DictKey = tuple[str, str, str, str]


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


_DAY_MS = 86_400_000


@dataclass
class Figures:
    """Everything the report shows for one policy."""

    version: str
    records: int
    rate: float
    handoffs_by_day_path: dict[str, Counter[str]] = field(default_factory=dict)
    handoffs_by_day_band: dict[str, Counter[str]] = field(default_factory=dict)
    stages: Counter[str] = field(default_factory=Counter)
    # per lead, its first fresh (SCORE or REFERRAL) hand-off: path, queue, owner, score band
    first_path: dict[str, str] = field(default_factory=dict)
    first_queue: dict[str, str] = field(default_factory=dict)
    first_owner: dict[str, str | None] = field(default_factory=dict)
    first_band: dict[str, str] = field(default_factory=dict)
    first_score: dict[str, float] = field(default_factory=dict)
    mql: set[str] = field(default_factory=set)
    opp: set[str] = field(default_factory=set)
    won: set[str] = field(default_factory=set)
    # leads with each kind of sales feedback, and the revenue each won lead brought
    accepted: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    breached: set[str] = field(default_factory=set)  # an SLA breach on any hand-off
    unknown_outcomes: int = 0  # outcomes for leads never seen (the worker dead-letters them)
    amount: dict[str, float] = field(default_factory=dict)
    kpi: dict[str, Any] = field(default_factory=dict)

    @property
    def precision(self) -> tuple[int, int]:
        return len(self.mql & self.opp), len(self.mql)

    @property
    def recall(self) -> tuple[int, int]:
        return len(self.won & self.mql), len(self.won)


@dataclass
class Part:
    """One shard's contribution to the figures (picklable: no policy, no states)."""

    figures: Figures
    agg: KpiAggregate
    first_handoff: int | None = None  # earliest handed_off_at
    # (order key, amount, campaigns, score band or None) of every CONVERTED feedback
    revenue: list[tuple[Key, float, tuple[str, ...], str | None]] = field(default_factory=list)
    first_key: dict[DictKey, Key] = field(default_factory=dict)  # when a dict key came
    stage_first: dict[str, Key] = field(default_factory=dict)  # stage -> first-seen key


def part_of(rep: Replay) -> Part:
    """The figures of one replay (a shard of leads, or all of them)."""
    bands = rep.policy.sla.score_bands
    f = Figures(rep.policy.version, rep.records, rep.rate)
    f.unknown_outcomes = rep.unknown_outcomes
    part = Part(f, KpiAggregate(bands))
    observe = part.agg.observe_output
    first_key = part.first_key
    by_day_path, by_day_band = f.handoffs_by_day_path, f.handoffs_by_day_band
    band_of = f.first_band
    days: dict[int, str] = {}  # UTC days are whole multiples of 86,400,000 ms
    first_handoff = None
    for o, key in zip(rep.outputs, rep.keys, strict=True):
        observe(o)
        kind = type(o)
        if kind is StageTransition:
            to = o.to_stage  # type: ignore[union-attr]
            if to is _MQL:
                f.mql.add(o.lead_id)
            elif to is _OPP or to is _WON:
                f.opp.add(o.lead_id)
                if to is _WON:
                    f.won.add(o.lead_id)
        elif kind is QualifiedLead:
            assert isinstance(o, QualifiedLead)
            at = o.handed_off_at
            if first_handoff is None or at < first_handoff:
                first_handoff = at
            day = days.get(at // _DAY_MS)
            if day is None:
                day = days[at // _DAY_MS] = _day(at)
            path = o.path.value
            for g, name in _groups(o.campaigns, band_label(float(o.score), bands)):
                for dk in ((g, name, "handoffs_by_path", path),
                           (g, name, "handoffs_by_queue", o.queue)):
                    had = first_key.get(dk)
                    if had is None or key < had:
                        first_key[dk] = key
            c = by_day_path.get(day)
            if c is None:
                c = by_day_path[day] = Counter()
            c[path] += 1
            if path in FRESH:
                band = band_label(o.score, bands)
                c = by_day_band.get(day)
                if c is None:
                    c = by_day_band[day] = Counter()
                c[band] += 1
                lid = o.lead_id
                if lid not in band_of:
                    band_of[lid] = band
                    f.first_path[lid] = path
                    f.first_queue[lid] = o.queue
                    f.first_owner[lid] = o.owner_rep_id
                    f.first_score[lid] = o.score
        elif kind is MarketingFeedback:
            assert isinstance(o, MarketingFeedback)
            ftype = o.type.value
            sah = o.score_at_handoff
            if ftype == "ACCEPTED":
                f.accepted.add(o.lead_id)
            elif ftype == "LOST":
                f.lost.add(o.lead_id)
            elif ftype == "SLA_BREACHED":
                f.breached.add(o.lead_id)
            if ftype == "REJECTED":
                f.rejected.add(o.lead_id)
                reason = o.reason or "unspecified"
                band_or_none = None if sah is None else band_label(sah, bands)
                for g, name in _groups(o.campaigns, band_or_none):
                    dk = (g, name, "rejected_by_reason", reason)
                    had = first_key.get(dk)
                    if had is None or key < had:
                        first_key[dk] = key
            elif ftype == "CONVERTED":
                # a lead's outputs are all in one shard, in order: its sum is exact
                f.amount[o.lead_id] = f.amount.get(o.lead_id, 0.0) + float(o.amount or 0.0)
                part.revenue.append((key, float(o.amount or 0.0), o.campaigns,
                                     None if sah is None else band_label(sah, bands)))
    part.first_handoff = first_handoff
    first_seen = rep.first_seen
    stages = f.stages
    stage_first = part.stage_first
    for lid, s in rep.states.items():
        name = s.stage.value
        seen = first_seen[lid]
        had = stage_first.get(name)
        if had is None or seen < had:
            stage_first[name] = seen
        stages[name] += 1
    return part


def merge(parts: list[Part], policy: Policy, end_ms: int, rate: float) -> Figures:
    """The figures of the whole replay from its shards' parts (any number, any order)."""
    f = Figures(policy.version, parts[0].figures.records, rate)
    agg = KpiAggregate(policy.sla.score_bands)
    for p in parts:
        g = p.figures
        for mine, theirs in ((f.handoffs_by_day_path, g.handoffs_by_day_path),
                             (f.handoffs_by_day_band, g.handoffs_by_day_band)):
            for day, c in theirs.items():
                mine.setdefault(day, Counter()).update(c)
        # shards hold disjoint leads: per-lead facts just add up
        for name in ("first_path", "first_queue", "first_owner", "first_band", "first_score",
                     "amount"):
            getattr(f, name).update(getattr(g, name))
        for name in ("mql", "opp", "won", "accepted", "rejected", "lost", "breached"):
            getattr(f, name).update(getattr(g, name))
        f.unknown_outcomes += g.unknown_outcomes
        agg.merge(p.agg)
    stage_first: dict[str, Key] = {}
    for p in parts:
        for name, i in p.stage_first.items():
            stage_first[name] = min(i, stage_first.get(name, i))
    for name in sorted(stage_first, key=stage_first.__getitem__):
        f.stages[name] = sum(p.figures.stages[name] for p in parts)
    _exact_revenue(agg, parts)
    first_key: dict[DictKey, Key] = {}
    for p in parts:
        for fk, key in p.first_key.items():
            first_key[fk] = min(key, first_key.get(fk, key))
    groups = [("t", "", agg.totals)]
    groups += [("c", c, g) for c, g in agg.by_campaign.items()]
    groups += [("b", b, g) for b, g in agg.by_band.items()]
    for kind, gname, group in groups:
        for name in _ORDERED_DICTS:
            d: dict[str, int] = getattr(group, name)
            order = sorted(d, key=lambda k: first_key[kind, gname, name, k])
            setattr(group, name, {k: d[k] for k in order})
    starts = [p.first_handoff for p in parts if p.first_handoff is not None]
    f.kpi = agg.to_report(min(starts, default=end_ms), end_ms, policy)
    return f


def _groups(campaigns: tuple[str, ...], band: str | None) -> list[tuple[str, str]]:
    """The KPI groups an output counts in (as `KpiAggregate._groups` picks them)."""
    out = [("t", "")]
    out += [("c", c) for c in dict.fromkeys(campaigns)]
    if band is not None:
        out.append(("b", band))
    return out


def _exact_revenue(agg: KpiAggregate, parts: list[Part]) -> None:
    """Revenue sums re-added in output order, as a single replay adds them."""
    log = sorted((r for p in parts for r in p.revenue), key=lambda r: r[0])
    groups = [agg.totals]
    groups += [agg.by_campaign[c] for _, _, camps, _ in log for c in camps]
    groups += [agg.by_band[b] for _, _, _, b in log if b is not None]
    for g in groups:
        g.revenue_won = 0.0
    for _, amount, camps, band in log:
        agg.totals.revenue_won += amount
        for c in dict.fromkeys(camps):
            agg.by_campaign[c].revenue_won += amount
        if band is not None:
            agg.by_band[band].revenue_won += amount


def figures(rep: Replay) -> Figures:
    """The figures of one whole replay."""
    return merge([part_of(rep)], rep.policy, rep.end_ms, rep.rate)
