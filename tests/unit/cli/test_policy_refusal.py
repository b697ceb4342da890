"""Issue 14.3 / contract 4a: `policy check`, `worker` and `backtest` refuse an invalid
policy the same way: every problem with file:line (capped, with a count of the rest), exit 2;
the worker refuses before it opens a single connection to Kafka."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.domain.policy import MAX_LISTED
from streams.paths import DEFAULT_POLICY

ROOT = Path(__file__).resolve().parents[3]
N_UNKNOWN = 60  # more than MAX_LISTED: the list is capped


@pytest.fixture()
def bad_policy(tmp_path: Path) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    text = text.replace("half_life_days: 30", "half_life_days: -1", 1)
    text += "".join(f"extra{i}: 1\n" for i in range(N_UNKNOWN))
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    return f


@pytest.fixture()
def fake_broker() -> Iterator[socket.socket]:
    """A listening socket standing in for Kafka: any connection attempt lands in its
    backlog, where the test can see it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.setblocking(False)
    yield srv
    srv.close()


def leadflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=60)


def expected_lines(f: Path) -> list[str]:
    total = N_UNKNOWN + 1
    return [f"{f}: invalid policy, {total} problem(s)",
            *[f"  (line {i})" for i in range(MAX_LISTED)],  # placeholders, compared by shape
            f"  and {total - MAX_LISTED} more problem(s)"]


def check_refusal(res: subprocess.CompletedProcess[str], f: Path) -> list[str]:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    # the worker's own log lines (timestamped) may come first
    lines = [ln for ln in res.stderr.splitlines()
             if ln.strip() and not re.match(r"\d{4}-\d\d-\d\dT", ln)]
    want = expected_lines(f)
    assert lines[0] == want[0] and lines[-1] == want[-1], lines
    assert len(lines) == len(want), lines
    assert all(f"({f}:" in ln for ln in lines[1:-1]), lines  # every problem has file:line
    return lines


def test_policy_check_lists_every_problem(bad_policy: Path) -> None:
    check_refusal(leadflow("policy", "check", str(bad_policy), env={}), bad_policy)


def test_worker_refuses_like_policy_check_before_kafka(bad_policy: Path, tmp_path: Path,
                                                        fake_broker: socket.socket) -> None:
    port = fake_broker.getsockname()[1]
    res = leadflow("worker", env={"LEADFLOW_BROKER": f"kafka://127.0.0.1:{port}",
                                  "LEADFLOW_POLICY": str(bad_policy),
                                  "LEADFLOW_DATA_DIR": str(tmp_path)})
    lines = check_refusal(res, bad_policy)
    assert lines == check_refusal(leadflow("policy", "check", str(bad_policy), env={}),
                                  bad_policy)
    with pytest.raises(BlockingIOError):  # nobody knocked on the broker's port
        fake_broker.accept()


def test_backtest_refuses_like_policy_check(bad_policy: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("")
    res = leadflow("backtest", "--policy", str(bad_policy), "--events", str(events),
                   "--out", str(tmp_path / "out"), env={})
    check_refusal(res, bad_policy)
    res = leadflow("backtest", "--policy", str(DEFAULT_POLICY), "--compare", str(bad_policy),
                   "--events", str(events), "--out", str(tmp_path / "out"), env={})
    check_refusal(res, bad_policy)
