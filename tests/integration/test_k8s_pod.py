"""A worker started with the exact environment a deploy/k8s StatefulSet pod gets becomes
ready (issue 14 item 2).

The manifests are rendered with kustomize when it is installed (``kubectl kustomize``),
else parsed. The pod's environment is the image's ENV, the settings ConfigMap, the
container's env (pod name and IP resolved) and the service-link variables the kubelet adds
for every Service of deploy/k8s. Only what cannot be the same here is replaced: the broker,
the app id and a topic prefix (a shared test broker), the data dir and policy path (the
pod's volumes), the web port (a free one), and the replication factor (one broker).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.k8s import one, pod_env, render
from tests.support.worker import ROOT, WorkerProcess, free_port

pytestmark = pytest.mark.integration


def test_statefulset_pod_environment_starts_a_ready_worker(broker: str, tmp_path: Path) -> None:
    objects, how = render()
    print("manifests:", how)
    env = pod_env(objects, "worker", "leadflow-worker-0", "127.0.0.1")
    assert "LEADFLOW_WORKER_SERVICE_HOST" in env and "LEADFLOW_WORKER_PORT" in env
    policy = tmp_path / "policy" / "default.yaml"
    policy.parent.mkdir()
    mounted = one(objects, "ConfigMap", "leadflow-policy")["data"]["default.yaml"]
    policy.write_text(mounted, encoding="utf-8")
    run = "k" + uuid.uuid4().hex[:8]
    env.update({
        "LEADFLOW_BROKER": broker, "LEADFLOW_APP_ID": run, "LEADFLOW_TOPIC_PREFIX": run + ".",
        "LEADFLOW_DATA_DIR": str(tmp_path / "data"), "LEADFLOW_POLICY": str(policy),
        "LEADFLOW_WEB_PORT": str(free_port()), "LEADFLOW_REPLICATION": "1",
    })
    # The init container: `leadflow topics create` with its own environment.
    init = pod_env(objects, "topics", "leadflow-worker-0", "127.0.0.1")
    init.update({k: env[k] for k in ("LEADFLOW_BROKER", "LEADFLOW_APP_ID",
                                     "LEADFLOW_TOPIC_PREFIX", "LEADFLOW_POLICY",
                                     "LEADFLOW_REPLICATION")})
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    res = subprocess.run([sys.executable, "-m", "streams.cli", "topics", "create"], cwd=ROOT,
                         env={**base, **init}, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(timeout=180)
        assert worker.get("/health/live")[0] == 200
    finally:
        assert worker.stop() == 0, worker.tail()
