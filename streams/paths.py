"""Where the data folders live (schemas, shipped policy).

One place so that nothing else guesses paths. In a checkout (or an editable install) they
are the repository's top-level ``schemas/`` and ``policy/``; an installed wheel carries
them inside the package as ``streams/_data/`` (pyproject.toml maps them there).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
# A checkout is recognised by its pyproject.toml beside the package: site-packages has
# none, and may hold some other distribution's "schemas" folder.
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "policy").is_dir()
ROOT = CHECKOUT if IN_CHECKOUT else PACKAGE / "_data"
SCHEMAS_DIR = ROOT / "schemas"
SCHEMA_HISTORY_DIR = SCHEMAS_DIR / "history"
POLICY_DIR = ROOT / "policy"
DEFAULT_POLICY = POLICY_DIR / "default.yaml"
