"""The installed Faust and aiokafka still have every private member leadflow touches
(streams/engine/faust_private.py), and nothing else in leadflow touches one."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from streams.engine.faust_private import MEMBERS

ROOT = Path(__file__).resolve().parents[3]


def _has(owner: object, name: str) -> bool:
    if hasattr(owner, name):
        return True
    # instance attributes: assigned in the class's __init__
    init = getattr(owner, "__init__", None)
    try:
        source = inspect.getsource(init) if init is not None else ""
    except (OSError, TypeError):
        source = ""
    return f"self.{name} =" in source or f"self.{name}:" in source


@pytest.mark.parametrize("where", sorted(MEMBERS))
def test_the_libraries_still_have_every_member_we_use(where: str) -> None:
    module_name, _, class_name = where.partition(":")
    owner: object = importlib.import_module(module_name)
    if class_name:
        owner = getattr(owner, class_name)
    missing = [name for name in MEMBERS[where] if not _has(owner, name)]
    assert not missing, f"{where} lost {missing}: update streams/engine/faust_private.py"


def test_private_members_of_the_libraries_are_touched_in_one_module_only() -> None:
    names = {n for members in MEMBERS.values() for n in members}
    pattern = re.compile(r"\.(" + "|".join(sorted(names)) + r")\b")
    offenders = []
    for path in [*ROOT.joinpath("streams").rglob("*.py"), *ROOT.joinpath("agents").rglob("*.py")]:
        if path.name == "faust_private.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and "def " not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, offenders
