"""`leadflow worker --processes N`: per-child settings and the restart policy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from streams.cli import supervisor
from streams.cli.supervisor import Child, Supervisor, child_overrides
from streams.settings import Settings


def test_each_child_gets_its_port_data_folder_and_instance_id(tmp_path: Path) -> None:
    s = Settings(web_port=7000, data_dir=tmp_path, instance_id="pod-0")
    assert child_overrides(s, 2) == {"LEADFLOW_WEB_PORT": "7002",
                                     "LEADFLOW_DATA_DIR": str(tmp_path / "worker-2"),
                                     "LEADFLOW_INSTANCE_ID": "pod-0-2"}
    assert "LEADFLOW_INSTANCE_ID" not in child_overrides(Settings(data_dir=tmp_path), 0)
    # the overrides are read back by the child as its own one frozen settings object
    env = Supervisor(s, 3).children[1].env
    child = Settings.from_env({k: v for k, v in env.items() if k.startswith("LEADFLOW_")})
    assert (child.web_port, child.data_dir) == (7001, tmp_path / "worker-1")


def test_ports_past_65535_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="65535"):
        Supervisor(Settings(web_port=65535, data_dir=tmp_path), 2)


class _Proc:
    pid = 1


def _exit(sup: Supervisor, child: Child, code: int, now: float) -> None:
    child.proc = _Proc()  # type: ignore[assignment]
    sup._exited(child, code, now)


def test_exit_70_75_or_a_kill_restart_with_a_doubling_backoff(tmp_path: Path) -> None:
    sup = Supervisor(Settings(data_dir=tmp_path), 1)
    child = sup.children[0]
    waits = []
    for i, code in enumerate([70, 75, -9, 70, 70, 70, 70, 70]):
        child.started = float(i)
        _exit(sup, child, code, float(i) + 1)
        assert child.restart_at is not None and child.failed is None
        waits.append(child.restart_at - (i + 1))
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    child.started = 0.0  # up for a minute: the back-off starts again
    _exit(sup, child, 70, supervisor.STABLE_AFTER + 1)
    assert child.restart_at == supervisor.STABLE_AFTER + 2


@pytest.mark.parametrize("code", [1, 2, 0])
def test_any_other_exit_is_reported_and_not_restarted(tmp_path: Path, code: int,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor(Settings(data_dir=tmp_path), 1)
    _exit(sup, sup.children[0], code, 5.0)
    assert sup.children[0].restart_at is None
    assert sup.children[0].failed == (code or 1)
    assert [r.getMessage() for r in caplog.records] == [
        f"worker 0 (pid 1) exited with {code}; not restarted"]


def test_when_every_child_is_down_the_supervisor_exits_with_its_code(tmp_path: Path) -> None:
    sup = Supervisor(Settings(data_dir=tmp_path), 2,
                     argv=[sys.executable, "-c", "raise SystemExit(3)"])
    assert sup.run() == 3
