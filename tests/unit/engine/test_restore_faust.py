"""The bulk restore's place in Faust's recovery (streams.engine.restore_faust and
faust_private.RestoringRecovery): which partitions it takes, and that Faust then starts
reading where it stopped."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import rocksdict
from faust.types import TP

from streams.app import create_app, faust_config
from streams.engine import faust_private, restore_faust
from streams.settings import Settings

OFFSET_KEY = b"__faust\0offset__"


class FakeRocksStore:
    """What restore_faust needs of faust.stores.rocksdb.Store."""

    offset_key = OFFSET_KEY

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.dbs: dict[int, rocksdict.Rdict] = {}

    def _db_for_partition(self, partition: int) -> rocksdict.Rdict:
        if partition not in self.dbs:
            self.dbs[partition] = rocksdict.Rdict(str(self.dir / f"p{partition}.db"),
                                                  options=rocksdict.Options(raw_mode=True))
        return self.dbs[partition]


def test_jobs_only_for_rocksdb_partitions_far_behind(tmp_path: Path) -> None:
    rocks = SimpleNamespace(data=FakeRocksStore(tmp_path))
    memory = SimpleNamespace(data={})
    lost, kept, small = TP("leads-changelog", 0), TP("leads-changelog", 1), TP("kpi", 0)
    mem = TP("mem-changelog", 0)
    recovery = SimpleNamespace(
        tp_to_table={lost: rocks, kept: rocks, small: rocks, mem: memory},
        active_highwaters=Counter({lost: 49_999, kept: 50_000, small: 10, mem: 99_999}))
    offsets = Counter({lost: -1, kept: 49_990, small: -1, mem: -1})
    jobs = restore_faust.jobs_for(recovery, {lost, kept, small, mem}, offsets, 1000)
    assert [(j.topic, j.partition, j.start, j.end) for j in jobs] == [
        ("leads-changelog", 0, 0, 50_000)]
    assert jobs[0].db is rocks.data.dbs[0] and jobs[0].offset_key == OFFSET_KEY


def test_faust_starts_reading_where_the_bulk_restore_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rocks = SimpleNamespace(data=FakeRocksStore(tmp_path))
    done, partial, kept = TP("c", 0), TP("c", 1), TP("c", 2)

    async def fake_restore(jobs: Any, config: Any, budget: float) -> None:
        assert budget == pytest.approx(60.0)
        for job in jobs:  # one finished, one cut short by the deadline
            job.persisted = job.end - 1 if job.partition == 0 else 1234

    monkeypatch.setattr(restore_faust, "restore_from_kafka", fake_restore)
    recovery = SimpleNamespace(
        tp_to_table={done: rocks, partial: rocks, kept: rocks},
        active_highwaters=Counter({done: 4999, partial: 9999, kept: 9999}),
        app=SimpleNamespace(conf=SimpleNamespace(broker_request_timeout=90.0)))
    offsets = Counter({done: -1, partial: -1, kept: 9998})
    hook = restore_faust.hook({}, 1000)
    asyncio.run(hook(recovery, {done, partial, kept}, offsets))
    assert offsets == Counter({done: 4999, partial: 1234, kept: 9998})


def test_the_recovery_calls_the_hook_for_active_offsets_only() -> None:
    calls: list[str] = []

    async def restore_actives(recovery: Any, tps: Any, offsets: Any) -> None:
        calls.append("active" if offsets is recovery.active_offsets else "other")

    app = create_app(Settings.from_env({}))
    assert isinstance(app.tables.recovery, faust_private.RestoringRecovery)
    app.restore_actives = restore_actives
    recovery = app.tables.recovery
    tp = TP("x", 0)

    class Consumer:
        async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
            return {t: 0 for t in tps}

    recovery.active_offsets[tp] = 5
    recovery.standby_offsets[tp] = 5
    asyncio.run(recovery._build_offsets(Consumer(), {tp}, recovery.standby_offsets, "standby"))
    asyncio.run(recovery._build_offsets(Consumer(), {tp}, recovery.active_offsets, "active"))
    assert calls == ["active"]


def test_the_bulk_restore_is_on_by_default_and_can_be_turned_off() -> None:
    assert faust_config(Settings.from_env({}))["TableManager"] is (
        faust_private.RestoringTableManager)
    assert Settings.from_env({}).bulk_restore_min_records == 1000
    assert create_app(Settings.from_env({})).restore_actives is not None
    off = Settings.from_env({"LEADFLOW_BULK_RESTORE_MIN_RECORDS": "0"})
    assert create_app(off).restore_actives is None
