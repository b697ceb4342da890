"""What a replay says, for people: figures, a Markdown report and a PNG chart.

- hand-offs per day (by path, and by score band of the hand-off);
- conversion to won by score band (fresh hand-offs: SCORE and REFERRAL);
- precision: leads that became MQL and reached OPPORTUNITY (or WON) / leads that became MQL;
  recall: won leads that had been MQL / won leads;
- SLA adherence from the same KPI aggregate the worker reports;
- with a second policy: leads whose hand-off path differs, and why (top reasons).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.backtest.replay import Replay
from streams.domain import LeadState, Policy, QualifiedLead, Stage, StageTransition
from streams.domain.criteria import met as criteria_met
from streams.domain.fit import grade_at_least
from streams.domain.kpis import KpiAggregate, band_label
from streams.domain.scoring import current_score

DAY = 86_400_000
FRESH = ("SCORE", "REFERRAL")
REACHED_OPP = (Stage.OPPORTUNITY, Stage.WON)


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}% ({n}/{d})" if d else "n/a (0)"


@dataclass
class Figures:
    """Everything the report shows for one policy."""

    version: str
    records: int
    rate: float
    handoffs_by_day_path: dict[str, Counter[str]] = field(default_factory=dict)
    handoffs_by_day_band: dict[str, Counter[str]] = field(default_factory=dict)
    band_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    stages: Counter[str] = field(default_factory=Counter)
    first_path: dict[str, str] = field(default_factory=dict)  # lead -> first hand-off path
    mql: set[str] = field(default_factory=set)
    opp: set[str] = field(default_factory=set)
    won: set[str] = field(default_factory=set)
    kpi: dict[str, Any] = field(default_factory=dict)

    @property
    def precision(self) -> tuple[int, int]:
        return len(self.mql & self.opp), len(self.mql)

    @property
    def recall(self) -> tuple[int, int]:
        return len(self.won & self.mql), len(self.won)


def figures(rep: Replay) -> Figures:
    policy = rep.policy
    bands = policy.sla.score_bands
    f = Figures(policy.version, rep.records, rep.rate)
    agg = KpiAggregate(bands)
    band_of: dict[str, str] = {}
    for o in rep.outputs:
        agg.observe(o)
        if isinstance(o, QualifiedLead):
            day = _day(o.handed_off_at)
            path = o.path.value
            f.handoffs_by_day_path.setdefault(day, Counter())[path] += 1
            if path in FRESH:
                band = band_label(o.score, bands)
                f.handoffs_by_day_band.setdefault(day, Counter())[band] += 1
                if o.lead_id not in band_of:
                    band_of[o.lead_id] = band
                    f.first_path[o.lead_id] = path
        elif isinstance(o, StageTransition):
            if o.to_stage is Stage.MQL:
                f.mql.add(o.lead_id)
            elif o.to_stage in REACHED_OPP:
                f.opp.add(o.lead_id)
                if o.to_stage is Stage.WON:
                    f.won.add(o.lead_id)
    for lid, band in band_of.items():
        row = f.band_rows.setdefault(band, {"handoffs": 0, "opportunities": 0, "won": 0})
        row["handoffs"] += 1
        row["opportunities"] += lid in f.opp
        row["won"] += lid in f.won
    f.stages = Counter(s.stage.value for s in rep.states.values())
    ws = min((o.handed_off_at for o in rep.outputs if isinstance(o, QualifiedLead)),
             default=rep.end_ms)
    f.kpi = agg.to_report(ws, rep.end_ms, policy)
    return f


def why_not(state: LeadState | None, policy: Policy) -> str:
    """Why this lead was not handed off under ``policy`` (its final state)."""
    if state is None:
        return "never seen"
    if state.stage is Stage.DISQUALIFIED:
        return f"disqualified by rule {state.disq_rule}"
    if state.stage is Stage.ERASED:
        return "erased"
    st = policy.stages
    out = []
    if not grade_at_least(state.grade, st.mql_min_grade):
        out.append(f"fit grade {state.grade} below {st.mql_min_grade}")
    n = len(criteria_met(state, policy))
    if n < st.mql_min_criteria:
        out.append(f"{n} criteria < {st.mql_min_criteria}")
    if current_score(state, policy.scoring) < st.mql_score:
        out.append(f"score below {st.mql_score:g}")
    return ", ".join(out) or f"stage {state.stage.value}"


@dataclass
class Change:
    lead_id: str
    path_a: str | None
    path_b: str | None
    why: str


def compare(a: Replay, fa: Figures, b: Replay, fb: Figures) -> list[Change]:
    out = []
    for lid in sorted(set(fa.first_path) | set(fb.first_path)):
        pa, pb = fa.first_path.get(lid), fb.first_path.get(lid)
        if pa == pb:
            continue
        if pa is not None and pb is None:
            why = f"not under B: {why_not(b.states.get(lid), b.policy)}"
        elif pb is not None and pa is None:
            why = f"not under A: {why_not(a.states.get(lid), a.policy)}"
        else:
            why = f"path {pa} -> {pb}"
        out.append(Change(lid, pa, pb, why))
    return out


def chart(fs: list[Figures], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = sorted({d for f in fs for d in f.handoffs_by_day_path})
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ax = axes[0]
    x = list(range(len(days)))
    main = fs[0]
    bottom = [0] * len(days)
    for hpath, color in (("SCORE", "#4C72B0"), ("REFERRAL", "#55A868"),
                         ("ESCALATION", "#C44E52")):
        ys = [main.handoffs_by_day_path.get(d, Counter())[hpath] for d in days]
        ax.bar(x, ys, bottom=bottom, label=f"{hpath} ({main.version})", color=color)
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    for other in fs[1:]:
        ys = [sum(other.handoffs_by_day_path.get(d, Counter()).values()) for d in days]
        ax.plot(x, ys, "k--o", label=f"all paths ({other.version})")
    ax.set_ylabel("hand-offs")
    ax.set_title("Hand-offs per day")
    ax.legend(loc="upper left", fontsize=8)
    ax2 = axes[1]
    bands = sorted({b for c in main.handoffs_by_day_band.values() for b in c},
                   key=lambda s: float(s.split("-")[0].rstrip("+")))
    bottom = [0] * len(days)
    for band in bands:
        ys = [main.handoffs_by_day_band.get(d, Counter())[band] for d in days]
        ax2.bar(x, ys, bottom=bottom, label=f"score {band}")
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    ax2.set_ylabel("fresh hand-offs")
    ax2.set_title(f"Fresh hand-offs (SCORE + REFERRAL) per day by score band ({main.version})")
    ax2.legend(loc="upper left", fontsize=8)
    ax2.set_xticks(x)
    ax2.set_xticklabels([d[5:] for d in days], rotation=45, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _section(f: Figures, title: str) -> list[str]:
    t = f.kpi["totals"]
    fresh = sum(t["handoffs_by_path"].get(p, 0) for p in FRESH)
    lines = [f"## {title}: policy `{f.version}`", ""]
    pn, pd = f.precision
    rn, rd = f.recall
    lines += [
        f"- Hand-offs: **{t['handoffs']}** ("
        + ", ".join(f"{k} {v}" for k, v in sorted(t["handoffs_by_path"].items()))
        + ") — by queue: "
        + ", ".join(f"{k} {v}" for k, v in sorted(t["handoffs_by_queue"].items())),
        f"- Precision (MQLs that became opportunities / MQLs): **{_pct(pn, pd)}**",
        f"- Recall (won deals that had been MQL / won deals): **{_pct(rn, rd)}**",
        f"- SLA adherence: {_pct(max(fresh - t['sla_breaches'], 0), fresh)} of fresh "
        f"hand-offs without a breach; {t['sla_breaches']} breaches; contacted within SLA "
        f"{t['contacted_within_sla']}/{t['contacted']}; median hours to first contact "
        f"{t['median_hours_to_first_contact']}",
        f"- Accepted {t['accepted']}, rejected {t['rejected']} "
        + (f"({', '.join(f'{k}: {v}' for k, v in sorted(t['rejected_by_reason'].items()))})"
           if t["rejected_by_reason"] else "")
        + f", won {t['won']} (revenue {t['revenue_won']:,.0f}), lost {t['lost']}",
        "- Final stages: " + ", ".join(f"{k} {v}" for k, v in f.stages.most_common()),
        "",
        "### Conversion to won by score band (score at the first fresh hand-off)",
        "",
        "| band | hand-offs | opportunities | won | conversion to won |",
        "|---|---:|---:|---:|---:|",
    ]
    for band in sorted(f.band_rows, key=lambda s: float(s.split("-")[0].rstrip("+"))):
        r = f.band_rows[band]
        lines.append(f"| {band} | {r['handoffs']} | {r['opportunities']} | {r['won']} | "
                     f"{_pct(r['won'], r['handoffs'])} |")
    lines += ["", "### Hand-offs per day", "", "| day | SCORE | REFERRAL | ESCALATION |",
              "|---|---:|---:|---:|"]
    for day in sorted(f.handoffs_by_day_path):
        c = f.handoffs_by_day_path[day]
        lines.append(f"| {day} | {c['SCORE']} | {c['REFERRAL']} | {c['ESCALATION']} |")
    lines.append("")
    return lines


def markdown(fs: list[Figures], changes: list[Change] | None, inputs: dict[str, Any],
             chart_name: str) -> str:
    lines = ["# leadflow backtest", ""]
    lines += [f"- Inputs: {inputs['files']}",
              f"- Records replayed: {inputs['events']} lead events + {inputs['outcomes']} "
              f"sales outcomes; {inputs['invalid']} invalid records skipped (the worker "
              "would dead-letter them)",
              f"- Replay rate: {fs[0].rate:,.0f} records/s (domain core, one core)", "",
              f"![hand-offs per day]({chart_name})", ""]
    lines += _section(fs[0], "A" if len(fs) > 1 else "Policy")
    if len(fs) > 1 and changes is not None:
        lines += _section(fs[1], "B")
        lines += [f"## What changes from A (`{fs[0].version}`) to B (`{fs[1].version}`)", ""]
        a_only = sum(1 for c in changes if c.path_b is None)
        b_only = sum(1 for c in changes if c.path_a is None)
        moved = len(changes) - a_only - b_only
        lines += [f"- {len(changes)} leads change: {a_only} handed off only under A, "
                  f"{b_only} only under B, {moved} by a different path.", "",
                  "Top reasons:", "", "| reason | leads |", "|---|---:|"]
        for why, n in Counter(c.why for c in changes).most_common(10):
            lines.append(f"| {why} | {n} |")
        lines += ["", "Examples:", "", "| lead | path under A | path under B | why |",
                  "|---|---|---|---|"]
        for c in changes[:25]:
            lines.append(f"| {c.lead_id} | {c.path_a or '-'} | {c.path_b or '-'} | {c.why} |")
        lines.append("")
    return "\n".join(lines)
