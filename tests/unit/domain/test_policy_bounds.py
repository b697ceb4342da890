"""Issue 14.3: any policy file is answered in bounded time and memory (alias bombs, huge
files, floods of problems), and a policy's version names its content (contract 4a)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from streams.domain.policy import (
    MAX_LISTED,
    MAX_POLICY_BYTES,
    PolicyError,
    load_policy,
    parse_policy,
)

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "policy" / "default.yaml"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs in YAML: each level is a list of `width` aliases of the one
    before, so the last expands to width**levels scalars (9**9 = 387M) from ~1 KB."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    lines.append(f"criteria: {{boom: {{all: *a{levels}}}}}")
    return "\n".join(lines) + "\n"


MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a runaway dies, not the box
    from streams.domain.policy import PolicyError, load_policy
    t0 = time.perf_counter()
    try:
        load_policy(sys.argv[1])
        lines = ["ok"]
    except PolicyError as err:
        lines = err.lines()
    seconds = time.perf_counter() - t0
    # Peak resident memory of this process. ru_maxrss would do, but Linux carries it over
    # from the parent across exec (a big pytest would count); VmHWM is this image's own.
    try:
        with open("/proc/self/status") as f:
            rss_mb = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
    except OSError:
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "lines": lines}))
""")


def measure(path: Path) -> dict[str, object]:
    """Load `path` in a fresh interpreter (capped at 1 GB of address space): wall time of
    the load, peak resident memory of the whole process, and the lines a user would see."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_alias_bomb_is_refused_with_one_line_fast_and_small(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert bomb.stat().st_size < 1200
    m = measure(bomb)
    assert m["seconds"] < 2 and m["rss_mb"] < 200, m
    lines = m["lines"]
    assert isinstance(lines, list) and len(lines) == 2, lines  # the head and one problem
    assert "alias" in lines[1]


def test_ten_megabyte_file_is_refused_fast_and_small(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(DEFAULT.read_text() + "".join(f"k{i}: {i}\n" for i in range(1_100_000)))
    assert big.stat().st_size > 10_000_000
    m = measure(big)
    assert m["seconds"] < 2 and m["rss_mb"] < 200, m
    assert isinstance(m["lines"], list) and len(m["lines"]) == 2
    assert "larger than" in m["lines"][1]


def test_many_unknown_keys_give_a_capped_list_with_a_count(tmp_path: Path) -> None:
    n = 15_000
    f = tmp_path / "keys.yaml"
    f.write_text(DEFAULT.read_text() + "".join(f"k{i}: {i}\n" for i in range(n)))
    assert f.stat().st_size < MAX_POLICY_BYTES
    m = measure(f)
    assert m["seconds"] < 2 and m["rss_mb"] < 200, m
    lines = m["lines"]
    assert isinstance(lines, list)
    assert lines[0] == f"{f}: invalid policy, {n} problem(s)"
    assert len(lines) == 1 + MAX_LISTED + 1
    assert lines[-1] == f"  and {n - MAX_LISTED:,} more problem(s)"
    assert re.match(rf"  k0 \({re.escape(str(f))}:\d+\): unknown key", lines[1])


def test_a_few_anchors_and_aliases_still_work(tmp_path: Path) -> None:
    text = DEFAULT.read_text()
    # reuse one condition through an anchor, as people do
    text, n = re.subn(r"^criteria:.*\n", "criteria:\n  vp_title: &vp {attribute: title, "
                      "matches: \"vp\"}\n  vp_again: *vp\n", text, count=1, flags=re.M)
    assert n == 1
    policy = parse_policy(text, "anchors.yaml")
    assert {"vp_title", "vp_again"} <= set(policy.criteria_names)


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy("a: &x [1, *x]\n", "r.yaml")
    assert len(info.value.problems) == 1


def test_version_is_declared_version_plus_content_hash(tmp_path: Path) -> None:
    text = DEFAULT.read_text()
    a = load_policy(DEFAULT)
    assert a.declared_version == "2026.11-1"
    assert re.fullmatch(r"2026\.11-1\+[0-9a-f]{8}", a.version)
    assert parse_policy(text, "same.yaml").version == a.version  # content, not the path
    b = parse_policy(text.replace("half_life_days: 30", "half_life_days: 31"), "b.yaml")
    assert b.declared_version == a.declared_version and b.version != a.version


def test_problem_lines_name_file_and_line() -> None:
    text = DEFAULT.read_text().replace("half_life_days: 30", "half_life_days: -1")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    lines = info.value.lines()
    assert lines[0] == "p.yaml: invalid policy, 1 problem(s)"
    line_no = next(i for i, t in enumerate(text.splitlines(), 1) if "half_life_days: -1" in t)
    assert lines[1] == f"  scoring.half_life_days (p.yaml:{line_no}): must be > 0"
