"""Issue 9.1: SIGKILL the worker at random moments, at least 5 times, while 100,000 events
(with outcomes) for 10,000 leads arrive; then compare with an offline replay."""

from __future__ import annotations

import random
from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import Producer, kill_loop, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.workload import generate


def test_crash_loop_100k_events(worker_env: dict[str, str], tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    now = now_ms()
    records = generate(100_000, 10_000, now, seed=2026)
    producer = Producer(settings, records, seconds=40.0)
    worker, kills = kill_loop(worker_env, tmp_path, producer, kills=6,
                              rng=random.Random(9))
    try:
        wait_caught_up(settings, worker, timeout=600)
    finally:
        worker.stop()
    figures = compare_with_offline(settings, records, now, f"crash loop, {len(kills)} kills")
    assert len(kills) >= 5 and figures["lost"] == 0
