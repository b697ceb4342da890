"""Run the worker through a stream while breaking things, then wait for it to catch up."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.settings import Settings
from tests.support.kafka_io import Io, known_partitions
from tests.support.worker import WorkerProcess
from tests.support.workload import encode_input


def lag(settings: Settings) -> int:
    """Input records not yet committed by the worker's consumer group."""
    # Only reads the group's committed offsets: it never joins the group.
    consumer = KafkaConsumer(bootstrap_servers=settings.broker_hosts, group_id=settings.app_id,
                             enable_auto_commit=False)
    try:
        total = 0
        for logical in ("events", "outcomes"):
            topic = settings.topic(logical)
            parts = [TopicPartition(topic, p) for p in known_partitions(consumer, topic)]
            for tp, end in consumer.end_offsets(parts).items():
                total += end - (consumer.committed(tp) or 0)
        return total
    finally:
        consumer.close()


def wait_caught_up(settings: Settings, worker: WorkerProcess, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lag(settings) == 0:  # committed = end: every effect is in Kafka (commits follow)
            return
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        time.sleep(0.5)
    raise AssertionError(f"worker did not catch up (lag {lag(settings)}):\n{worker.tail()}")


class Producer(threading.Thread):
    """Sends the records in the given order (both topics interleaved, as upstream systems
    would), paced over `seconds`, in the background. The worker merges each partition's
    inputs in event time, so its result equals the offline replay whatever the timing."""

    def __init__(self, settings: Settings, records: list[tuple[str, dict[str, Any]]],
                 seconds: float) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.io = Io(settings)
        self.records = records
        self.seconds = seconds
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._send(self.records, self.seconds)
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            self.io.close()

    def _send(self, records: list[tuple[str, dict[str, Any]]], seconds: float) -> None:
        chunk = max(1, len(records) // 50)
        t0 = time.monotonic()
        previous = None
        for i in range(0, len(records), chunk):
            for logical, rec in records[i:i + chunk]:
                if previous is not None and logical != previous:
                    # Kafka orders a partition, not two topics: wait for the acks before
                    # switching topic, so the log holds the records in the order sent, as
                    # an upstream system that writes in time order would.
                    self.io.flush()
                previous = logical
                self.io.send_raw(logical, *encode_input(self.io.codecs, logical, rec))
                self.sent += 1
            self.io.flush()
            ahead = t0 + seconds * (i + chunk) / len(records) - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


def send_backlog(settings: Settings, records: list[tuple[str, dict[str, Any]]]) -> float:
    """Write all of ``records`` as fast as acks allow, in send order (the log order of both
    topics follows it: see ``Producer._send``); returns the seconds it took."""
    t0 = time.monotonic()
    producer = Producer(settings, records, seconds=0.0)
    producer.run()
    assert producer.error is None, producer.error
    return time.monotonic() - t0


def kill_loop(env: dict[str, str], log_dir: Path, producer: Producer, kills: int,
              rng: random.Random) -> tuple[WorkerProcess, list[float]]:
    """Start a worker; SIGKILL and restart it `kills` times at random moments while the
    producer runs. Returns the last (running) worker and the kill times."""
    worker = WorkerProcess(env, log_dir / "worker-0.log").start()
    worker.wait_ready(120)
    producer.start()
    kill_times = []
    for n in range(1, kills + 1):
        time.sleep(rng.uniform(1.0, 4.0))
        worker.kill()
        kill_times.append(time.monotonic())
        worker = WorkerProcess(env, log_dir / f"worker-{n}.log").start()
        worker.wait_ready(120)
    producer.join()
    assert producer.error is None, producer.error
    return worker, kill_times
