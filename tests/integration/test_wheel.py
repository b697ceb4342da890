"""The wheel, built and installed in a fresh virtual environment, runs on its own data
(issue 14 item 6): the packaged default policy passes `leadflow policy check`, the schemas
load, `leadflow --version` answers. No Kafka needed; slow (builds a wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.support.worker import ROOT

pytestmark = pytest.mark.slow


def run(argv: list[str], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LEADFLOW_", "PYTHON", "VIRTUAL_ENV"))}
    res = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, f"{argv} -> {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


def test_installed_wheel_finds_its_policy_and_schemas(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(dist)],
        cwd=tmp_path)
    (wheel,) = dist.glob("leadflow-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path)
    # The dependencies come from the test's own environment (no download), appended after
    # the fresh site-packages: leadflow itself must come from the wheel.
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=tmp_path).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = run([str(py), "-c", "import streams.paths as p; print(p.DEFAULT_POLICY); "
                 "print(p.SCHEMAS_DIR); print(p.IN_CHECKOUT)"], cwd=tmp_path).split()
    policy, schemas = Path(where[0]), Path(where[1])
    assert policy.is_relative_to(site) and policy.is_file(), where
    assert schemas.is_relative_to(site) and where[2] == "False", where
    assert {p.name for p in schemas.glob("*.avsc")} == {p.name for p in
                                                        (ROOT / "schemas").glob("*.avsc")}
    leadflow = str(venv / "bin" / "leadflow")
    out = run([leadflow, "policy", "check", str(policy)], cwd=tmp_path)
    assert "ok" in out.lower() or "valid" in out.lower(), out
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert run([leadflow, "--version"], cwd=tmp_path).strip() == f"leadflow {version}"
    run([str(py), "-c", "from streams.codecs import default_codecs; default_codecs()"],
        cwd=tmp_path)
