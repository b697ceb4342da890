"""A shadow policy for tests: a copy of policy/default.yaml whose MQL score threshold
differs, and nothing else."""

from __future__ import annotations

from pathlib import Path

from streams.paths import DEFAULT_POLICY

DEFAULT_MQL_LINE = "    score: 50               # 1) score at least 50\n"


def threshold_policy(path: Path, score: int) -> Path:
    """Write the default policy with the MQL threshold ``score`` to ``path``."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert text.count(DEFAULT_MQL_LINE) == 1, "policy/default.yaml's MQL line moved"
    path.write_text(text.replace(DEFAULT_MQL_LINE, f"    score: {score}\n"), encoding="utf-8")
    return path
