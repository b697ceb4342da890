"""The backtest report as a document: built once as blocks, written as Markdown, HTML (charts
embedded) and the changed leads as CSV.

What it holds: the definitions of every figure; A, B and the difference side by side; the
confusion table (handed off x won) per policy; conversion by score band with referrals apart;
what changes from A to B, and the effect of each MQL condition, scoring rule and criterion;
SLA figures of the recorded history; hand-offs per day. No timing: how fast the replay ran
is printed by the command, so the same history gives the same report.
"""

from __future__ import annotations

import base64
import csv
import html
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.backtest.counterfactual import (
    REFERRAL_ROW,
    Scorecard,
    band_order,
    recorded_outcome,
)
from streams.backtest.figures import FRESH, Figures
from streams.backtest.report import Change

if TYPE_CHECKING:
    from streams.backtest.accounts import AccountFigures


@dataclass(frozen=True)
class Block:
    kind: str  # "h1" "h2" "h3" "p" "ul" "table" "img"
    text: str = ""
    items: tuple[str, ...] = ()  # ul items; table header
    rows: tuple[tuple[str, ...], ...] = ()  # table rows
    right: int = 1  # table: columns from this one on are numbers (right-aligned)


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}% ({n}/{d})" if d else "n/a (0)"


def _ratio(nd: tuple[int, int]) -> float | None:
    n, d = nd
    return 100.0 * n / d if d else None


def _delta_pp(a: tuple[int, int], b: tuple[int, int]) -> str:
    ra, rb = _ratio(a), _ratio(b)
    return "n/a" if ra is None or rb is None else f"{rb - ra:+.1f} pp"


def _delta(a: float, b: float, money: bool = False) -> str:
    d = b - a
    return f"{d:+,.0f}" if money else f"{d:+,g}"


DEFINITIONS = (
    "**Fresh hand-off**: a lead's first hand-off to sales by score (`SCORE`: the MQL rule "
    "held) or by a rep's referral (`REFERRAL`); counted once per lead. Escalations "
    "(re-routing after an SLA breach) are counted apart.",
    "**A is the record**: the recorded sales outcomes happened to the leads policy A (the "
    "policy that produced the history) handed off. Every hand-off of A has evidence.",
    "**Evidence** (B): B hands the lead off and A handed it off too, to the same queue or "
    "the same owner; its recorded outcomes (accepted, rejected, opportunity, won, lost, SLA) "
    "carry over to B.",
    "**No evidence** (B): B hands the lead off but A did not (or to another queue and "
    "owner): nobody in sales saw it, so it is never counted as won or lost.",
    "**Precision** = hand-offs with evidence that reached an opportunity (or won) / "
    "hand-offs with evidence.",
    "**Recall** = recorded wins the policy hands off with evidence / every recorded win "
    "(a win of a lead never handed off, e.g. found by sales, counts against both).",
    "**Conversion to won** = won / hand-offs with evidence (per score band: of the leads "
    "whose first fresh hand-off falls in that band).",
    "**Score band**: the score at the first fresh hand-off; referrals skip scoring, so they "
    "have their own row, apart from the bands.",
    "**Δ** = B - A; for percentages, in percentage points (pp).",
    "**SLA breach**: a hand-off not accepted or contacted by its due time (judged on the "
    "replayed history, event clock). **Escalations** count every hand-off the replay "
    "escalated: a no-evidence hand-off has no recorded contact, so under B it always "
    "escalates; read that row as an upper bound.",
)


def _scoreboard(cards: list[Scorecard]) -> Block:
    two = len(cards) > 1
    head = ("figure", *(f"{'AB'[i]} `{c.version}`" for i, c in enumerate(cards)))
    if two:
        head += ("Δ (B - A)",)
    counts: list[tuple[str, Callable[[Scorecard], float]]] = [
        ("fresh hand-offs", lambda c: len(c.handed)),
        ("— by score (SCORE)", lambda c: c.by_path["SCORE"]),
        ("— by referral (REFERRAL)", lambda c: c.by_path["REFERRAL"]),
        ("hand-offs with evidence", lambda c: len(c.evidence)),
        ("no evidence", lambda c: c.no_evidence),
        ("accepted (evidence)", lambda c: c.accepted),
        ("rejected (evidence)", lambda c: c.rejected),
        ("reached opportunity (evidence)", lambda c: c.opportunities),
        ("won (evidence)", lambda c: len(c.won)),
        ("lost (evidence)", lambda c: c.lost),
        ("recorded wins not handed off with evidence", lambda c: c.recorded_won - len(c.won)),
        ("SLA breaches (evidence)", lambda c: c.breaches),
        ("escalations (replayed, all hand-offs)", lambda c: c.escalations),
    ]
    rows: list[tuple[str, ...]] = []
    for name, get in counts:
        vals = [get(c) for c in cards]
        row = (name, *(f"{v:,}" for v in vals))
        rows.append(row + ((_delta(vals[0], vals[1]),) if two else ()))
    rev = [c.revenue for c in cards]
    rows.append(("revenue won (evidence)", *(f"{v:,.0f}" for v in rev))
                + ((_delta(rev[0], rev[1], money=True),) if two else ()))
    for name, attr in (("precision", "precision"), ("recall", "recall"),
                       ("conversion to won", "conversion")):
        vals2: list[tuple[int, int]] = [getattr(c, attr) for c in cards]
        rows.append((name, *(_pct(*v) for v in vals2))
                    + ((_delta_pp(vals2[0], vals2[1]),) if two else ()))
    return Block("table", items=head, rows=tuple(rows))


def _confusion(card: Scorecard, label: str) -> list[Block]:
    m = card.confusion()
    evidence_col = label != "A"
    head: tuple[str, ...] = (f"{label} `{card.version}`", "won", "not won")
    if evidence_col:
        head += ("no evidence",)
    head += ("total",)
    handed = (m["handed_won"], m["handed_not_won"]) + (
        (m["handed_no_evidence"],) if evidence_col else ())
    rest = (m["not_handed_won"], m["not_handed_not_won"]) + (("-",) if evidence_col else ())
    rows = (("handed off", *(f"{v:,}" for v in handed), f"{len(card.handed):,}"),
            ("not handed off", *(v if isinstance(v, str) else f"{v:,}" for v in rest),
             f"{card.leads - len(card.handed):,}"))
    return [Block("table", items=head, rows=rows)]


def _bands(cards: list[Scorecard]) -> Block:
    names = sorted({b for c in cards for b in c.bands}, key=band_order)
    head: tuple[str, ...] = ("band",)
    for i in range(len(cards)):
        p = "AB"[i] + " " if len(cards) > 1 else ""
        head += (f"{p}hand-offs",)
        if i:
            head += (f"{p}with evidence",)
        head += (f"{p}opportunities", f"{p}won", f"{p}conversion to won")
    rows = []
    for b in names:
        row: tuple[str, ...] = (b,)
        for i, c in enumerate(cards):
            r = c.bands.get(b, {"handoffs": 0, "evidence": 0, "opportunities": 0, "won": 0})
            row += (f"{r['handoffs']:,}",)
            if i:
                row += (f"{r['evidence']:,}",)
            row += (f"{r['opportunities']:,}", f"{r['won']:,}", _pct(r["won"], r["evidence"]))
        rows.append(row)
    return Block("table", items=head, rows=tuple(rows))


def _impact(changes: list[Change], fa: Figures, fb: Figures) -> list[Block]:
    a_only = [c for c in changes if c.path_b is None]
    b_only = [c for c in changes if c.path_a is None]
    out = [Block("h3", "Which MQL condition decides"),
           Block("p", "Leads handed off by one policy only, by the MQL condition the other "
                 "policy finds unmet: the score when the first policy handed the lead off, "
                 "grade and criteria at the lead's last event (a lead may miss several)."),
           Block("table", items=("MQL condition", "handed off only under A: unmet under B",
                                 "handed off only under B: unmet under A"),
                 rows=tuple((name, f"{sum(name in c.unmet_b for c in a_only):,}",
                             f"{sum(name in c.unmet_a for c in b_only):,}")
                            for name in ("score", "grade", "criteria")))]
    rules = Counter(r for c in changes for r in c.rules)
    ra = Counter(r for c in a_only for r in c.rules)
    rb = Counter(r for c in b_only for r in c.rules)
    out += [Block("h3", "Scoring rules of the changed leads"),
            Block("p", "For each scoring rule (event type or extra rule), how many changed "
                  "leads got points from it."),
            Block("table", items=("rule", "changed leads", "handed off only under A",
                                  "handed off only under B"),
                  rows=tuple((r, f"{n:,}", f"{ra[r]:,}", f"{rb[r]:,}")
                             for r, n in sorted(rules.items(), key=lambda x: (-x[1], x[0]))
                             [:15]))]
    names = list(dict.fromkeys([n for c in changes for n in (*c.criteria_a, *c.criteria_b)]))
    out += [Block("h3", "Criteria of the changed leads"),
            Block("p", "For each criterion, how many changed leads met it at their last event "
                  "under each policy."),
            Block("table", items=("criterion", "met under A", "met under B",
                                  "of the A-only leads, met under B",
                                  "of the B-only leads, met under A"),
                  rows=tuple((n, f"{sum(n in c.criteria_a for c in changes):,}",
                              f"{sum(n in c.criteria_b for c in changes):,}",
                              f"{sum(n in c.criteria_b for c in a_only):,}",
                              f"{sum(n in c.criteria_a for c in b_only):,}")
                             for n in sorted(names)))]
    return out


def build(fs: list[Figures], cards: list[Scorecard], changes: list[Change] | None,
          inputs: dict[str, Any], charts: list[tuple[str, str]],
          accounts: list[AccountFigures | None] | None = None) -> list[Block]:
    """The report's blocks; `charts` are (file name, caption); `accounts`: per policy, its
    account replay (None without an accounts section)."""
    fa = fs[0]
    two = len(fs) > 1 and changes is not None
    out = [Block("h1", "leadflow backtest"),
           Block("ul", items=(
               f"Inputs: {inputs['files']}",
               f"Records replayed: {inputs['events']:,} lead events + {inputs['outcomes']:,} "
               f"sales outcomes; {inputs['invalid']:,} invalid records and "
               f"{inputs.get('unknown', 0):,} outcomes for leads never seen skipped (the "
               "worker would dead-letter them); {:,} leads.".format(cards[0].leads),
               f"Replayed as the worker runs with the event clock, on "
               f"{inputs.get('partitions', 1)} partitions: each partition's inputs merged "
               "in event time, SLA deadlines fired on that partition's stream time.",
               "Policies: " + ", ".join(f"{'AB'[i]} `{f.version}`" for i, f in enumerate(fs))
               + (" (A is taken as the policy that produced the recorded outcomes)"
                  if two else "")))]
    out += [Block("h2", "How to read this report"), Block("ul", items=DEFINITIONS)]
    out += [Block("h2", "A, B and the difference" if two else "Figures"), _scoreboard(cards)]
    for name, caption in charts:
        out.append(Block("img", caption, items=(name,)))
    out += [Block("h2", "Handed off x won")]
    for i, c in enumerate(cards):
        out += _confusion(c, "AB"[i] if two else "A")
    out += [Block("p", "Every lead of the history is in one cell. \"Won\" is a recorded win; "
                  "under B only where there is evidence (see the definitions).")]
    out += [Block("h2", "Conversion to won by score band"),
            Block("p", "Score at the first fresh hand-off; referrals apart (they skip "
                  "scoring). Conversion = won / hand-offs with evidence."), _bands(cards)]
    if two:
        assert changes is not None
        fb = fs[1]
        a_only = sum(1 for c in changes if c.path_b is None)
        b_only = sum(1 for c in changes if c.path_a is None)
        moved = len(changes) - a_only - b_only
        out += [Block("h2", f"What changes from A (`{fa.version}`) to B (`{fb.version}`)"),
                Block("p", f"{len(changes):,} leads change: {a_only:,} handed off only under "
                      f"A, {b_only:,} only under B, {moved:,} by another path or queue. All of "
                      "them are in `changed_leads.csv`.")]
        out += [Block("h3", "Top reasons"),
                Block("table", items=("reason", "leads"),
                      rows=tuple((why, f"{n:,}") for why, n in
                                 Counter(c.reason for c in changes).most_common(10)))]
        out += _impact(changes, fa, fb)
        out += [Block("h3", "Examples"),
                Block("table", items=("lead", "under A", "under B", "recorded outcome",
                                      "why"), right=99,
                      rows=tuple((c.lead_id, _where(c.path_a, c.queue_a),
                                  _where(c.path_b, c.queue_b),
                                  recorded_outcome(fa, c.lead_id) or "-", c.why)
                                 for c in changes[:25]))]
    out += _sla(fa)
    if accounts and any(a is not None for a in accounts):
        out += _accounts(accounts, two)
    out += [Block("p", "Final stages: " + "; ".join(
        f"{'AB'[i] if two else ''} " + ", ".join(f"{k} {v:,}" for k, v in f.stages.most_common())
        for i, f in enumerate(fs)).strip())]
    out += _days(fs)
    return out


def _where(path: str | None, queue: str | None) -> str:
    return f"{path} to {queue}" if path else "-"


def _sla(f: Figures) -> list[Block]:
    t = f.kpi["totals"]
    fresh = sum(t["handoffs_by_path"].get(p, 0) for p in FRESH)
    rejected = ", ".join(f"{k}: {v}" for k, v in sorted(t["rejected_by_reason"].items()))
    return [Block("h2", f"SLA and sales figures of the recorded history (A `{f.version}`)"),
            Block("ul", items=(
                f"Hand-offs: **{t['handoffs']}** ("
                + ", ".join(f"{k} {v}" for k, v in sorted(t["handoffs_by_path"].items()))
                + ") — by queue: "
                + ", ".join(f"{k} {v}" for k, v in sorted(t["handoffs_by_queue"].items())),
                f"SLA adherence: {_pct(max(fresh - t['sla_breaches'], 0), fresh)} of fresh "
                f"hand-offs without a breach; {t['sla_breaches']} breaches; contacted within "
                f"SLA {t['contacted_within_sla']}/{t['contacted']}; median hours to first "
                f"contact {t['median_hours_to_first_contact']}",
                f"Accepted {t['accepted']}, rejected {t['rejected']}"
                + (f" ({rejected})" if rejected else "")
                + f", won {t['won']} (revenue {t['revenue_won']:,.0f}), lost {t['lost']}"))]


def _accounts(accounts: list[AccountFigures | None], two: bool, shown: int = 25
              ) -> list[Block]:
    from streams.backtest.accounts import contacts_text

    out = [Block("h2", "Qualified accounts (ABM)"),
           Block("p", "The policy's `accounts` section replayed as the worker runs it: the "
                 "lead side's account signals, then the account agent (one "
                 "`AccountQualified` record per qualification; an account that moves back "
                 "and qualifies again has a second). Every record is in "
                 "`qualified_accounts*.csv`.")]
    for i, a in enumerate(accounts):
        label = f"{'AB'[i]} " if two else ""
        if a is None:
            out.append(Block("p", f"{label}: no `accounts` section, no accounts."))
            continue
        latest = a.latest
        out += [Block("h3", f"{label}`{a.version}`".strip()),
                Block("ul", items=(
                    f"Accounts qualified: **{len(latest)}** ({len(a.records)} "
                    f"`AccountQualified` records); still qualified at the end of the "
                    f"history: {a.qualified_at_end} of {len(a.states)} accounts seen",
                    "By queue: " + (", ".join(f"{q} {n}" for q, n in
                                              a.by_queue.most_common()) or "-"),
                    "Contacts by buying-group role (latest qualifications): "
                    + (", ".join(f"{r} {n}" for r, n in a.roles.most_common()) or "-"),
                    f"SLA: {a.sla.contacted_within_sla} of {a.sla.contacted} contacted "
                    f"accounts within the SLA; {a.sla.sla_breaches} breaches (each "
                    f"re-routed to the escalation queue), {a.sla.escalation_breaches} "
                    f"escalation breaches; moved back: {a.sla.moved_back}")),
                Block("table", items=("account", "queue", "owner", "grade",
                                      "contacts (lead role)", "score"), right=5,
                      rows=tuple((r["account_id"], r["queue"], r["owner_rep_id"] or "-",
                                  r["fit_grade"], contacts_text(r), f"{r['score']:.1f}")
                                 for r in latest[:shown]))]
    return out


def _days(fs: list[Figures]) -> list[Block]:
    days = sorted({d for f in fs for d in f.handoffs_by_day_path})
    paths = ("SCORE", "REFERRAL", "ESCALATION")
    head: tuple[str, ...] = ("day",)
    for i, _ in enumerate(fs):
        p = "AB"[i] + " " if len(fs) > 1 else ""
        head += tuple(p + x for x in paths)
    rows = tuple((d, *(str(f.handoffs_by_day_path.get(d, Counter())[x]) for f in fs
                       for x in paths)) for d in days)
    return [Block("h2", "Hand-offs per day"), Block("table", items=head, rows=rows)]


# ------------------------------------------------------------------ writers


def markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "ul":
            lines += [f"- {x}" for x in b.items] + [""]
        elif b.kind == "img":
            lines += [f"![{b.text}]({b.items[0]})", ""]
        elif b.kind == "table":
            lines.append("| " + " | ".join(b.items) + " |")
            lines.append("|" + "|".join("---:" if i >= b.right else "---"
                                        for i in range(len(b.items))) + "|")
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
                      for r in b.rows]
            lines.append("")
    return "\n".join(lines)


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #4C72B0}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em}th{background:#f3f5f9;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}code{background:#f3f3f3;padding:0 .2em}
img{max-width:100%;border:1px solid #eee}
"""


def _inline(text: str) -> str:
    t = html.escape(text, quote=False)
    t = _CODE.sub(r"<code>\1</code>", t)
    return _BOLD.sub(r"<b>\1</b>", t)


def to_html(blocks: list[Block], images: dict[str, bytes]) -> str:
    """A single page: the same blocks, the charts embedded as PNG (base64)."""
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>leadflow backtest</title>", f"<style>{_STYLE}</style></head><body>"]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in b.items) + "</ul>")
        elif b.kind == "img":
            data = base64.b64encode(images[b.items[0]]).decode("ascii")
            out.append(f'<figure><img alt="{html.escape(b.text)}" '
                       f'src="data:image/png;base64,{data}"><figcaption>'
                       f"{_inline(b.text)}</figcaption></figure>")
        elif b.kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.items)
            body = "".join(
                "<tr>" + "".join(
                    f'<td class="n">{_inline(c)}</td>' if i >= b.right else
                    f"<td>{_inline(c)}</td>" for i, c in enumerate(r)) + "</tr>"
                for r in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


CSV_COLUMNS = ("lead_id", "path_a", "queue_a", "path_b", "queue_b", "score_a", "score_b",
               "grade_a", "grade_b", "criteria_a", "criteria_b", "unmet_a", "unmet_b",
               "recorded_outcome", "evidence_b", "why")


def write_csv(changes: list[Change], fa: Figures, card_b: Scorecard, path: Path) -> None:
    """Every changed lead, one row each. `evidence_b`: for a lead B hands off, "yes" when
    A's recorded outcomes carry over, "no evidence" otherwise; "-" when B does not hand off.
    No personal data: ids, policy facts and rule names only."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for c in changes:
            ev = "-" if c.path_b is None else (
                "yes" if c.lead_id in card_b.evidence else "no evidence")
            w.writerow((c.lead_id, c.path_a or "", c.queue_a or "", c.path_b or "",
                        c.queue_b or "", f"{c.score_a:.1f}", f"{c.score_b:.1f}", c.grade_a,
                        c.grade_b, " ".join(c.criteria_a), " ".join(c.criteria_b),
                        " ".join(c.unmet_a), " ".join(c.unmet_b),
                        recorded_outcome(fa, c.lead_id), ev, c.why))


__all__ = ["CSV_COLUMNS", "REFERRAL_ROW", "Block", "build", "markdown", "to_html",
           "write_csv"]
