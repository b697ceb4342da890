"""The domain is pure: no Kafka, no asyncio, no clock reads."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[3] / "streams" / "domain"
FORBIDDEN_MODULES = ("faust", "aiokafka", "kafka", "asyncio", "mode")
FORBIDDEN_CALLS = ("time.time", "time.monotonic", "time.perf_counter", "datetime.now",
                   "datetime.utcnow", "date.today", "time.time_ns", "datetime.today")


def test_importing_the_domain_pulls_in_no_kafka_or_asyncio() -> None:
    modules = sorted(f"streams.domain.{p.stem}" for p in DOMAIN.glob("*.py")
                     if p.stem != "__init__")
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(DOMAIN.parent.parent)!r})\n"
        f"for m in {modules!r}: __import__(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN_MODULES]
    assert not bad, bad


def test_no_clock_reads_in_the_source() -> None:
    found = []
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                dotted = ast.unparse(node)
                if any(dotted.endswith(c) for c in FORBIDDEN_CALLS) or node.attr in (
                        "utcnow", "monotonic", "time_ns"):
                    found.append(f"{path.name}:{node.lineno}: {dotted}")
            if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
                found.append(f"{path.name}:{node.lineno}: from {node.module} import ...")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in (*FORBIDDEN_MODULES, "time", "datetime"):
                        found.append(f"{path.name}:{node.lineno}: import {alias.name}")
    assert not found, found
