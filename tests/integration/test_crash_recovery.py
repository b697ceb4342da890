"""SIGKILL the worker mid-stream and restart it: state comes back from the changelog, no
hand-off is lost, duplicates carry identical ids, and the result equals an offline replay
of the same input through the same processor (one code path). Also with the data dir lost:
every state comes back through the bulk changelog restore."""

from __future__ import annotations

import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

import rocksdict
from faust.stores.rocksdb import Store

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import Producer, kill_loop, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.replay import read_partitions
from tests.support.worker import WorkerProcess
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


FAUST_OFFSET_KEY = Store.offset_key
TABLES = ("leads", "sla-deadlines", "kpi-windows")


def _changelog_table(settings: Settings, table: str) -> dict[int, dict[bytes, bytes]]:
    """What the changelog says each partition of ``table`` holds."""
    out: dict[int, dict[bytes, bytes]] = {}
    for partition, key, value in read_partitions(settings,
                                                 f"{settings.app_id}-{table}-changelog"):
        assert key is not None
        held = out.setdefault(partition, {})
        if value is None:
            held.pop(key, None)
        else:
            held[key] = value
    return {p: held for p, held in out.items() if held}


def _local_table(env: dict[str, str], table: str) -> dict[int, dict[bytes, bytes]]:
    """What a stopped worker's RocksDB holds for each partition of ``table`` (Faust's own
    offset key aside)."""
    out: dict[int, dict[bytes, bytes]] = {}
    for path in Path(env["LEADFLOW_DATA_DIR"]).rglob(f"{table}-*.db"):
        partition = int(path.name[len(table) + 1:-len(".db")])
        db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True),
                             access_type=rocksdict.AccessType.read_only())
        held = {k: v for k, v in db.items() if k != FAUST_OFFSET_KEY}
        db.close()
        if held:
            out[partition] = held
    return out


# the parts of GET /leads/{id} decided as of the worker's wall clock, not the stored state
_AS_OF_NOW = ("now", "score_now", "why_not_mql", "model_scores")


def _lead_views(worker: WorkerProcess, leads: list[str]) -> dict[str, tuple[int, Any]]:
    views = {}
    for lead in leads:
        status, body = worker.get(f"/leads/{lead}")
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in _AS_OF_NOW}
        views[lead] = (status, body)
    return views


def test_a_worker_that_lost_its_data_dir_restores_every_state_in_bulk(
        worker_env: dict[str, str], tmp_path: Path) -> None:
    # a low threshold so this small state takes the bulk path (streams.engine.restore)
    env = {**worker_env, "LEADFLOW_BULK_RESTORE_MIN_RECORDS": "100"}
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = generate(6_000, 1_500, now, seed=17)
    before, after = records[:4_000], records[4_000:]
    leads = sorted({rec["lead_id"] for _, rec in before})
    worker = WorkerProcess(env, tmp_path / "worker-0.log").start()
    try:
        worker.wait_ready(120)
        producer = Producer(settings, before, seconds=2.0)
        producer.start()
        producer.join()
        assert producer.error is None, producer.error
        wait_caught_up(settings, worker)
        views = _lead_views(worker, leads)
        assert sum(status == 200 for status, _ in views.values()) > 1_000
        worker.kill()
        shutil.rmtree(env["LEADFLOW_DATA_DIR"])
        log = tmp_path / "worker-1.log"
        worker = WorkerProcess(env, log).start()
        worker.wait_ready(120)
        restored = [int(m) for m in re.findall(r"bulk changelog restore: (\d+) records",
                                               log.read_text())]
        assert restored and restored[0] >= len(leads), worker.tail()
        assert _lead_views(worker, leads) == views
        # every key of every table partition, progress records included, is the changelog's
        assert worker.stop() == 0
        for table in TABLES:
            want = _changelog_table(settings, table)
            assert _local_table(env, table) == want, table
            assert table != "leads" or len(want) == settings.partitions
        # a restart with the data dir kept has nothing to restore in bulk
        log = tmp_path / "worker-2.log"
        worker = WorkerProcess(env, log).start()
        worker.wait_ready(120)
        assert "bulk changelog restore" not in log.read_text()
        # progress records came back too: the rest continues exactly as one run would
        producer = Producer(settings, after, seconds=1.0)
        producer.start()
        producer.join()
        assert producer.error is None, producer.error
        wait_caught_up(settings, worker)
    finally:
        worker.stop()
    figures = compare_with_offline(settings, records, now, "restored data dir")
    assert figures["differences"] == 0, figures


def test_a_standby_replica_takes_over_without_a_bulk_restore(
        worker_env: dict[str, str], tmp_path: Path) -> None:
    # B keeps a warm copy of A's partitions: when A dies, B's copy is (nearly) up to date and
    # Faust's own recovery reads the few records left; a dead standby path would show as a
    # bulk restore of A's partitions on B (their changelogs hold well over 300 records each)
    env = {**worker_env, "LEADFLOW_STANDBY_REPLICAS": "1",
           "LEADFLOW_BULK_RESTORE_MIN_RECORDS": "300"}
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = generate(3_000, 1_500, now, seed=19)
    leads = sorted({rec["lead_id"] for _, rec in records})
    a = WorkerProcess({**env, "LEADFLOW_DATA_DIR": str(tmp_path / "a")}, tmp_path / "a.log")
    b_log = tmp_path / "b.log"
    b = WorkerProcess({**env, "LEADFLOW_DATA_DIR": str(tmp_path / "b")}, b_log)
    a.start()
    b.start()
    try:
        a.wait_ready(120)
        b.wait_ready(120)
        producer = Producer(settings, records, seconds=2.0)
        producer.start()
        producer.join()
        assert producer.error is None, producer.error
        wait_caught_up(settings, a)
        views = _lead_views(a, leads)
        assert sum(status == 200 for status, _ in views.values()) > 1_000
        a.kill()
        deadline = time.monotonic() + 90
        got: dict[str, tuple[int, Any]] = {}
        while time.monotonic() < deadline:
            got = _lead_views(b, leads)
            if got == views:
                break
            time.sleep(1.0)
        assert got == views, b.tail()
        assert "bulk changelog restore" not in b_log.read_text(), b.tail()
    finally:
        a.kill()
        b.stop()
