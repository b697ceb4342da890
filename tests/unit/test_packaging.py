"""`streams` and `agents` must be this repository's, not a same-named PyPI package."""

from __future__ import annotations

from pathlib import Path

import agents
import streams

ROOT = Path(__file__).resolve().parents[2]


def test_packages_import_from_this_repository() -> None:
    assert Path(streams.__file__).resolve().parent == ROOT / "streams"
    assert Path(agents.__file__).resolve().parent == ROOT / "agents"


def test_console_script_is_declared() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["leadflow"] == "streams.cli:main"
    assert meta["project"]["requires-python"] == ">=3.11"
