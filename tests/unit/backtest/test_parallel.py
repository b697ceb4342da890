"""Sharded replay: any number of worker processes gives what one process gives, exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.backtest import Replay, read_history, replay
from streams.backtest.figures import figures, merge, part_of
from streams.backtest.replay import Key
from streams.cli import app
from streams.demo import export, generate
from streams.domain import Output, encode_state, load_policy
from streams.paths import DEFAULT_POLICY

NOW = 1_790_000_000_000


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A demo history (with SLA breaches, escalations, rejections, wins) and a stricter
    policy to compare with."""
    d = tmp_path_factory.mktemp("hist")
    events, outcomes = export(generate(5, 1500, NOW, load_policy(DEFAULT_POLICY)), d)
    strict = d / "strict.yaml"
    strict.write_text(DEFAULT_POLICY.read_text().replace("min_criteria: 3", "min_criteria: 4")
                      .replace('version: "', 'version: "strict-'))
    return events, outcomes, strict


@pytest.mark.parametrize("shards", [2, 3])
def test_shards_replay_what_one_replay_does(history: tuple[Path, Path, Path],
                                            shards: int) -> None:
    events, outcomes, _ = history
    policy = load_policy(DEFAULT_POLICY)
    inputs = read_history([events, outcomes], NOW).inputs
    one = replay(inputs, policy, partitions=4)
    parts = [replay(inputs, policy, k, shards, partitions=4) for k in range(shards)]
    assert all(p.stepped < one.stepped for p in parts)
    assert one.ticks > 0 and sum(p.ticks for p in parts) == one.ticks
    def ordered(reps: list[Replay]) -> list[tuple[Key, Output]]:
        # stable: outputs with equal keys come from one record, in the order it gave them
        return sorted(((key, o) for r in reps for key, o in zip(r.keys, r.outputs,
                                                                 strict=True)),
                      key=lambda ko: ko[0])

    assert ordered(parts) == ordered([one])
    states = {lid: s for p in parts for lid, s in p.states.items()}
    assert {lid: encode_state(s) for lid, s in states.items()} == {
        lid: encode_state(s) for lid, s in one.states.items()}
    whole = figures(one)
    split = merge([part_of(p) for p in parts], policy, one.end_ms, one.rate)
    assert split == whole
    assert repr(split.kpi) == repr(whole.kpi)  # dict orders too
    assert list(split.stages.items()) == list(whole.stages.items())


def _backtest(history: tuple[Path, Path, Path], out: Path, workers: int) -> tuple[str, str]:
    events, outcomes, strict = history
    res = CliRunner().invoke(app, [
        "backtest", "--policy", str(DEFAULT_POLICY), "--events", str(events), "--outcomes",
        str(outcomes), "--compare", str(strict), "--out", str(out), "--workers", str(workers)])
    assert res.exit_code == 0, res.output
    assert f"{workers} process" in res.output
    rate = re.compile(r"^(- Replay rate|replay rate|reading\+validating):.*$", re.MULTILINE)
    return (rate.sub("", res.output),
            rate.sub("", (out / "report.md").read_text(encoding="utf-8")))


def test_backtest_output_is_byte_identical_for_any_workers(
        history: tuple[Path, Path, Path], tmp_path: Path) -> None:
    printed1, report1 = _backtest(history, tmp_path / "w1", 1)
    for w in (2, 3):
        printed, report = _backtest(history, tmp_path / f"w{w}", w)
        assert report == report1
        assert printed.replace(f"w{w}", "w1") == printed1
        png = (tmp_path / f"w{w}" / "handoffs.png").read_bytes()
        assert png == (tmp_path / "w1" / "handoffs.png").read_bytes()
    assert "What changes from A" in report1 and "ESCALATION" in printed1
