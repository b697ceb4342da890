"""Copy policy/default.yaml into deploy/k8s/policy/ for kustomize's configMapGenerator.

    python deploy/k8s/sync_policy.py           # refresh the copy
    python deploy/k8s/sync_policy.py --check   # exit 1 if it is out of date

Kustomize reads no file outside deploy/k8s/, so the policy is copied byte for byte;
kustomization.yaml generates the ``leadflow-policy`` ConfigMap from the copy with a content
hash in its name, so a policy edit changes the StatefulSet's pod template and rolls it.
tests/unit/deploy/test_manifests.py fails when the copy drifts from the source.
Standard library only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "policy" / "default.yaml"
TARGET = Path(__file__).resolve().parent / "policy" / "default.yaml"


def main(argv: list[str]) -> int:
    want = SOURCE.read_bytes()
    if "--check" in argv:
        have = TARGET.read_bytes() if TARGET.is_file() else b""
        if have != want:
            print(f"{TARGET.relative_to(ROOT)} is out of date: "
                  "run python deploy/k8s/sync_policy.py")
            return 1
        return 0
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_bytes(want)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
