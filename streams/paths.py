"""Where the repository's data folders live (schemas, shipped policy).

One place so that nothing else guesses paths. The package is installed editable from the
repository (`make` does that), so the folders sit beside the `streams` package.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
SCHEMA_HISTORY_DIR = SCHEMAS_DIR / "history"
POLICY_DIR = ROOT / "policy"
DEFAULT_POLICY = POLICY_DIR / "default.yaml"
