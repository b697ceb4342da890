"""deploy/kafka/kafka.sh speaks clearly when something it needs is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kafka" / "kafka.sh"


def test_unknown_command_is_a_usage_error() -> None:
    result = subprocess.run([str(SCRIPT), "bogus"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    # A PATH with bash and coreutils but no java.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname", "cat", "sha1sum", "cut", "rm", "mkdir"):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bindir), "LEADFLOW_KAFKA_HOME": str(tmp_path / "k")}
    result = subprocess.run([str(bindir / "bash"), str(SCRIPT), "install"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'java' is not installed" in lines[0]
