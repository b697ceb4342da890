"""A Faust worker, as a real process with leadflow's Faust config, on the real broker:
consumes one topic, produces to another, and its table survives a restart."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.worker import WorkerProcess

ECHO_APP = [sys.executable, "-m", "tests.support.echo_app"]


def _send(settings: Settings, n: int, start: int = 0) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.broker_hosts)
    for i in range(start, start + n):
        producer.send(settings.topic("events"), key=f"k{i % 3}".encode(), value=f"v{i}".encode())
    producer.flush()
    producer.close()


def _consume(settings: Settings, n: int, timeout_ms: int = 30_000) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic("transitions"), bootstrap_servers=settings.broker_hosts,
                             auto_offset_reset="earliest", consumer_timeout_ms=timeout_ms)
    out = []
    for message in consumer:
        out.append(message.value)
        if len(out) >= n:
            break
    consumer.close()
    return out


def _count(worker: WorkerProcess, key: str, want: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    got = -1
    while time.monotonic() < deadline:
        status, body = worker.get(f"/echo/{key}")
        got = body["count"] if status == 200 else -1
        if got == want:
            break
        time.sleep(0.2)
    return got


def test_worker_relays_and_table_survives_restart(worker_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    worker = WorkerProcess(worker_env, tmp_path / "worker.log", argv=ECHO_APP).start()
    try:
        worker.wait_ready()
        _send(settings, 30)
        assert len(_consume(settings, 30)) == 30
        assert _count(worker, "k0", 10) == 10
        assert worker.stop() == 0
        # Lose the local RocksDB copy: the count must come back from the changelog topic.
        import shutil
        shutil.rmtree(worker_env["LEADFLOW_DATA_DIR"], ignore_errors=True)
        worker = WorkerProcess(worker_env, tmp_path / "worker2.log", argv=ECHO_APP).start()
        worker.wait_ready()
        assert _count(worker, "k0", 10) == 10
        _send(settings, 3, start=30)
        assert _count(worker, "k0", 11) == 11, worker.tail()
    finally:
        worker.stop()
