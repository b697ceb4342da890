"""The bulk changelog restore (streams.engine.restore) against a real RocksDB (rocksdict,
raw mode, as Faust opens a partition) and a fake changelog."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import rocksdict

from streams.engine.restore import Job, Record, apply, plan, run

OFFSET_KEY = b"__faust\0offset__"  # faust.stores.rocksdb.Store.offset_key
TP = ("app-leads-changelog", 1)


@dataclass(frozen=True)
class Rec:
    offset: int
    key: bytes | None
    value: bytes | None


def _db(tmp_path: Path) -> rocksdict.Rdict:
    return rocksdict.Rdict(str(tmp_path / "leads-1.db"), options=rocksdict.Options(raw_mode=True))


class FakeChangelog:
    """Hands out ``records`` from ``start`` in fetches of ``per_fetch``; the position may
    run past the last record (a compacted or control-record tail) up to ``end``."""

    def __init__(self, records: Sequence[Rec], start: int, end: int, per_fetch: int) -> None:
        self.records = [r for r in records if r.offset >= start]
        self.end = end
        self.per_fetch = per_fetch
        self.pos = start
        self.fetches = 0

    async def fetch(self) -> Mapping[tuple[str, int], Sequence[Record]]:
        self.fetches += 1
        out = [r for r in self.records if r.offset >= self.pos][: self.per_fetch]
        self.pos = out[-1].offset + 1 if out else self.end
        return {TP: out} if out else {}

    async def position(self, tp: tuple[str, int]) -> int:
        assert tp == TP
        return self.pos


def test_plan_leaves_small_or_no_gaps_to_faust() -> None:
    assert plan(None, -1, 1000) is None  # empty changelog
    assert plan(None, 4999, 1000) == (0, 5000)  # nothing local: all of it
    assert plan(-1, 4999, 1000) == (0, 5000)
    assert plan(1999, 4999, 1000) == (2000, 5000)  # resumes after the persisted offset
    assert plan(4500, 4999, 1000) is None  # the data dir was kept: Faust reads 499
    assert plan(4999, 4999, 1) is None


def test_restores_every_key_with_tombstones_and_the_offset(tmp_path: Path) -> None:
    records = [Rec(0, b"a", b"1"), Rec(1, b"b", b"1"), Rec(2, b"\x00progress", b"p1"),
               Rec(3, b"a", b"2"), Rec(4, b"b", None), Rec(5, b"c", b"1"),
               Rec(6, b"\x00progress", b"p2"), Rec(7, b"d", b"1")]
    db = _db(tmp_path)
    job = Job(*TP, start=0, end=8, db=db, offset_key=OFFSET_KEY)
    log = FakeChangelog(records, 0, 8, per_fetch=3)
    asyncio.run(run([job], log.fetch, log.position, deadline=float("inf")))
    assert job.done and job.restored == 8 and job.persisted == 7
    assert dict(db.items()) == {b"a": b"2", b"c": b"1", b"d": b"1", b"\x00progress": b"p2",
                                OFFSET_KEY: b"7"}
    assert log.fetches == 3


def test_stops_at_end_and_records_a_tail_without_records(tmp_path: Path) -> None:
    # offsets 3 and 4 are gone (compaction) and the position reaches end 5 without them;
    # a record at/after end (written after Faust took its highwater) is Faust's to read
    records = [Rec(0, b"a", b"1"), Rec(1, b"a", b"2"), Rec(2, b"b", b"1"), Rec(5, b"z", b"9")]
    db = _db(tmp_path)
    job = Job(*TP, start=0, end=5, db=db, offset_key=OFFSET_KEY)
    log = FakeChangelog(records[:3], 0, 5, per_fetch=10)
    asyncio.run(run([job], log.fetch, log.position, deadline=float("inf")))
    assert job.done and db[OFFSET_KEY] == b"4"
    apply(job, records, 6)  # nothing past end is applied
    assert db.get(b"z") is None


def test_resumes_from_the_persisted_offset(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db[b"a"] = b"1"
    db[OFFSET_KEY] = b"1"
    records = [Rec(0, b"a", b"1"), Rec(1, b"b", b"1"), Rec(2, b"a", None), Rec(3, b"c", b"1")]
    span = plan(int(db[OFFSET_KEY]), 3, 1)
    assert span == (2, 4)
    job = Job(*TP, *span, db=db, offset_key=OFFSET_KEY)
    log = FakeChangelog(records, 2, 4, per_fetch=1)
    asyncio.run(run([job], log.fetch, log.position, deadline=float("inf")))
    assert dict(db.items()) == {b"c": b"1", OFFSET_KEY: b"3"}
    assert job.restored == 2


def test_a_deadline_leaves_a_consistent_prefix_for_faust(tmp_path: Path) -> None:
    records = [Rec(i, f"k{i}".encode(), b"v") for i in range(10)]
    db = _db(tmp_path)
    job = Job(*TP, start=0, end=10, db=db, offset_key=OFFSET_KEY)
    log = FakeChangelog(records, 0, 10, per_fetch=4)
    ticks = iter([0.0, 0.5, 2.0])  # the second loop check is past the deadline
    asyncio.run(run([job], log.fetch, log.position, deadline=1.0, clock=lambda: next(ticks)))
    assert not job.done and job.persisted == 7 and job.position == 8
    # what the database holds is exactly what its offset says
    assert sorted(k for k in db.keys() if k != OFFSET_KEY)  # noqa: SIM118 (Rdict iterates differently) == [f"k{i}".encode() for i in range(8)]
    assert db[OFFSET_KEY] == b"7"


def test_a_cancelled_restore_keeps_what_it_wrote_with_its_offset(tmp_path: Path) -> None:
    db = _db(tmp_path)
    job = Job(*TP, start=0, end=10, db=db, offset_key=OFFSET_KEY)
    calls = 0

    async def fetch() -> Mapping[tuple[str, int], Sequence[Record]]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise asyncio.CancelledError  # Faust cancels the step on a new rebalance
        return {TP: [Rec(0, b"a", b"1")]}

    async def position(tp: tuple[str, int]) -> int:
        return 1

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run([job], fetch, position, deadline=float("inf")))
    db.close()
    reopened = _db(tmp_path)
    assert reopened[b"a"] == b"1" and reopened[OFFSET_KEY] == b"0"
