"""The user's own mistakes at start: one line on stderr, exit 1, no traceback (contract
section 6, issue 14 item 4); and a fresh worker never races its internal topics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from streams.admin import create_topics, partition_counts
from streams.settings import Settings
from tests.support.worker import ROOT, WorkerProcess

pytestmark = pytest.mark.integration


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line(res: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 1 and one error line, the last one (the worker's own log lines may precede it:
    stderr is also its log), and no traceback."""
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    errors = [x for x in res.stderr.splitlines() if x.startswith("leadflow: ")]
    assert len(errors) == 1 and res.stderr.strip().endswith(errors[0]), res.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_missing_data_folder(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(worker_env, LEADFLOW_DATA_DIR=str(tmp_path / "no" / "such" / "data"))
    assert_one_line(cli(env, "worker"), "LEADFLOW_DATA_DIR", "no folder")


def test_busy_web_port(worker_env: dict[str, str]) -> None:
    assert cli(worker_env, "topics", "create").returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        res = cli(dict(worker_env, LEADFLOW_WEB_PORT=port), "worker")
    assert_one_line(res, f"127.0.0.1:{port} is already in use")


@pytest.mark.parametrize("command", [["worker"], ["topics", "create"]])
def test_broker_that_does_not_answer(command: list[str], tmp_path: Path) -> None:
    env = {"LEADFLOW_BROKER": "kafka://127.0.0.1:1", "LEADFLOW_CONNECT_TIMEOUT_S": "2",
           "LEADFLOW_DATA_DIR": str(tmp_path / "data")}
    t0 = time.monotonic()
    res = cli(env, *command)
    took = time.monotonic() - t0
    assert_one_line(res, "no Kafka broker answered at 127.0.0.1:1 within 2 s")
    assert took < 10, f"{command} took {took:.1f} s with LEADFLOW_CONNECT_TIMEOUT_S=2"


def test_internal_topics_exist_before_the_agents_start(worker_env: dict[str, str]) -> None:
    from streams.app import create_app
    from streams.preflight import ensure_internal_topics, internal_topics

    settings = Settings.from_env({**worker_env, "LEADFLOW_STORE": "memory://"})
    app = create_app(settings)
    names = [t.name for t in internal_topics(app)]
    assert f"{settings.app_id}-kpi-windows-changelog" in names and len(names) == 3
    assert set(partition_counts(settings, names).values()) == {None}
    ensure_internal_topics(settings, app)
    assert set(partition_counts(settings, names).values()) == {settings.partitions}
    ensure_internal_topics(settings, app)  # idempotent


@pytest.mark.slow
def test_twenty_fresh_workers_all_start(broker: str, tmp_path: Path) -> None:
    """20 workers, each on fresh topics and a fresh group, two at a time: each must become
    ready and stop cleanly on SIGTERM (none dies on a missing changelog)."""
    def fresh(i: int) -> WorkerProcess:
        run = "f" + uuid.uuid4().hex[:8]
        env = {"LEADFLOW_BROKER": broker, "LEADFLOW_TOPIC_PREFIX": run + ".",
               "LEADFLOW_APP_ID": run, "LEADFLOW_DATA_DIR": str(tmp_path / run),
               "LEADFLOW_PARTITIONS": "2", "LEADFLOW_STORE": "memory://"}
        create_topics(Settings.from_env(env))
        return WorkerProcess(env, tmp_path / f"worker{i}.log").start()

    for first in range(0, 20, 2):
        pair = [fresh(first), fresh(first + 1)]
        try:
            for worker in pair:
                worker.wait_ready(timeout=120)
        finally:
            codes = [worker.stop() for worker in pair]
        assert codes == [0, 0], (codes, [w.tail() for w in pair])
