"""The honest backtest report: counterfactual outcomes, A/B/Δ, confusion, referrals apart,
changed leads as CSV, HTML, swapped inputs."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.backtest.counterfactual import REFERRAL_ROW, scorecard
from streams.backtest.document import CSV_COLUMNS, build, markdown, to_html
from streams.backtest.figures import Figures
from streams.cli import app
from streams.demo import export, generate
from streams.domain import load_policy
from streams.paths import DEFAULT_POLICY

NOW = 1_790_000_000_000


def figs(version: str, handoffs: dict[str, tuple[str, str, str | None, str]],
         leads: int = 10) -> Figures:
    """Figures with fresh hand-offs {lead: (path, queue, owner, band)}."""
    f = Figures(version, 0, 0.0)
    for lid, (path, queue, owner, band) in handoffs.items():
        f.first_path[lid], f.first_queue[lid] = path, queue
        f.first_owner[lid], f.first_band[lid] = owner, band
        f.first_score[lid] = 60.0
    f.stages = Counter({"ENGAGED": leads})
    paths = Counter(p for p, _, _, _ in handoffs.values())
    f.kpi = {"totals": {"handoffs": len(handoffs), "handoffs_by_path": dict(paths),
                        "handoffs_by_queue": {}, "sla_breaches": 0, "contacted": 0,
                        "contacted_within_sla": 0, "median_hours_to_first_contact": None,
                        "accepted": 0, "rejected": 0, "rejected_by_reason": {}, "won": 0,
                        "revenue_won": 0.0, "lost": 0}}
    return f


@pytest.fixture
def ab() -> tuple[Figures, Figures]:
    a = figs("A1", {"L1": ("SCORE", "emea", "rep-jon", "50-99"),
                    "L3": ("SCORE", "emea", "rep-kai", "50-99"),
                    "L4": ("SCORE", "smb-na", "rep-hal", "50-99"),
                    "L5": ("REFERRAL", "referrals", "rep-ana", "0-49")})
    a.won = {"L1", "L2", "L3", "L5"}  # L2: won without a hand-off (found by sales)
    a.opp = {"L1", "L2", "L3", "L4", "L5"}
    a.accepted = {"L1", "L3", "L4", "L5"}
    a.lost = {"L4"}
    a.amount = {"L1": 100.0, "L2": 20.0, "L3": 300.0, "L5": 50.0}
    b = figs("B1", {"L1": ("SCORE", "emea", "rep-lea", "100+"),  # same queue: evidence
                    "L2": ("SCORE", "emea", "rep-jon", "50-99"),  # A never: no evidence
                    "L3": ("SCORE", "general", "rep-max", "50-99"),  # other queue & owner
                    "L5": ("REFERRAL", "referrals", "rep-ana", "0-49")})
    return a, b


def test_outcomes_carry_over_only_where_b_hands_off_to_the_same_queue(
        ab: tuple[Figures, Figures]) -> None:
    a, b = ab
    ca, cb = scorecard(a, a), scorecard(a, b)
    assert ca.evidence == {"L1", "L3", "L4", "L5"} and ca.no_evidence == 0
    assert ca.won == {"L1", "L3", "L5"} and ca.recall == (3, 4)
    # L2 was won without a hand-off under A: B handing it off is no evidence of a win
    assert cb.evidence == {"L1", "L5"} and cb.no_evidence == 2
    assert cb.won == {"L1", "L5"} and cb.revenue == 150.0
    assert cb.recall == (2, 4) and cb.precision == (2, 2) and cb.lost == 0
    m = cb.confusion()
    assert m == {"handed_won": 2, "handed_not_won": 0, "handed_no_evidence": 2,
                 "not_handed_won": 0, "not_handed_not_won": 6}
    assert sum(m.values()) == cb.leads == 10
    assert sum(ca.confusion().values()) == 10 and ca.confusion()["not_handed_won"] == 1


def test_same_owner_in_another_queue_is_evidence(ab: tuple[Figures, Figures]) -> None:
    a, b = ab
    b.first_queue["L3"], b.first_owner["L3"] = "enterprise-na", "rep-kai"
    assert "L3" in scorecard(a, b).evidence


def test_referrals_have_their_own_row_apart_from_score_bands(
        ab: tuple[Figures, Figures]) -> None:
    a, _ = ab
    bands = scorecard(a, a).bands
    assert bands[REFERRAL_ROW] == {"handoffs": 1, "evidence": 1, "opportunities": 1, "won": 1}
    assert "0-49" not in bands  # the referral's score band is not a score band row
    assert bands["50-99"]["handoffs"] == 3


def test_a_b_delta_side_by_side(ab: tuple[Figures, Figures]) -> None:
    a, b = ab
    cards = [scorecard(a, a), scorecard(a, b)]
    inputs = {"files": "`x`", "events": 1, "outcomes": 1, "invalid": 0}
    md = markdown(build([a, b], cards, [], inputs, []))
    assert "| figure | A `A1` | B `B1` | Δ (B - A) |" in md
    assert "| won (evidence) | 3 | 2 | -1 |" in md
    assert "| no evidence | 0 | 2 | +2 |" in md
    assert "| revenue won (evidence) | 450 | 150 | -300 |" in md
    assert "| recall | 75.0% (3/4) | 50.0% (2/4) | -25.0 pp |" in md
    for word in ("**Precision** =", "**Recall** =", "**Conversion to won** =",
                 "**No evidence**"):
        assert word in md
    page = to_html(build([a, b], cards, [], inputs, []), {})
    assert "<td>won (evidence)</td><td class=\"n\">3</td>" in page


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str]:
    d = tmp_path_factory.mktemp("bt")
    events, outcomes = export(generate(9, 600, NOW, load_policy(DEFAULT_POLICY)), d)
    b = d / "mql70.yaml"
    b.write_text(DEFAULT_POLICY.read_text().replace("score: 50   ", "score: 70   ")
                 .replace('version: "', 'version: "mql70-'))
    out = d / "report"
    res = CliRunner().invoke(app, ["backtest", "--policy", str(DEFAULT_POLICY), "--events",
                                   str(events), "--outcomes", str(outcomes), "--compare",
                                   str(b), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return events, outcomes, out, res.output


def test_changed_leads_csv(report: tuple[Path, Path, Path, str]) -> None:
    _, _, out, printed = report
    with (out / "changed_leads.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    n = int(re.search(r"(\d+) leads change hand-off", printed).group(1))  # type: ignore[union-attr]
    assert n > 0 and len(rows) == n
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["lead_id"] for r in rows] == sorted(r["lead_id"] for r in rows)
    for r in rows:  # raising the threshold only takes hand-offs away, for the score
        assert r["path_a"] == "SCORE" and r["path_b"] == "" and r["evidence_b"] == "-"
        assert "score" in r["unmet_b"].split() and r["why"].startswith("not under B: score")
    text = (out / "changed_leads.csv").read_text(encoding="utf-8")
    assert "@" not in text  # no personal data


def test_html_report_with_embedded_charts(report: tuple[Path, Path, Path, str]) -> None:
    _, _, out, _ = report
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert page.count("data:image/png;base64,iVBORw0KGgo") == 2  # both PNGs, embedded
    assert "A, B and the difference" in page and "Handed off x won" in page
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| referral |" in md and "(compare.png)" in md


def test_swapped_inputs_are_one_line_and_exit_2(report: tuple[Path, Path, Path, str],
                                                tmp_path: Path) -> None:
    events, outcomes, _, _ = report
    res = CliRunner().invoke(app, ["backtest", "--policy", str(DEFAULT_POLICY), "--events",
                                   str(outcomes), "--outcomes", str(events), "--out",
                                   str(tmp_path / "r")])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "swapped?" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "r").exists()
    res = CliRunner().invoke(app, ["backtest", "--policy", str(DEFAULT_POLICY), "--events",
                                   str(outcomes), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "holds sales outcomes, no lead events" in res.output
