"""Render deploy/k8s/configmap-policy.yaml from policy/default.yaml.

    python deploy/k8s/sync_policy.py           # rewrite the ConfigMap
    python deploy/k8s/sync_policy.py --check   # exit 1 if it is out of date

Kustomize will not read files outside deploy/k8s/, so the policy is copied into the
ConfigMap; tests/unit/deploy/test_manifests.py fails when the copy drifts from the source.
Standard library only (the test imports ``render``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "policy" / "default.yaml"
TARGET = Path(__file__).resolve().parent / "configmap-policy.yaml"

HEADER = """\
# GENERATED from policy/default.yaml by deploy/k8s/sync_policy.py: do not edit by hand.
# After changing the policy run `python deploy/k8s/sync_policy.py`;
# tests/unit/deploy/test_manifests.py checks that this copy matches the source.
# Mounted by the StatefulSet at /etc/leadflow/policy/default.yaml (LEADFLOW_POLICY).
apiVersion: v1
kind: ConfigMap
metadata:
  name: leadflow-policy
  labels:
    app.kubernetes.io/name: leadflow
    app.kubernetes.io/part-of: leadflow
data:
"""

PLACEHOLDER = "# policy/default.yaml does not exist yet: run deploy/k8s/sync_policy.py\n"


def render(policy_text: str) -> str:
    """The ConfigMap manifest holding ``policy_text`` verbatim under key default.yaml."""
    text = policy_text if policy_text.endswith("\n") else policy_text + "\n"
    lines = text.splitlines()
    # A literal block scalar keeps the file byte for byte, unless the text has content a
    # block cannot hold (tabs at line start, trailing spaces, leading blank lines, ...): then
    # fall back to a JSON string, which YAML reads back exactly too.
    block_ok = (
        bool(lines)
        and lines[0].strip() != ""
        and not lines[0].startswith(" ")
        and all(line == line.rstrip() for line in lines)
        and all(not line.startswith("\t") for line in lines)
        and "\r" not in text
        and text.endswith("\n")
        and not text.endswith("\n\n")
    )
    if block_ok:
        body = "".join(("    " + line if line else "") + "\n" for line in lines)
        return HEADER + "  default.yaml: |\n" + body
    import json

    return HEADER + "  default.yaml: " + json.dumps(text, ensure_ascii=False) + "\n"


def expected() -> str:
    if SOURCE.is_file():
        return render(SOURCE.read_text(encoding="utf-8"))
    return render(PLACEHOLDER)


def main(argv: list[str]) -> int:
    want = expected()
    if "--check" in argv:
        have = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if have != want:
            print(
                f"{TARGET.relative_to(ROOT)} is out of date: run python deploy/k8s/sync_policy.py"
            )
            return 1
        return 0
    TARGET.write_text(want, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
