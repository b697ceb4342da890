"""CLI commands that need no broker: help, demo export, policy check, backtest, lead errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.demo import generate
from streams.domain import load_policy
from streams.paths import DEFAULT_POLICY

NOW = 1_790_000_000_000
runner = CliRunner()


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args), env={"LEADFLOW_BROKER": "kafka://127.0.0.1:1"})


@pytest.mark.parametrize("cmd", [["demo"], ["tail"], ["lead"], ["policy", "check"],
                                 ["backtest"], ["topics", "create"], ["worker"]])
def test_every_command_has_help(cmd: list[str]) -> None:
    result = runner.invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_demo_is_deterministic_for_a_seed() -> None:
    policy = load_policy(DEFAULT_POLICY)
    a = generate(11, 120, NOW, policy)
    b = generate(11, 120, NOW, policy)
    assert [(r.at, r.logical, r.kind, r.key, r.record, r.raw) for r in a.records] == [
        (r.at, r.logical, r.kind, r.key, r.record, r.raw) for r in b.records]
    c = generate(12, 120, NOW, policy)
    assert [r.record for r in a.records] != [r.record for r in c.records]


def test_demo_stream_is_realistic() -> None:
    policy = load_policy(DEFAULT_POLICY)
    demo = generate(7, 400, NOW, policy)
    times = [r.at for r in demo.records]
    assert times == sorted(times)
    good = [r.record for r in demo.records if r.kind != "malformed"]
    assert all(r is not None and r["occurred_at"] <= NOW for r in good)
    assert min(times) >= NOW - 14 * 86_400_000
    types = {r["type"] for r in good if r is not None}
    for t in ("TRADE_SHOW_SCAN", "REP_REFERRAL", "DEMO_REQUESTED", "ACCEPTED", "REJECTED",
              "WON", "OPPORTUNITY_CREATED"):
        assert t in types
    assert demo.duplicates > 0 and demo.malformed >= 4
    assert {"student", "competitor", "champion", "badge"} <= set(demo.personas)
    won = [r for r in good if r is not None and r["type"] == "WON"]
    assert all(r["amount"] and r["amount"] > 0 for r in won)


def test_demo_export_and_backtest_report(tmp_path: Path) -> None:
    res = invoke("demo", "--leads", "300", "--seed", "3", "--now-ms", str(NOW), "--export-dir",
                 str(tmp_path / "hist"))
    assert res.exit_code == 0, res.output
    events, outcomes = tmp_path / "hist" / "events.jsonl", tmp_path / "hist" / "outcomes.jsonl"
    assert json.loads(events.read_text().splitlines()[0])["lead_id"].startswith("L3-")
    other = tmp_path / "strict.yaml"
    other.write_text(DEFAULT_POLICY.read_text().replace("min_criteria: 3", "min_criteria: 4")
                     .replace('version: "', 'version: "strict-'))
    out = tmp_path / "report"
    res = invoke("backtest", "--policy", str(DEFAULT_POLICY), "--events", str(events),
                 "--outcomes", str(outcomes), "--compare", str(other), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "replay rate:" in res.output
    md = (out / "report.md").read_text()
    png = out / "handoffs.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "| precision |" in md and "| recall |" in md and "What changes from A" in md
    n = int(re.search(r"Hand-offs: \*\*(\d+)\*\*", md).group(1))  # type: ignore[union-attr]
    assert 10 < n < 300
    p = re.search(r"^\| precision \| ([\d.]+)% \(\d+/\d+\) \| ([\d.]+)%", md, re.MULTILINE)
    assert p is not None and 0 < float(p.group(1)) <= 100 and 0 < float(p.group(2)) <= 100
    # stricter policy: fewer or equal SCORE hand-offs, and the changes say why
    assert "criteria < 4" in md
    # people read it: no Python dict, no timing in the report, no warning leaking
    assert "{'" not in res.output and "Warning" not in res.output
    assert "records/s" not in md and "replay rate" not in md.lower()
    assert (out / "report.html").is_file() and (out / "changed_leads.csv").is_file()


def test_backtest_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event_id": "e1"\n')
    res = invoke("backtest", "--policy", str(DEFAULT_POLICY), "--events", str(bad))
    assert res.exit_code == 2 and "bad.jsonl:1" in res.output
    res = invoke("backtest", "--policy", str(DEFAULT_POLICY), "--events",
                 str(tmp_path / "missing.jsonl"))
    assert res.exit_code == 2
    res = invoke("backtest", "--events", str(bad))
    assert res.exit_code == 2


def test_policy_check_ok_and_problems(tmp_path: Path) -> None:
    res = invoke("policy", "check", str(DEFAULT_POLICY))
    assert res.exit_code == 0 and "ok, version" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nscoring:\n  points: {FOO: 3}\n")
    res = invoke("policy", "check", str(bad))
    assert res.exit_code == 2
    assert "bad.yaml:3" in res.output and "unknown event type" in res.output
    assert "Traceback" not in res.output


def test_lead_without_worker_is_one_line() -> None:
    res = invoke("lead", "L1", "--url", "http://127.0.0.1:1")
    assert res.exit_code == 1
    assert "no worker answering" in res.output and "Traceback" not in res.output
