"""``leadflow backtest`` replays accounts too (issue 16 item 3): with an accounts policy its
qualified accounts are exactly the offline reference's AccountQualified records
(``streams.engine.memory.replay`` + ``replay_accounts`` over the records as the producer
sent them), listed in qualified_accounts.csv and summed up in the report."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.codecs import default_codecs
from streams.demo import export, generate
from streams.domain import load_policy
from streams.engine.memory import Record, replay, replay_accounts
from streams.paths import DEFAULT_POLICY, POLICY_DIR
from streams.processor import LeadProcessor
from tests.support.accounts import companies

NOW = 1_780_000_000_000
T0 = NOW - 10 * 86_400_000
ACCOUNTS = POLICY_DIR / "accounts.yaml"
PARTS = 4


def reference(records: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The offline reference's AccountQualified records, in the order emitted."""
    codecs = default_codecs()
    policy = load_policy(ACCOUNTS)
    kinds = {"events": "LeadEvent", "outcomes": "SalesOutcome"}
    recs = [Record(src, r["lead_id"].encode(), codecs.encode(kinds[src], r))
            for src, r in records]
    leads = replay(recs, LeadProcessor(policy, codecs, {}), PARTS, NOW)
    accounts = replay_accounts(leads.outbound, policy, codecs, PARTS, NOW)
    return [o.record for o in accounts.outbound if o.kind == "AccountQualified"]


def backtest(policy: Path, files: list[Path], out: Path) -> str:
    args = ["backtest", "--policy", str(policy), "--events", str(files[0]), "--out",
            str(out), "--partitions", str(PARTS), "-q"]
    if len(files) > 1:
        args += ["--outcomes", str(files[1])]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def rows(out: Path) -> list[tuple[str, ...]]:
    with (out / "qualified_accounts.csv").open(encoding="utf-8") as f:
        return [tuple(r) for r in csv.reader(f)][1:]


def as_rows(records: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(r["qualification_id"], r["account_id"], r["queue"], r["owner_rep_id"] or "",
             f"{r['score']:.6f}", r["fit_grade"], str(r["qualified_at"]),
             ", ".join(f"{c['lead_id']} {c['role'] or '-'}" for c in r["contacts"]))
            for r in records]


def test_companies_history_equals_the_offline_reference(tmp_path: Path) -> None:
    events = companies(15, T0, seed=4)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    printed = backtest(ACCOUNTS, [path], tmp_path / "report")
    want = reference([("events", e) for e in events])
    assert len(want) >= 3
    assert rows(tmp_path / "report") == as_rows(want)
    # each account's latest qualification; an escalation (":esc") re-routes one, it is
    # not a qualification of its own
    latest = {r["account_id"]: r for r in want if not r["qualification_id"].endswith(":esc")}
    escalations = [r for r in want if r["qualification_id"].endswith(":esc")]
    assert escalations and {r["queue"] for r in escalations} == {"escalation"}
    assert f"qualified accounts {len(latest)} (" in printed
    md = (tmp_path / "report" / "report.md").read_text()
    assert "## Qualified accounts (ABM)" in md
    assert f"Accounts qualified: **{len(latest)}** ({len(want)} `AccountQualified`" in md
    queues = Counter(r["queue"] for r in latest.values())
    assert "By queue: " + ", ".join(f"{q} {n}" for q, n in queues.most_common()) in md
    assert (f"{len(escalations)} breaches (each re-routed to the escalation queue)") in md
    assert "Qualified accounts (ABM)" in (tmp_path / "report" / "report.html").read_text()


def test_demo_with_outcomes_equals_the_offline_reference(tmp_path: Path) -> None:
    demo = generate(3, 160, NOW, load_policy(ACCOUNTS), accounts=True)
    files = list(export(demo, tmp_path / "hist"))
    backtest(ACCOUNTS, files, tmp_path / "report")
    want = reference([(r.logical, r.record) for r in demo.records
                      if r.kind != "malformed" and r.record is not None])
    assert want and any(r["qualification_id"].endswith(":1") for r in want)
    assert rows(tmp_path / "report") == as_rows(want)


@pytest.mark.parametrize("policy", [DEFAULT_POLICY])
def test_no_accounts_section_no_account_replay(tmp_path: Path, policy: Path) -> None:
    events = companies(4, T0, seed=2)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    printed = backtest(policy, [path], tmp_path / "report")
    assert "qualified accounts" not in printed
    assert not (tmp_path / "report" / "qualified_accounts.csv").exists()
    assert "Qualified accounts" not in (tmp_path / "report" / "report.md").read_text()
