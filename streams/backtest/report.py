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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.backtest.figures import FRESH, Figures, figures
from streams.backtest.replay import Replay
from streams.domain import LeadState, Policy, Stage
from streams.domain.criteria import met as criteria_met
from streams.domain.fit import grade_at_least
from streams.domain.scoring import current_score

__all__ = ["Change", "Figures", "chart", "compare", "figures", "markdown", "why_not"]


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}% ({n}/{d})" if d else "n/a (0)"


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
              f"- Replay rate: {fs[0].rate:,.0f} records/s"
              + (f" ({inputs['replay']})" if inputs.get("replay") else ""), "",
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
