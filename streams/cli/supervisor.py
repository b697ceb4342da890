"""``leadflow worker --processes N``: N worker processes of one consumer group on one host,
so one machine uses all its cores (a Python worker is CPU-bound on one).

Each child is a plain ``leadflow worker`` with its own web port (base port + i), data
folder (``<data dir>/worker-i``) and, with static membership, instance id (``<id>-i``),
handed over in its environment: the settings stay one frozen object per process.

Supervision: a child that exits 70 (a batch failed) or 75 (stalled), or is killed by a
signal nobody here sent (OOM killer, kill -9), is started again after a back-off of 1 s,
doubling to 30 s (back to 1 s once it has run for a minute). Any other exit is reported in
one line and the child stays down (a configuration mistake would only repeat). SIGTERM or
SIGINT is forwarded to every child; the supervisor waits for them and exits 0 (1 if one had
to be killed after the grace period). When no child is left running, it exits with the
first child's failure code.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from streams.settings import Settings, child_environment

log = logging.getLogger("streams.supervisor")

RESTARTABLE = frozenset({70, 75})
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # seconds up after which the back-off starts again from 1 s
STOP_GRACE = 120.0  # as the StatefulSet's terminationGracePeriodSeconds
POLL = 0.2
_PR_SET_PDEATHSIG = 1


def child_overrides(settings: Settings, index: int) -> dict[str, str]:
    """What differs for child ``index``: web port, data folder, static instance id."""
    env = {
        "LEADFLOW_WEB_PORT": str(settings.web_port + index),
        "LEADFLOW_DATA_DIR": str(Path(settings.data_dir) / f"worker-{index}"),
    }
    if settings.instance_id is not None:  # static members must differ
        env["LEADFLOW_INSTANCE_ID"] = f"{settings.instance_id}-{index}"
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # A supervisor killed with -9 must not leave its workers behind.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    index: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    restarts: int = 0
    failed: int | None = field(default=None)  # exit code that left it down


class Supervisor:
    def __init__(self, settings: Settings, processes: int,
                 argv: list[str] | None = None) -> None:
        if settings.web_port + processes - 1 > 65535:
            raise ValueError(f"web ports {settings.web_port}..{settings.web_port + processes - 1}"
                             " run past 65535 (lower LEADFLOW_WEB_PORT)")
        self.argv = argv or [sys.executable, "-m", "streams.cli", "worker"]
        self.children = [Child(i, child_environment(child_overrides(settings, i)))
                         for i in range(processes)]
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        self.stopping = False

    def _start(self, child: Child) -> None:
        child.proc = subprocess.Popen(self.argv, env=child.env, preexec_fn=_die_with_parent,
                                      start_new_session=True)  # terminal signals: ours only
        child.started = time.monotonic()
        child.restart_at = None
        log.info("worker %d started (pid %d, web port %s)", child.index, child.proc.pid,
                 child.env["LEADFLOW_WEB_PORT"])

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:  # the main loop forwards it (once, to every child)
            self.stopping = True
            log.info("%s: stopping the workers", signal.Signals(signum).name)

    def _exited(self, child: Child, code: int, now: float) -> None:
        assert child.proc is not None
        pid = child.proc.pid
        child.proc = None
        restartable = code in RESTARTABLE or code < 0
        if not restartable:
            log.error("worker %d (pid %d) exited with %d; not restarted", child.index, pid,
                      code)
            child.failed = code if code != 0 else 1
            return
        if now - child.started >= STABLE_AFTER:
            child.backoff = BACKOFF_FIRST
        how = (f"killed by {signal.Signals(-code).name}" if code < 0
               else f"exited with {code}")
        log.warning("worker %d (pid %d) %s; restarting in %.0f s", child.index, pid, how,
                    child.backoff)
        child.restart_at = now + child.backoff
        child.backoff = min(BACKOFF_MAX, child.backoff * 2)
        child.restarts += 1

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            if not self.stopping:
                self._start(child)
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None:
                    code = child.proc.poll()
                    if code is not None:
                        self._exited(child, code, now)
                elif child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
            if all(c.proc is None and c.restart_at is None for c in self.children):
                failed = [c.failed for c in self.children if c.failed]
                return failed[0] if failed else 1
            time.sleep(POLL)
        return self._stop_all()

    def _stop_all(self) -> int:
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        clean = True
        for child in self.children:
            if child.proc is None:
                continue
            try:
                code = child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop within %.0f s; killed", child.index,
                          STOP_GRACE)
                child.proc.kill()
                child.proc.wait()
                clean = False
                continue
            if code not in (0, -signal.SIGTERM):
                log.warning("worker %d stopped with exit code %d", child.index, code)
        log.info("all workers stopped")
        return 0 if clean else 1


def run(settings: Settings, processes: int) -> int:
    return Supervisor(settings, processes).run()
