"""Issue 9.2: the broker stops and starts mid-stream. The worker rides it out (or, if it
exits, a supervisor's restart carries on) and nothing is lost or doubled."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.broker import KAFKA_SH
from tests.support.chaos import Producer, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.worker import WorkerProcess, free_port
from tests.support.workload import generate


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A broker of this test's own (it will be restarted), on free loopback ports."""
    port = free_port()
    env = {**os.environ, "LEADFLOW_KAFKA_PORT": str(port),
           "LEADFLOW_KAFKA_CONTROLLER_PORT": str(free_port()),
           "LEADFLOW_KAFKA_HOME": str(tmp_path / "kafka"), "LEADFLOW_KAFKA_HEAP": "512m"}
    subprocess.run([str(KAFKA_SH), "start"], check=True, env=env)
    try:
        yield f"kafka://127.0.0.1:{port}", env
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], check=False, env=env)


def test_broker_restart_mid_stream(own_broker: tuple[str, dict[str, str]],
                                   worker_env: dict[str, str], tmp_path: Path) -> None:
    url, kafka_env = own_broker
    env = {**worker_env, "LEADFLOW_BROKER": url}
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = generate(20_000, 2_000, now, seed=33)
    events = [r for r in records if r[0] == "events"]
    first, second = events[:10_000], events[10_000:]
    worker = WorkerProcess(env, tmp_path / "w0.log").start()
    worker.wait_ready()
    restarts = 0
    try:
        producer = Producer(settings, first, seconds=4.0)
        producer.start()
        producer.join()
        time.sleep(1.0)  # mid-stream: the worker is still working through the first half
        subprocess.run([str(KAFKA_SH), "stop"], check=True, env=kafka_env)
        time.sleep(5.0)
        subprocess.run([str(KAFKA_SH), "start"], check=True, env=kafka_env)
        producer = Producer(settings, second, seconds=4.0)
        producer.start()
        producer.join()
        deadline = time.monotonic() + 240
        while True:
            assert worker.proc is not None
            if worker.proc.poll() is not None:  # what a supervisor would do
                restarts += 1
                worker = WorkerProcess(env, tmp_path / f"w{restarts}.log").start()
                worker.wait_ready(120)
            try:
                wait_caught_up(settings, worker, timeout=20)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
    finally:
        worker.stop()
    print(f"\n[broker restart] worker restarts needed: {restarts}")
    compare_with_offline(settings, events, now, "broker restart")
