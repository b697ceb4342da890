"""What a Kubernetes pod of deploy/k8s gets in its environment, built as the kubelet does.

``render()`` runs kustomize (``kubectl kustomize`` or ``kustomize build``) when installed and
falls back to reading the YAML files. ``service_link_env`` follows the kubelet's rules
(pkg/kubelet/envvars): for every Service with a cluster IP, ``<NAME>_SERVICE_HOST``,
``_SERVICE_PORT``, ``_SERVICE_PORT_<PORTNAME>``, ``_PORT`` and per port
``_PORT_<n>_<PROTO>[_PROTO|_PORT|_ADDR]``, the name upper-cased with '-' as '_'.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"


def render(directory: Path = K8S_DIR) -> tuple[list[dict[str, Any]], str]:
    """(objects, how): the manifests as kustomize renders them."""
    if shutil.which("kubectl"):
        argv, how = ["kubectl", "kustomize", str(directory)], "kubectl kustomize"
    elif shutil.which("kustomize"):
        argv, how = ["kustomize", "build", str(directory)], "kustomize build"
    else:
        docs = [d for p in sorted(directory.glob("*.yaml")) if p.name != "kustomization.yaml"
                for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d]
        return docs, "parsed YAML (no kustomize here)"
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    return [d for d in yaml.safe_load_all(out) if d], how


def one(objects: list[dict[str, Any]], kind: str, name_prefix: str = "") -> dict[str, Any]:
    found = [o for o in objects
             if o["kind"] == kind and o["metadata"]["name"].startswith(name_prefix)]
    assert len(found) == 1, f"{kind} {name_prefix}: {len(found)} found"
    return found[0]


def service_link_env(service: dict[str, Any], cluster_ip: str = "10.96.0.17") -> dict[str, str]:
    spec = service["spec"]
    if spec.get("clusterIP") == "None" or not spec.get("ports"):
        return {}  # headless Services get no variables
    name = service["metadata"]["name"].upper().replace("-", "_")
    ports = spec["ports"]
    env = {f"{name}_SERVICE_HOST": cluster_ip, f"{name}_SERVICE_PORT": str(ports[0]["port"])}
    for p in ports:
        if p.get("name"):
            env[f"{name}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
    first = ports[0]
    env[f"{name}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{cluster_ip}:{first['port']}"
    for p in ports:
        proto = p.get("protocol", "TCP")
        base = f"{name}_PORT_{p['port']}_{proto}"
        env[base] = f"{proto.lower()}://{cluster_ip}:{p['port']}"
        env[base + "_PROTO"] = proto.lower()
        env[base + "_PORT"] = str(p["port"])
        env[base + "_ADDR"] = cluster_ip
    return env


def dockerfile_env(path: Path = ROOT / "Dockerfile") -> dict[str, str]:
    """ENV KEY=value pairs of the image (the pod starts with these)."""
    env: dict[str, str] = {}
    logical, current = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    for line in logical:
        instr, _, args = line.partition(" ")
        if instr.upper() == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def pod_env(objects: list[dict[str, Any]], container: str, pod_name: str,
            pod_ip: str) -> dict[str, str]:
    """The environment of one container: image ENV, envFrom ConfigMaps (optional Secrets
    absent), env (fieldRefs resolved), then the service links of every Service."""
    sts = one(objects, "StatefulSet")
    spec = sts["spec"]["template"]["spec"]
    (c,) = [x for x in spec.get("initContainers", []) + spec["containers"]
            if x["name"] == container]
    env = dict(dockerfile_env())
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            cm = one(objects, "ConfigMap", source["configMapRef"]["name"])
            env.update({k: str(v) for k, v in cm.get("data", {}).items()})
        elif "secretRef" in source:
            assert source["secretRef"].get("optional"), "a required Secret would be missing"
    fields = {"metadata.name": pod_name, "status.podIP": pod_ip,
              "metadata.namespace": sts["metadata"].get("namespace", "default")}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            env[e["name"]] = fields[e["valueFrom"]["fieldRef"]["fieldPath"]]
    # Added even though the manifest turns links off (enableServiceLinks: false): the
    # worker must not depend on that, e.g. in a namespace where someone turns it back on.
    for svc in (o for o in objects if o["kind"] == "Service"):
        env.update(service_link_env(svc))
    env.update({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"})
    return env
