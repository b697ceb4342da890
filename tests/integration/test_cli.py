"""The CLI on the real broker: topics create, demo, tail, lead (happy and error paths)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.support.chaos import wait_caught_up
from tests.support.worker import ROOT, WorkerProcess

pytestmark = pytest.mark.integration


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)


def test_demo_tail_lead(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(worker_env, LEADFLOW_SLA_CLOCK="event", LEADFLOW_SLA_CHECK_INTERVAL="0.5")
    assert cli(env, "topics", "create").returncode == 0
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    env["LEADFLOW_WEB_PORT"] = str(worker.port)
    try:
        worker.wait_ready()
        res = cli(env, "demo", "--leads", "40", "--seed", "5", "-q")
        assert res.returncode == 0, res.stderr
        m = re.search(r"example lead: (\S+)", res.stdout)
        assert m is not None
        lead_id = m.group(1)
        wait_caught_up(Settings.from_env(env), worker)  # tail reads what is there now
        res = cli(env, "tail", "transitions", "--from-beginning", "--max", "3")
        assert res.returncode == 0, res.stderr
        lines = [json.loads(x) for x in res.stdout.splitlines()]
        assert len(lines) == 3 and all("transition_id" in x for x in lines)
        res = cli(env, "tail", "events", "--from-beginning")
        events = [json.loads(x) for x in res.stdout.splitlines()]
        assert len(events) > 40 and "cannot decode" in res.stderr  # the malformed ones
        res = cli(env, "tail", "leads.dead-letter", "--from-beginning", "--max", "1")
        assert res.returncode == 0 and json.loads(res.stdout)["error_type"] in (
            "DECODE", "SCHEMA", "VALIDATION")
        bad = cli(env, "tail", "no-such-topic")
        assert bad.returncode == 2 and "no topic" in bad.stderr
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            res = cli(env, "lead", lead_id, "--json")
            if res.returncode == 0:
                break
            time.sleep(0.5)
        assert res.returncode == 0, res.stderr
        view = json.loads(res.stdout)
        assert view["lead_id"] == lead_id and view["stage"] != "RAW"
        pretty = cli(env, "lead", lead_id)
        assert pretty.returncode == 0 and "stage" in pretty.stdout
        missing = cli(env, "lead", "no-such-lead")
        assert missing.returncode == 2 and "unknown lead" in missing.stderr

    finally:
        worker.stop()


def test_demo_and_tail_without_broker() -> None:
    env = {"LEADFLOW_BROKER": "kafka://127.0.0.1:1", "LEADFLOW_CONNECT_TIMEOUT_S": "2"}
    for args in (("demo", "--leads", "5", "-q"), ("tail", "events", "--timeout", "1")):
        t0 = time.monotonic()
        res = cli(env, *args)
        took = time.monotonic() - t0
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 1, (args, res.stderr)
        assert len(lines) == 1 and "no Kafka broker answered" in lines[0], res.stderr
        assert took < 15, (args, took)  # the connect timeout, not kafka-python's 30 s


def test_demo_and_tail_through_a_schema_registry(worker_env: dict[str, str]) -> None:
    """Issue 14.5: with LEADFLOW_SCHEMA_REGISTRY_URL set, `demo` writes the Confluent wire
    format (magic 0, schema id) that the worker's codecs read, and `tail` decodes it."""
    from kafka import KafkaConsumer, TopicPartition

    from streams import clients
    from streams.settings import Settings
    from tests.support.registry import fake_registry

    with fake_registry() as reg:
        env = dict(worker_env, LEADFLOW_SCHEMA_REGISTRY_URL=reg.url)
        assert cli(env, "topics", "create").returncode == 0
        res = cli(env, "demo", "--leads", "15", "--seed", "3", "-q")
        assert res.returncode == 0, res.stderr
        assert ("POST", "/subjects/leadflow.LeadEvent/versions") in reg.state.requests
        settings = Settings.from_env(env)
        topic = settings.topic("events")
        consumer = KafkaConsumer(**clients.kafka_python_config(settings, "test"),
                                 enable_auto_commit=False, consumer_timeout_ms=2000)
        try:
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            values = [m.value for m in consumer]
        finally:
            consumer.close()
        worker_codecs = clients.codecs(settings)  # what create_app gives the worker
        decoded = []
        for v in values:
            try:
                decoded.append(worker_codecs.decode_lead_input(v))
            except Exception:
                continue  # the demo's deliberately malformed records
            assert v[:1] == b"\x00"  # Confluent magic byte, then the registry's schema id
        assert len(decoded) > 15
        res = cli(env, "tail", "events", "--from-beginning")
        lines = [json.loads(x) for x in res.stdout.splitlines()]
        assert len(lines) == len(decoded), res.stderr
        assert ("GET", "/schemas/ids/1") in reg.state.requests
