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


def test_every_code_package_is_listed() -> None:
    """pyproject.toml lists the packages (the data folders join them): a new package
    folder must be listed, or the wheel would lack it."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(meta["tool"]["setuptools"]["packages"])
    on_disk = {str(p.parent.relative_to(ROOT)).replace("/", ".")
               for top in ("streams", "agents") for p in (ROOT / top).rglob("__init__.py")}
    assert on_disk <= listed, f"not in pyproject.toml packages: {sorted(on_disk - listed)}"
    mapped = meta["tool"]["setuptools"]["package-dir"]
    assert mapped["streams._data.policy"] == "policy"
    assert mapped["streams._data.schemas"] == "schemas"


def test_project_metadata() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "Apache-2.0"  # an SPDX expression, not a table
    assert {"Homepage", "Source", "Issues"} <= set(meta["urls"])
    assert "Programming Language :: Python :: 3.11" in meta["classifiers"]
    assert not any(c.startswith("License ::") for c in meta["classifiers"])  # PEP 639


def test_version_option() -> None:
    from typer.testing import CliRunner

    from streams.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("leadflow ")


def test_make_run_needs_no_prometheus_and_no_root() -> None:
    """`make run` must not reach the `tools` target (apt-get install prometheus)."""
    deps: dict[str, list[str]] = {}
    recipes: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t"):
            recipes.setdefault(current, []).append(line)
        elif ":" in line and not line.startswith(("#", ".", " ")) and "=" not in line:
            target, _, rest = line.partition(":")
            current = target.strip()
            deps[current] = rest.split()
    seen: set[str] = set()
    todo = ["run"]
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo += deps.get(t, [])
    assert "tools" not in seen and "setup" not in seen, sorted(seen)
    assert not any("sudo" in r or "apt-get" in r for t in seen for r in recipes.get(t, []))
    assert "tools" in deps["setup"] and "setup" in deps["test"]
