"""Static checks of the deployment files: Dockerfile, compose stack, Kubernetes manifests.

No Docker engine or cluster runs where these tests run, so the files are checked for what
breaks a deployment before it starts: YAML that does not parse, names that do not line up
(Service <-> StatefulSet, probes <-> ports, mounts <-> files), ports that drift away from
6066, settings the worker does not know, images that float.

Checks that depend on files other people own (the settings module, the shipped policy, the
dashboard, the alert rules) skip until those files exist.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE_DIR = REPO / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
K8S_DIR = REPO / "deploy" / "k8s"

WEB_PORT = 6066
DATA_DIR = "/var/lib/leadflow"
WORKER_SERVICES = ("worker", "topics")  # compose services that run the leadflow image
# Files another engineer writes; a compose mount of one of them is skipped until it exists.
WRITTEN_ELSEWHERE = {
    "deploy/prometheus/alerts.yml",
    "deploy/grafana/leadflow.json",
    "policy/default.yaml",
}
# Non-LEADFLOW_ variables the Dockerfile may set for Python and pip themselves.
DOCKERFILE_ENV_ALLOWED = re.compile(r"^(PATH|PYTHON[A-Z_]*|PIP_[A-Z_]*)$")


# --------------------------------------------------------------------------- helpers


def load_docs(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def yaml_files(*dirs: Path) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        out += [p for p in d.rglob("*") if p.suffix in (".yml", ".yaml")]
    return sorted(out)


def k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        out += [(path, doc) for doc in load_docs(path)]
    return out + generated_configmaps()


def generated_configmaps() -> list[tuple[Path, dict[str, Any]]]:
    """The ConfigMaps kustomization.yaml generates, as kustomize would (before the hash)."""
    kust_path = K8S_DIR / "kustomization.yaml"
    out = []
    for gen in load_docs(kust_path)[0].get("configMapGenerator", []):
        data = {}
        for entry in gen.get("files", []):
            key, _, rel = entry.rpartition("=")
            key = key or Path(rel).name
            data[key] = (K8S_DIR / rel).read_text(encoding="utf-8")
        meta = {"name": gen["name"], "labels": gen.get("options", {}).get("labels", {})}
        out.append((kust_path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                                "data": data}))
    return out


def k8s_one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for _, doc in k8s_objects()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected exactly one {kind} {name or ''}, found {len(found)}"
    return found[0]


def statefulset() -> dict[str, Any]:
    return k8s_one("StatefulSet")


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = statefulset()["spec"]["template"]["spec"]
    return spec


def worker_container() -> dict[str, Any]:
    containers = pod_spec()["containers"]
    found = [c for c in containers if c["name"] == "worker"]
    assert len(found) == 1, "the StatefulSet needs one container named worker"
    return found[0]


def leadflow_containers() -> list[dict[str, Any]]:
    spec = pod_spec()
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def settings_configmap() -> dict[str, str]:
    data: dict[str, str] = k8s_one("ConfigMap", "leadflow-settings")["data"]
    return data


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = load_docs(COMPOSE_FILE)[0]
    return doc


def service(name: str) -> dict[str, Any]:
    svc: dict[str, Any] = compose()["services"][name]
    return svc


def compose_env(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def parse_volume(entry: str | dict[str, Any]) -> tuple[str, str, bool]:
    """(source, target, is_bind) of a compose volume entry, short or long syntax."""
    if isinstance(entry, dict):
        return str(entry.get("source", "")), str(entry["target"]), entry.get("type") == "bind"
    parts = entry.split(":")
    source, target = parts[0], parts[1]
    return source, target, source.startswith((".", "/", "~"))


def compose_bind_mounts() -> list[tuple[str, str, str]]:
    """(service, source relative to the compose file, target) for every bind mount."""
    out = []
    for name, svc in compose()["services"].items():
        for entry in svc.get("volumes", []):
            source, target, is_bind = parse_volume(entry)
            if is_bind:
                out.append((name, source, target))
    return out


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        logical.append(current)
        current = ""
    if current:
        logical.append(current)
    out = []
    for line in logical:
        instr, _, args = line.partition(" ")
        out.append((instr.upper(), args.strip()))
    return out


def dockerfile(instr: str) -> list[str]:
    return [args for i, args in dockerfile_instructions() if i == instr]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in dockerfile("ENV"):
        for token in shlex.split(args):
            key, sep, value = token.partition("=")
            assert sep, f"use ENV KEY=value, not the legacy form: {args!r}"
            env[key] = value
    return env


def dockerfile_base_images() -> list[str]:
    args_defaults: dict[str, str] = {}
    stages: set[str] = set()
    images = []
    for instr, args in dockerfile_instructions():
        if instr == "ARG" and "=" in args:
            key, _, value = args.partition("=")
            args_defaults[key.strip()] = value.strip().strip('"')
        elif instr == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            image = re.sub(
                r"\$\{?(\w+)\}?", lambda m: args_defaults.get(m.group(1), m.group(0)), words[0]
            )
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
            if image.lower() not in stages:
                images.append(image)
    return images


def assert_pinned(image: str) -> None:
    assert "$" not in image, f"unresolved variable in image {image!r}"
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    assert ":" in last or "@" in image, f"image {image!r} has no tag"
    tag = last.split(":", 1)[1] if ":" in last else ""
    assert tag != "latest", f"image {image!r} floats on :latest"
    if tag:
        assert re.search(r"\d", tag), f"image {image!r} tag is not a version"


def known_variables() -> frozenset[str]:
    try:
        from streams import settings as settings_module
    except Exception as exc:  # not written yet, or broken elsewhere: not this test's job
        pytest.skip(f"streams.settings does not import yet: {exc}")
    known = getattr(settings_module, "KNOWN_VARIABLES", None)
    if known is None:
        pytest.skip("streams.settings has no KNOWN_VARIABLES yet")
    return frozenset(known)


def worker_env_names() -> dict[str, set[str]]:
    """Every environment variable name handed to a leadflow process, by where it is set."""
    names: dict[str, set[str]] = {}
    for svc in WORKER_SERVICES:
        names[f"compose:{svc}"] = set(compose_env(service(svc)))
    for c in leadflow_containers():
        names[f"k8s:{c['name']}"] = {e["name"] for e in c.get("env", [])}
    names["k8s:configmap-settings"] = set(settings_configmap())
    names["Dockerfile"] = {k for k in dockerfile_env() if not DOCKERFILE_ENV_ALLOWED.match(k)}
    return names


def resolve_target_port(svc: dict[str, Any], port: dict[str, Any]) -> int:
    target = port.get("targetPort", port["port"])
    if isinstance(target, int):
        return target
    by_name = {p["name"]: p["containerPort"] for p in worker_container()["ports"]}
    assert target in by_name, f"Service {svc['metadata']['name']} targets unknown port {target}"
    return int(by_name[target])


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def parse_quantity(value: str | int | float) -> float:
    """Kubernetes quantity to a float (cores for CPU, bytes for memory)."""
    text = str(value)
    units = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
    }
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def load_sync_policy() -> Any:
    spec = importlib.util.spec_from_file_location("sync_policy", K8S_DIR / "sync_policy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "path", yaml_files(COMPOSE_DIR, K8S_DIR), ids=lambda p: str(p.relative_to(REPO))
)
def test_yaml_parses(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{path} holds no YAML document"
    assert all(isinstance(d, dict) for d in docs), f"{path}: every document must be a mapping"


def test_k8s_objects_have_api_version_kind_and_name() -> None:
    objects = k8s_objects()
    assert objects
    for path, doc in objects:
        where = f"{path.name}: {doc.get('kind')}"
        assert doc.get("apiVersion"), f"{where} has no apiVersion"
        assert doc.get("kind"), f"{path.name}: a document has no kind"
        assert doc.get("metadata", {}).get("name"), f"{where} has no metadata.name"


def test_k8s_names_are_unique_per_kind() -> None:
    seen = [(doc["kind"], doc["metadata"]["name"]) for _, doc in k8s_objects()]
    assert len(seen) == len(set(seen)), f"duplicate objects: {seen}"


def test_kustomization_lists_every_manifest() -> None:
    kust = load_docs(K8S_DIR / "kustomization.yaml")[0]
    assert kust["kind"] == "Kustomization"
    listed = set(kust["resources"])
    on_disk = {p.name for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == on_disk, f"listed only: {listed - on_disk}; not listed: {on_disk - listed}"
    for name in (
        "namespace.yaml",
        "configmap-settings.yaml",
        "statefulset.yaml",
        "service.yaml",
        "servicemonitor.yaml",
    ):
        assert name in listed
    assert kust["namespace"] == k8s_one("Namespace")["metadata"]["name"]


# --------------------------------------------------------------------------- StatefulSet


def test_statefulset_service_name_is_the_headless_service() -> None:
    name = statefulset()["spec"]["serviceName"]
    headless = k8s_one("Service", name)
    assert headless["spec"].get("clusterIP") == "None", f"Service {name} must be headless"


def test_statefulset_selector_matches_template_labels() -> None:
    sts = statefulset()
    selector = sts["spec"]["selector"]["matchLabels"]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert selector and labels_match(selector, labels)


def test_statefulset_runs_in_parallel_and_has_time_to_flush() -> None:
    spec = statefulset()["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] >= 60


def test_rocksdb_volume_claim_is_mounted_at_the_data_dir() -> None:
    claims = {t["metadata"]["name"]: t for t in statefulset()["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in worker_container()["volumeMounts"]}
    assert mounts.get(DATA_DIR) in claims, f"no volumeClaimTemplate mounted at {DATA_DIR}"
    claim = claims[mounts[DATA_DIR]]
    assert "ReadWriteOnce" in claim["spec"]["accessModes"]
    assert parse_quantity(claim["spec"]["resources"]["requests"]["storage"]) > 0
    assert settings_configmap()["LEADFLOW_DATA_DIR"] == DATA_DIR


def test_every_volume_mount_has_a_volume() -> None:
    spec = statefulset()["spec"]
    names = {v["name"] for v in spec["template"]["spec"].get("volumes", [])}
    names |= {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    for c in leadflow_containers():
        for m in c.get("volumeMounts", []):
            assert m["name"] in names, f"{c['name']} mounts unknown volume {m['name']}"


def test_worker_port_and_probes_use_the_named_port() -> None:
    c = worker_container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": WEB_PORT}
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    if "startupProbe" in c:
        assert c["startupProbe"]["httpGet"]["port"] == "http"


def test_worker_resources_fit_a_two_core_two_gib_pod() -> None:
    res = worker_container()["resources"]
    for key in ("cpu", "memory"):
        request = parse_quantity(res["requests"][key])
        limit = parse_quantity(res["limits"][key])
        assert 0 < request <= limit, f"{key}: request {request} must be <= limit {limit}"
    assert parse_quantity(res["limits"]["cpu"]) == 2
    assert parse_quantity(res["limits"]["memory"]) == 2 * 2**30


def test_worker_gets_settings_from_the_configmap() -> None:
    for c in leadflow_containers():
        refs = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
        assert "leadflow-settings" in refs, f"{c['name']} does not load leadflow-settings"
    for c in leadflow_containers():
        for e in c.get("envFrom", []):
            if "secretRef" in e:
                assert e["secretRef"].get("optional") is True, "the credentials Secret is optional"
    # The ConfigMap itself exists.
    k8s_one("ConfigMap", "leadflow-settings")


def test_policy_configmap_is_mounted_where_leadflow_policy_points() -> None:
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    policy_cm = k8s_one("ConfigMap", "leadflow-policy")
    policy_path = settings_configmap()["LEADFLOW_POLICY"]
    for c in leadflow_containers():
        mounted = False
        for m in c.get("volumeMounts", []):
            vol = volumes.get(m["name"], {})
            if vol.get("configMap", {}).get("name") != "leadflow-policy":
                continue
            assert m.get("readOnly") is True
            prefix = m["mountPath"].rstrip("/") + "/"
            if policy_path.startswith(prefix):
                key = policy_path[len(prefix) :]
                assert key in policy_cm["data"], f"leadflow-policy has no key {key}"
                mounted = True
        assert mounted, f"{c['name']}: LEADFLOW_POLICY={policy_path} is not in a policy mount"


def test_pod_runs_as_the_image_user() -> None:
    sec = pod_spec()["securityContext"]
    assert sec["runAsNonRoot"] is True
    user = dockerfile("USER")[-1].split(":")[0]
    assert str(sec["runAsUser"]) == user
    for c in leadflow_containers():
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


# --------------------------------------------------------------------------- Services


def test_services_target_the_worker_pods_on_6066() -> None:
    pod_labels = statefulset()["spec"]["template"]["metadata"]["labels"]
    services = [doc for _, doc in k8s_objects() if doc["kind"] == "Service"]
    assert {s["spec"].get("clusterIP") == "None" for s in services} == {True, False}, (
        "want one headless Service and one normal Service"
    )
    for svc in services:
        assert labels_match(svc["spec"]["selector"], pod_labels)
        http = [p for p in svc["spec"]["ports"] if p["name"] == "http"]
        assert len(http) == 1
        assert http[0]["port"] == WEB_PORT
        assert resolve_target_port(svc, http[0]) == WEB_PORT


def test_servicemonitor_scrapes_metrics_on_the_http_port() -> None:
    sm = k8s_one("ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    selector = sm["spec"]["selector"]["matchLabels"]
    services = [doc for _, doc in k8s_objects() if doc["kind"] == "Service"]
    selected = [s for s in services if labels_match(selector, s["metadata"].get("labels", {}))]
    # One Service only, or every pod would be scraped twice.
    assert len(selected) == 1, f"ServiceMonitor selects {len(selected)} Services"
    port_names = {p["name"] for p in selected[0]["spec"]["ports"]}
    for endpoint in sm["spec"]["endpoints"]:
        assert endpoint["port"] == "http" and endpoint["port"] in port_names
        assert endpoint.get("path", "/metrics") == "/metrics"


def alert_rule_jobs() -> set[str]:
    path = REPO / "deploy/prometheus/alerts.yml"
    if not path.exists():
        pytest.skip("deploy/prometheus/alerts.yml is not written yet")
    return set(re.findall(r'\bjob\s*=\s*"([^"]+)"', path.read_text(encoding="utf-8")))


def test_servicemonitor_job_matches_the_alert_rules() -> None:
    sm = k8s_one("ServiceMonitor")
    selected = [
        s
        for _, s in k8s_objects()
        if s["kind"] == "Service"
        and labels_match(sm["spec"]["selector"]["matchLabels"], s["metadata"].get("labels", {}))
    ]
    job_label = sm["spec"].get("jobLabel")
    job = (
        selected[0]["metadata"]["labels"][job_label]
        if job_label
        else selected[0]["metadata"]["name"]
    )
    assert job == "leadflow"
    jobs = alert_rule_jobs()
    assert jobs <= {job}, f"alert rules select job(s) {jobs}, the ServiceMonitor yields {job}"


def test_compose_prometheus_job_matches_the_alert_rules() -> None:
    prom_cfg = load_docs(COMPOSE_DIR / "prometheus.yml")[0]
    job = next(
        j["job_name"]
        for j in prom_cfg["scrape_configs"]
        if any(f"worker:{WEB_PORT}" in sc["targets"] for sc in j.get("static_configs", []))
    )
    assert job == "leadflow"
    jobs = alert_rule_jobs()
    assert jobs <= {job}, f"alert rules select job(s) {jobs}, compose scrapes job {job}"


def test_pdb_selects_the_worker_pods() -> None:
    pdb = k8s_one("PodDisruptionBudget")
    pod_labels = statefulset()["spec"]["template"]["metadata"]["labels"]
    assert labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels)


# --------------------------------------------------------------------------- ports, env


def test_port_6066_everywhere() -> None:
    assert str(WEB_PORT) in dockerfile("EXPOSE")[0].split()
    assert dockerfile_env()["LEADFLOW_WEB_PORT"] == str(WEB_PORT)
    assert f"127.0.0.1:{WEB_PORT}:{WEB_PORT}" in service("worker")["ports"]
    assert compose_env(service("worker")).get("LEADFLOW_WEB_PORT", str(WEB_PORT)) == str(WEB_PORT)
    assert settings_configmap()["LEADFLOW_WEB_PORT"] == str(WEB_PORT)
    assert {p["containerPort"] for p in worker_container()["ports"]} == {WEB_PORT}
    prom = load_docs(COMPOSE_DIR / "prometheus.yml")[0]
    targets = [
        t
        for job in prom["scrape_configs"]
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    ]
    assert f"worker:{WEB_PORT}" in targets


def test_worker_env_names_start_with_leadflow() -> None:
    for where, names in worker_env_names().items():
        bad = sorted(n for n in names if not n.startswith("LEADFLOW_"))
        assert not bad, f"{where} sets non-LEADFLOW_ variables {bad}"


def test_worker_env_names_are_known_to_settings() -> None:
    known = known_variables()
    for where, names in worker_env_names().items():
        unknown = sorted(names - known)
        assert not unknown, f"{where} sets variables streams.settings does not know: {unknown}"


def test_settings_accept_the_configured_values(tmp_path: Path) -> None:
    known_variables()  # skips when settings are not there yet
    from streams.settings import Settings

    policy = tmp_path / "policy.yaml"
    policy.write_text("version: test\n", encoding="utf-8")
    envs = {
        "k8s": {**settings_configmap(), "LEADFLOW_WEB_HOST": "10.1.2.3"},
        "compose:worker": compose_env(service("worker")),
        "compose:topics": compose_env(service("topics")),
        "Dockerfile": {k: v for k, v in dockerfile_env().items() if k.startswith("LEADFLOW_")},
    }
    for where, env in envs.items():
        env = {**env, "LEADFLOW_POLICY": str(policy)}  # the real path exists only in the pod
        settings = Settings.from_env(env)
        assert settings.web_port == WEB_PORT, where
        assert str(settings.data_dir) == DATA_DIR or "LEADFLOW_DATA_DIR" not in env, where


# --------------------------------------------------------------------------- images


def test_images_are_pinned() -> None:
    images = dockerfile_base_images()
    images += [svc["image"] for svc in compose()["services"].values() if "image" in svc]
    images += [c["image"] for c in leadflow_containers()]
    assert images
    for image in images:
        assert_pinned(image)


def test_kafka_and_base_image_versions() -> None:
    assert service("kafka")["image"] == "apache/kafka:4.1.1"
    assert all(img.startswith("python:3.11") and "slim" in img for img in dockerfile_base_images())


# --------------------------------------------------------------------------- compose


def test_compose_ports_are_bound_to_localhost() -> None:
    for name, svc in compose()["services"].items():
        for port in svc.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all hosts"


@pytest.mark.parametrize(("svc", "source", "target"), compose_bind_mounts(), ids=lambda v: str(v))
def test_compose_bind_mount_exists(svc: str, source: str, target: str) -> None:
    path = (COMPOSE_DIR / source).resolve()
    rel = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)
    if not path.exists() and rel in WRITTEN_ELSEWHERE:
        pytest.skip(f"{rel} is not written yet")
    assert path.is_relative_to(REPO), f"{svc} mounts {source} from outside the repository"
    assert path.exists(), f"{svc} mounts {source}, which does not exist ({rel})"
    if target.endswith((".yml", ".yaml", ".json")):
        assert path.is_file(), f"{svc}: {rel} should be a file"


def test_compose_kafka_is_single_node_kraft_with_healthcheck() -> None:
    kafka = service("kafka")
    env = compose_env(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    node = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node}@kafka:9093"
    assert "CONTROLLER" in env["KAFKA_LISTENERS"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert kafka["healthcheck"]["test"]


def test_compose_worker_wiring() -> None:
    worker, topics = service("worker"), service("topics")
    for svc in (worker, topics):
        assert (COMPOSE_DIR / svc["build"]["context"] / svc["build"]["dockerfile"]).resolve() == (
            DOCKERFILE
        )
        env = compose_env(svc)
        assert env["LEADFLOW_BROKER"] == "kafka://kafka:9092"
        targets = {parse_volume(v)[1]: parse_volume(v)[0] for v in svc["volumes"]}
        assert env["LEADFLOW_POLICY"] in targets, "LEADFLOW_POLICY must be the mounted file"
        assert targets[env["LEADFLOW_POLICY"]] == "../../policy/default.yaml"
        assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["command"] == ["topics", "create"]
    assert worker["command"] == ["worker"]
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    # RocksDB on a named volume at the data dir.
    data = [parse_volume(v) for v in worker["volumes"] if parse_volume(v)[1] == DATA_DIR]
    assert len(data) == 1 and not data[0][2], "RocksDB needs a named volume, not a bind mount"
    assert data[0][0] in compose()["volumes"]
    assert compose_env(worker)["LEADFLOW_DATA_DIR"] == DATA_DIR


def test_compose_prometheus_loads_the_alert_rules() -> None:
    prom_cfg = load_docs(COMPOSE_DIR / "prometheus.yml")[0]
    targets = {parse_volume(v)[1]: parse_volume(v)[0] for v in service("prometheus")["volumes"]}
    assert targets["/etc/prometheus/prometheus.yml"] == "./prometheus.yml"
    for rule_file in prom_cfg["rule_files"]:
        assert rule_file in targets, f"{rule_file} is not mounted into prometheus"
    assert targets["/etc/prometheus/alerts.yml"] == "../prometheus/alerts.yml"
    jobs = {job["job_name"]: job for job in prom_cfg["scrape_configs"]}
    assert jobs["leadflow"].get("metrics_path", "/metrics") == "/metrics"


def test_compose_grafana_provisioning() -> None:
    grafana = service("grafana")
    targets = {parse_volume(v)[1]: parse_volume(v)[0] for v in grafana["volumes"]}
    datasources = load_docs(COMPOSE_DIR / "grafana/provisioning/datasources/prometheus.yml")[0]
    ds = datasources["datasources"]
    assert any(d["type"] == "prometheus" and d["url"] == "http://prometheus:9090" for d in ds)
    providers = load_docs(COMPOSE_DIR / "grafana/provisioning/dashboards/leadflow.yml")[0]
    paths = {p["options"]["path"] for p in providers["providers"]}
    dashboard_target = next(t for t, s in targets.items() if s == "../grafana/leadflow.json")
    assert str(Path(dashboard_target).parent) in paths
    for target in targets:
        if "/provisioning/" in target:
            assert target.startswith("/etc/grafana/provisioning/")


def test_dashboard_uses_the_provisioned_datasource() -> None:
    dashboard_path = REPO / "deploy/grafana/leadflow.json"
    if not dashboard_path.exists():
        pytest.skip("deploy/grafana/leadflow.json is not written yet")
    dashboard = json.loads(dashboard_path.read_text(encoding="utf-8"))
    provisioned = {
        d["uid"]
        for d in load_docs(COMPOSE_DIR / "grafana/provisioning/datasources/prometheus.yml")[0][
            "datasources"
        ]
        if "uid" in d
    }
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", []) if "name" in v}
    builtin = {"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --", "__expr__"}

    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ds = node.get("datasource")
            if isinstance(ds, dict) and isinstance(ds.get("uid"), str):
                refs.append(ds["uid"])
            elif isinstance(ds, str):
                refs.append(ds)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    for ref in refs:
        if ref in builtin:
            continue
        var = re.fullmatch(r"\$\{?(\w+)(?::\w+)?\}?", ref)
        if var:
            # ${DS_PROMETHEUS} from an export's __inputs is not resolved by file provisioning.
            assert var.group(1) in variables, (
                f"dashboard datasource {ref} is not a dashboard variable"
            )
        else:
            assert ref in provisioned, f"dashboard datasource uid {ref!r} is not provisioned"


# --------------------------------------------------------------------------- policy copy


def test_policy_configmap_is_generated_from_policy_default_yaml() -> None:
    kust = load_docs(K8S_DIR / "kustomization.yaml")[0]
    (gen,) = [g for g in kust.get("configMapGenerator", []) if g["name"] == "leadflow-policy"]
    assert gen.get("files") == ["default.yaml=policy/default.yaml"]
    # The content hash in the name is what rolls the StatefulSet on a policy edit.
    assert not gen.get("options", {}).get("disableNameSuffixHash")
    assert not kust.get("generatorOptions", {}).get("disableNameSuffixHash")
    source = REPO / "policy" / "default.yaml"
    if not source.exists():
        pytest.skip("policy/default.yaml is not written yet")
    assert (K8S_DIR / "policy" / "default.yaml").read_bytes() == source.read_bytes(), (
        "deploy/k8s/policy/default.yaml is out of date: run python deploy/k8s/sync_policy.py"
    )
    assert load_sync_policy().main(["--check"]) == 0


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    import shutil
    import subprocess

    if shutil.which("kubectl"):
        argv = ["kubectl", "kustomize", str(directory)]
    elif shutil.which("kustomize"):
        argv = ["kustomize", "build", str(directory)]
    else:
        pytest.skip("neither kubectl nor kustomize is installed")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def rendered_policy_name(objects: list[dict[str, Any]]) -> str:
    (sts,) = [o for o in objects if o["kind"] == "StatefulSet"]
    names = {v["configMap"]["name"] for v in sts["spec"]["template"]["spec"]["volumes"]
             if "configMap" in v}
    (name,) = names
    assert any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == name for o in objects)
    return str(name)


def test_a_policy_edit_rolls_the_statefulset(tmp_path: Path) -> None:
    """Rendered by kustomize: the StatefulSet mounts the hashed ConfigMap, and an edited
    policy gives another name, so another pod template."""
    import shutil

    before = rendered_policy_name(kustomize_build(K8S_DIR))
    assert re.fullmatch(r"leadflow-policy-[a-z0-9]{10}", before), before
    copy = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, copy)
    policy = copy / "policy" / "default.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert rendered_policy_name(kustomize_build(copy)) != before


def test_pod_gets_no_service_links_and_its_name_as_instance_id() -> None:
    assert pod_spec().get("enableServiceLinks") is False
    env = {e["name"]: e for e in worker_container().get("env", [])}
    ref = env["LEADFLOW_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert ref == "metadata.name"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_runs_as_non_root() -> None:
    users = dockerfile("USER")
    assert users, "no USER: the worker would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_exposes_6066_and_checks_health() -> None:
    assert dockerfile("EXPOSE") == [str(WEB_PORT)]
    (check,) = dockerfile("HEALTHCHECK")
    assert "/health/live" in check and "urllib" in check
    assert "curl" not in check and "wget" not in check  # neither is in the slim image


def test_dockerfile_entrypoint_volume_and_data_dir() -> None:
    assert json.loads(dockerfile("ENTRYPOINT")[-1]) == ["leadflow"]
    assert json.loads(dockerfile("CMD")[-1]) == ["worker"]
    volumes = [
        v
        for args in dockerfile("VOLUME")
        for v in (json.loads(args) if args.startswith("[") else args.split())
    ]
    assert DATA_DIR in volumes
    assert dockerfile_env()["LEADFLOW_DATA_DIR"] == DATA_DIR
    # The web server must listen beyond the container's loopback.
    assert dockerfile_env()["LEADFLOW_WEB_HOST"] == "0.0.0.0"


def test_dockerfile_installs_the_project_with_its_data() -> None:
    copies = " ".join(dockerfile("COPY"))
    for needed in ("pyproject.toml", "streams/", "agents/", "schemas/", "policy/"):
        assert needed in copies, f"the image does not copy {needed}"
    runs = " ".join(dockerfile("RUN"))
    assert re.search(r"pip install (--no-deps )?(-e )?\.", runs)


def test_dockerignore_keeps_what_the_build_needs() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in ("pyproject.toml", "README.md", "streams", "agents", "schemas", "policy"):
        hits = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(needed, p)]
        assert not hits, f".dockerignore drops {needed} ({hits})"
    for dropped in (".git", ".venv", ".local"):
        assert dropped in patterns
