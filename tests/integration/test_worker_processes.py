"""`leadflow worker --processes 2`: two supervised workers of one group on one host."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.worker import WorkerProcess


def _two_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            base = int(a.getsockname()[1])
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", base + 1))
                except OSError:
                    continue
                return base
    raise AssertionError("no two consecutive free ports")


def _children(pid: int) -> dict[int, int]:
    """web port -> pid of the supervisor's live children."""
    out: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError, ValueError):
                env = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
                port = next(e for e in env if e.startswith(b"LEADFLOW_WEB_PORT="))
                out[int(port.split(b"=", 1)[1])] = int(child)
    return out


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return resp.status, resp.read().decode()
    except OSError:
        return 0, ""


def _wait(cond, timeout: float, what: str, sup: WorkerProcess) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        assert sup.proc is not None and sup.proc.poll() is None, sup.tail()
        time.sleep(0.3)
    raise AssertionError(f"{what} not within {timeout}s:\n{sup.tail()}")


def _owned(port: int) -> int:
    """Input partitions the worker on ``port`` owns (one lag sample each)."""
    status, text = _get(port, "/metrics")
    return text.count("leadflow_consumer_lag{") if status == 200 else 0


def test_two_processes_share_partitions_restart_a_killed_one_and_stop_cleanly(
        worker_env: dict[str, str], tmp_path: Path) -> None:
    base = _two_free_ports()
    env = {**worker_env, "LEADFLOW_PARTITIONS": "4", "LEADFLOW_WEB_PORT": str(base)}
    create_topics(Settings.from_env(env))
    sup = WorkerProcess(env, tmp_path / "supervisor.log",
                        argv=[sys.executable, "-m", "streams.cli", "worker", "--processes", "2"])
    sup.start()
    assert sup.proc is not None
    seen: set[int] = set()
    try:
        ports = (base, base + 1)
        _wait(lambda: all(_get(p, "/health/ready")[0] == 200 for p in ports), 120,
              "both workers ready", sup)
        first = _children(sup.proc.pid)
        seen.update(first.values())
        assert set(first) == set(ports), first
        data = Path(env["LEADFLOW_DATA_DIR"])
        assert (data / "worker-0").is_dir() and (data / "worker-1").is_dir()
        # one group: each owns some of the input partitions, together all 8 (4 x 2 topics)
        _wait(lambda: _owned(base) > 0 and _owned(base + 1) > 0
              and _owned(base) + _owned(base + 1) == 8, 90, "partitions shared", sup)

        os.kill(first[base], signal.SIGKILL)
        _wait(lambda: _children(sup.proc.pid).get(base) not in (None, first[base]), 30,  # type: ignore[union-attr]
              "the killed worker restarted", sup)
        seen.update(_children(sup.proc.pid).values())
        _wait(lambda: _get(base, "/health/ready")[0] == 200, 120, "restarted worker ready",
              sup)
        assert _children(sup.proc.pid)[base + 1] == first[base + 1]  # the other kept running

        sup.proc.send_signal(signal.SIGTERM)
        assert sup.proc.wait(150) == 0, sup.tail()
        for pid in seen:  # every child is gone (reaped by the supervisor)
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
                f"/proc/{pid}/stat").read_text().split()[2], pid
        log = (tmp_path / "supervisor.log").read_text()
        assert "killed by SIGKILL; restarting" in log, log[-2000:]
    finally:
        sup.kill()
        for pid in seen:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
