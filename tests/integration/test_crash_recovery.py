"""SIGKILL the worker mid-stream and restart it: state comes back from the changelog, no
hand-off is lost, duplicates carry identical ids, and the result equals an offline replay
of the same input through the same processor (one code path)."""

from __future__ import annotations

import random
from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import Producer, kill_loop, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.workload import generate


def test_sigkill_mid_stream_loses_nothing(worker_env: dict[str, str], tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    now = now_ms()
    records = generate(10_000, 1_000, now, seed=11)
    producer = Producer(settings, records, seconds=5.0)
    worker, _kills = kill_loop(worker_env, tmp_path, producer, kills=1, rng=random.Random(3))
    try:
        wait_caught_up(settings, worker)
    finally:
        worker.stop()
    figures = compare_with_offline(settings, records, now, "sigkill mid-stream")
    assert figures["lost"] == 0
