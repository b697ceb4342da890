"""Observability end to end: one real worker (JSON logs) runs the seed story; its /metrics,
a real Prometheus scraping it, and its log are checked against contract section 7.

The tests run in file order and share the worker; the last one stops it to read the
whole log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from streams.admin import create_topics
from streams.domain import load_policy
from streams.settings import Settings
from tests.support.kafka_io import HOUR, Io, lead_event, now_ms
from tests.support.worker import ROOT, WorkerProcess, free_port

PROM_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS = "/usr/bin/prometheus"

#: Contract section 7, names as exposed (counters with ``_total``).
CONTRACT_METRICS = (
    "leadflow_events_total", "leadflow_dead_letters_total",
    "leadflow_stage_transitions_total", "leadflow_handoffs_total",
    "leadflow_sla_breaches_total", "leadflow_feedback_total", "leadflow_outcomes_total",
    "leadflow_processing_seconds", "leadflow_event_age_seconds",
    "leadflow_sla_open_handoffs", "leadflow_policy_info",
)
#: The stream engine's own consumer/producer/table metrics.
ENGINE_METRICS = (
    "leadflow_consumer_lag", "leadflow_messages_received_total",
    "leadflow_messages_sent_total", "leadflow_commit_seconds", "leadflow_table_keys",
    "leadflow_ready",
)

Samples = list[tuple[str, dict[str, str], float]]


@dataclass
class Observed:
    settings: Settings
    worker: WorkerProcess
    lead: str
    email: str
    log_path: Path
    tmp: Path

    def samples(self) -> Samples:
        text = self.worker.get_text("/metrics")
        return [(s.name, dict(s.labels), float(s.value))
                for fam in text_string_to_metric_families(text) for s in fam.samples]


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples
               if n == name and all(lab.get(k) == want for k, want in labels.items()))


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0,
             detail: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{detail()}")


def story(lead: str, email: str, t: int) -> list[dict[str, Any]]:
    """The contract's seed story: content, webinar, pricing page, BANT profile."""
    profile = {"email": email, "company": "Obs Corp", "title": "VP Marketing",
               "country": "US", "employees": "500", "industry": "software", "budget": "yes",
               "authority": "yes", "need": "yes", "timeframe": "this quarter"}
    return [
        lead_event(f"{lead}-e1", lead, "CONTENT_DOWNLOAD", t, attributes=profile,
                   campaign_id="c-ebook", asset_id="ebook-roi"),
        lead_event(f"{lead}-e2", lead, "WEBINAR_ATTENDED", t + 1000, campaign_id="c-webinar"),
        lead_event(f"{lead}-e3", lead, "PRICING_PAGE_VISIT", t + 2000),
    ]


def listening_addresses(pid: int) -> list[str]:
    """Local addresses of the TCP sockets ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                found.append(cols[1])
    return found


def is_loopback(hex_addr: str) -> bool:
    ip = hex_addr.split(":")[0]
    if len(ip) == 8:  # IPv4, little-endian bytes: 127.x.x.x ends with 7F
        return ip.endswith("7F")
    return ip in ("00000000000000000000000001000000", "0000000000000000FFFF00000100007F")


@pytest.fixture(scope="module")
def observed(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    import uuid

    run = "o" + uuid.uuid4().hex[:8]
    tmp = tmp_path_factory.mktemp(run)
    env = {
        "LEADFLOW_BROKER": broker, "LEADFLOW_TOPIC_PREFIX": run + ".",
        "LEADFLOW_APP_ID": run, "LEADFLOW_DATA_DIR": str(tmp / "data"),
        "LEADFLOW_PARTITIONS": "2", "LEADFLOW_LOG_FORMAT": "json",
        "LEADFLOW_SLA_CHECK_INTERVAL": "0.5",
    }
    settings = Settings.from_env(env)
    create_topics(settings)
    log_path = tmp / "worker.log"
    worker = WorkerProcess(env, log_path).start()
    lead, email = f"lead-{run}", f"ann.{run}@obs-example.com"
    try:
        worker.wait_ready()
        io = Io(settings)
        io.send_events(story(lead, email, now_ms() - 2 * HOUR))
        io.close()
        obs = Observed(settings, worker, lead, email, log_path, tmp)

        def story_done() -> bool:
            s = obs.samples()
            return (total(s, "leadflow_events_total", result="processed") == 3
                    and total(s, "leadflow_handoffs_total") == 1)

        wait_for("the seed story on /metrics", story_done, detail=worker.tail)
        yield obs
    finally:
        worker.stop()


def test_metrics_has_every_contract_metric_with_the_story_values(observed: Observed) -> None:
    obs = observed
    # Engine figures and open hand-offs are refreshed by timers: wait for the lag of the
    # consumed (and committed) events to drop to 0, the lead to be counted in its table
    # and its hand-off to be seen by the SLA watcher.
    def engine_settled() -> bool:
        s = obs.samples()
        # (RocksDB's key estimate counts a key's overwrites until a compaction: >= 1)
        return (total(s, "leadflow_table_keys", table="leads") >= 1
                and total(s, "leadflow_commit_seconds_count") > 0
                and any(n == "leadflow_consumer_lag"
                        and lab["topic"] == obs.settings.topic("events") for n, lab, _ in s)
                and total(s, "leadflow_consumer_lag", topic=obs.settings.topic("events")) == 0
                # set by the merge poll from the partitions' open deadlines
                and total(s, "leadflow_sla_open_handoffs") == 1)

    wait_for("engine metrics", engine_settled, timeout=30.0,
             detail=lambda: obs.worker.get_text("/metrics"))
    text = obs.worker.get_text("/metrics")
    s = obs.samples()
    # Every metric is declared (a labelled counter nobody touched yet has no sample).
    for name in CONTRACT_METRICS + ENGINE_METRICS:
        assert re.search(rf"^# TYPE {name} (counter|gauge|histogram)$", text, re.M), name
    assert set(CONTRACT_METRICS + ENGINE_METRICS) <= metrics.METRIC_NAMES

    events = obs.settings.topic("events")
    assert total(s, "leadflow_events_total", result="processed") == 3
    for type_ in ("CONTENT_DOWNLOAD", "WEBINAR_ATTENDED", "PRICING_PAGE_VISIT"):
        assert total(s, "leadflow_events_total", type=type_, result="processed") == 1
    assert total(s, "leadflow_events_total", result="dead_lettered") == 0
    assert total(s, "leadflow_dead_letters_total") == 0
    assert total(s, "leadflow_stage_transitions_total", to_stage="MQL") == 1
    assert total(s, "leadflow_stage_transitions_total", from_stage="RAW",
                 to_stage="ENGAGED") == 1
    assert total(s, "leadflow_handoffs_total", path="SCORE") == 1
    assert total(s, "leadflow_sla_breaches_total") == 0
    assert total(s, "leadflow_sla_open_handoffs") == 1
    assert total(s, "leadflow_processing_seconds_count") >= 1
    assert total(s, "leadflow_event_age_seconds_count") == 3
    # ~2 h old events land in the (3600, 7200] or (7200, 21600] bucket, not below 1 h.
    assert total(s, "leadflow_event_age_seconds_bucket", le="3600.0") == 0
    version = load_policy(obs.settings.policy_path).version
    assert total(s, "leadflow_policy_info", version=version) == 1
    assert total(s, "leadflow_messages_received_total", topic=events) == 3
    assert total(s, "leadflow_messages_sent_total",
                 topic=obs.settings.topic("transitions")) == 2
    assert total(s, "leadflow_messages_sent_total",
                 topic=obs.settings.topic("qualified")) == 1
    assert total(s, "leadflow_messages_sent_total", topic="other") == 0
    assert total(s, "leadflow_messages_received_total", topic="other") == 0
    assert total(s, "leadflow_ready") == 1

    # Bounded labels: never the lead's id or email (nor any part of the email).
    for name, labels, _ in s:
        for key, value in labels.items():
            assert obs.lead not in value and obs.email not in value and "@" not in value, (
                name, key, value)


def prometheus_config(worker_port: int, tmp: Path) -> Path:
    """deploy/prometheus/prometheus.yml, pointed at the test worker, scraping every 1 s."""
    doc = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    doc["global"]["scrape_interval"] = "1s"
    doc["global"]["evaluation_interval"] = "1s"
    doc["rule_files"] = [str((PROM_DIR / f).resolve()) for f in doc["rule_files"]]
    (job,) = [j for j in doc["scrape_configs"] if j["job_name"] == "leadflow"]
    job["scrape_interval"] = "1s"
    job["static_configs"] = [{"targets": [f"127.0.0.1:{worker_port}"]}]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def prometheus_binary() -> str:
    path = shutil.which("prometheus") or PROMETHEUS
    if not os.access(path, os.X_OK):
        msg = "prometheus not installed (deploy/prometheus/install-promtool.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def test_prometheus_scrapes_the_worker(observed: Observed) -> None:
    binary = prometheus_binary()
    tmp = observed.tmp / "prometheus"
    tmp.mkdir()
    port = free_port()
    config = prometheus_config(observed.worker.port, tmp)
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def api(path: str, **params: str) -> Any:
        url = f"{base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def scalar(query: str) -> float | None:
        result = api("query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None

    def prom_log() -> str:
        return (tmp / "prometheus.log").read_text(errors="replace")[-4000:]

    try:
        wait_for("Prometheus to answer", lambda: api("status/buildinfo") is not None,
                 timeout=30.0, detail=prom_log)
        query = 'sum(leadflow_events_total{result="processed"})'
        wait_for("a scrape with the story", lambda: scalar(query) == 3.0, timeout=30.0,
                 detail=prom_log)
        assert scalar(query) == 3.0
        assert scalar('up{job="leadflow"}') == 1.0
        assert scalar('sum(leadflow_handoffs_total{job="leadflow"})') == 1.0
        assert scalar('sum(leadflow_stage_transitions_total{to_stage="MQL"})') == 1.0

        # Every alert of alerts.yml is loaded, and evaluates without error.
        wanted = {r["alert"] for g in yaml.safe_load((PROM_DIR / "alerts.yml").read_text())
                  ["groups"] for r in g["rules"] if "alert" in r}
        assert wanted

        def rules() -> list[dict[str, Any]]:
            return [r for g in api("rules")["groups"] for r in g["rules"]]

        def all_evaluated() -> bool:
            rs = rules()
            return {r["name"] for r in rs} >= wanted and all(
                r.get("health") == "ok" for r in rs)

        wait_for("alert rules loaded and evaluated", all_evaluated, timeout=20.0,
                 detail=lambda: json.dumps(
                     [(r["name"], r.get("health"), r.get("lastError")) for r in rules()]))
        # Nothing on a running worker of the seed story should be firing, except none.
        firing = [r["name"] for r in rules() if r.get("state") == "firing"]
        assert firing == [], firing

        # Both processes listen on loopback only.
        for pid in (proc.pid, observed.worker.proc.pid if observed.worker.proc else 0):
            addrs = listening_addresses(pid)
            assert addrs, pid
            assert all(is_loopback(a) for a in addrs), (pid, addrs)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()
    assert proc.returncode is not None


def test_json_log_has_the_notable_events_and_no_email(observed: Observed) -> None:
    obs = observed
    assert obs.worker.stop() == 0, obs.worker.tail()
    text = obs.log_path.read_text(errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    docs = []
    for line in lines:
        try:
            docs.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    assert all({"ts", "level", "logger", "msg"} <= d.keys() for d in docs)
    events = [d.get("event") for d in docs]
    for event in ("start", "policy_loaded", "ready", "stop"):
        assert events.count(event) >= 1, (event, events)
    (start,) = [d for d in docs if d.get("event") == "start"]
    assert start["app_id"] == obs.settings.app_id and "sasl_password" in start
    (policy,) = [d for d in docs if d.get("event") == "policy_loaded"]
    assert policy["version"] == load_policy(obs.settings.policy_path).version
    assert events.index("start") < events.index("policy_loaded") < events.index("ready")
    # Never the email, nor anything like one.
    assert obs.email not in text
    assert obs.email.split("@")[0] not in text
    assert "obs-example.com" not in text
