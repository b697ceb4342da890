"""Issue 9.4: SIGTERM flushes and commits; a restart reprocesses nothing already committed."""

from __future__ import annotations

from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import Producer, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.worker import WorkerProcess, metric_sum
from tests.support.workload import generate


def test_sigterm_then_restart_reprocesses_nothing(worker_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    now = now_ms()
    records = generate(5_000, 500, now, seed=5)
    first, second = records[:3_000], records[3_000:]
    worker = WorkerProcess(worker_env, tmp_path / "w1.log").start()
    worker.wait_ready()
    producer = Producer(settings, first, seconds=2.0)
    producer.start()
    producer.join()
    wait_caught_up(settings, worker)
    assert worker.stop() == 0, worker.tail()

    worker = WorkerProcess(worker_env, tmp_path / "w2.log").start()
    try:
        worker.wait_ready()
        # Nothing sleeps to prove the absence of replays: once the second part is
        # committed, the restarted worker must have counted exactly its records.
        producer = Producer(settings, second, seconds=1.0)
        producer.start()
        producer.join()
        wait_caught_up(settings, worker)
        metrics = worker.get_text("/metrics")
        assert metric_sum(metrics, "leadflow_events_total", result="duplicate") == 0
        counted = metric_sum(metrics, "leadflow_events_total")
        print(f"\n[graceful stop] records counted after restart: {counted:.0f} "
              f"(sent after restart: {len(second)})")
        assert counted == len(second), "a restart after SIGTERM replayed committed events"
    finally:
        worker.stop()
    sent = first + second
    compare_with_offline(settings, sent, now, "graceful stop")
