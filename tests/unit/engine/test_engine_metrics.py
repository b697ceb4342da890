"""streams.engine.metrics: lag arithmetic, counted sends, the sensor, table sizes, wiring;
and the worker command's logging (leadflow's handler, not Faust's)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP

from streams import metrics
from streams.engine.metrics import EngineSensor, consumer_lag, count_sends, table_keys
from streams.settings import Settings

EVENTS, TICKS, CHANGELOG = "x.leads.events", "app-sla-ticks", "app-leads-changelog"


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


class FakeConsumer:
    def __init__(self, high: dict[TP, int | None], committed: dict[TP, int],
                 earliest: dict[TP, int]) -> None:
        self._high, self._earliest = high, earliest
        self._committed_offset: defaultdict[TP, int | None] = defaultdict(lambda: None)
        self._committed_offset.update(committed)
        self.earliest_asked: list[TP] = []

    def assignment(self) -> set[TP]:
        return set(self._high)

    def highwater(self, tp: TP) -> int | None:
        return self._high[tp]

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        self.earliest_asked.extend(tps)
        return {tp: self._earliest[tp] for tp in tps if tp in self._earliest}


def test_lag_is_highwater_minus_committed_for_input_partitions_only() -> None:
    e0, e1, t0, c0, t1 = TP(EVENTS, 0), TP(EVENTS, 1), TP(TICKS, 0), TP(CHANGELOG, 0), TP(TICKS, 1)
    consumer = FakeConsumer(
        high={e0: 8, e1: 10, t0: 4, c0: 99, t1: None},
        committed={e0: 5, t0: 4, c0: 1},
        earliest={e1: 2},
    )
    lag = asyncio.run(consumer_lag(consumer, [EVENTS, TICKS]))
    # e1 never committed: counted from the log start; t1's high watermark is unknown.
    assert lag == {e0: 3, e1: 8, t0: 0}
    assert consumer.earliest_asked == [e1]
    assert t1 not in consumer._committed_offset  # reading does not insert defaults


def test_lag_is_never_negative() -> None:
    tp = TP(EVENTS, 0)
    consumer = FakeConsumer(high={tp: 3}, committed={tp: 5}, earliest={})
    assert asyncio.run(consumer_lag(consumer, [EVENTS])) == {tp: 0}


class FakeProducer:
    def __init__(self) -> None:
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   partition: int | None, timestamp: float | None,
                   headers: Any) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut


def test_count_sends_counts_acknowledged_records_by_topic_once() -> None:
    engine = metrics.EngineMetrics([EVENTS, "x.leads.transitions"])
    producer = FakeProducer()
    count_sends(producer, engine)
    count_sends(producer, engine)  # idempotent: never counts twice
    before = sample("leadflow_messages_sent_total", topic="x.leads.transitions")
    before_other = sample("leadflow_messages_sent_total", topic="other")

    async def go() -> None:
        ok = await producer.send("x.leads.transitions", b"k", b"v", None, None, None)
        failed = await producer.send("x.leads.transitions", b"k", b"v", None, None, None)
        unknown = await producer.send("lead-42@example.com", b"k", b"v", None, None, None)
        ok.set_result(object())
        failed.set_exception(RuntimeError("broker down"))
        unknown.set_result(object())
        await asyncio.sleep(0)
        assert failed.exception() is not None

    asyncio.run(go())
    assert sample("leadflow_messages_sent_total", topic="x.leads.transitions") == before + 1
    assert sample("leadflow_messages_sent_total", topic="other") == before_other + 1
    assert sample("leadflow_messages_sent_total", topic="lead-42@example.com") == 0


def test_sensor_counts_messages_in_commits_and_readiness() -> None:
    engine = metrics.EngineMetrics([EVENTS])
    sensor = EngineSensor(engine)
    received = sample("leadflow_messages_received_total", topic=EVENTS)
    commits = sample("leadflow_commit_seconds_count")
    sensor.on_message_in(TP(EVENTS, 0), 7, object())
    sensor.on_message_in(TP(EVENTS, 1), 8, object())
    state = sensor.on_commit_initiated(object())
    sensor.on_commit_completed(object(), state)
    sensor.on_commit_completed(object(), None)  # no start time: ignored
    assert sample("leadflow_messages_received_total", topic=EVENTS) == received  # not yet
    sensor.flush()  # once per update of the engine metrics
    assert sample("leadflow_messages_received_total", topic=EVENTS) == received + 2
    assert sample("leadflow_commit_seconds_count") == commits + 1
    engine.set_ready(True)
    sensor.on_rebalance_start(object())
    assert sample("leadflow_ready") == 0


class FakeDb:
    def __init__(self, estimate: int) -> None:
        self.estimate = estimate

    def get(self, key: bytes) -> bytes | None:
        return b"p" if key == b"reserved" and self.estimate else None

    def property_int_value(self, name: str) -> int:
        assert name == "rocksdb.estimate-num-keys"
        return self.estimate


class FakeStore:
    def __init__(self, *estimates: int) -> None:
        self.dbs = [FakeDb(e) for e in estimates]

    def _dbs_for_actives(self) -> Iterator[FakeDb]:
        yield from self.dbs


class FakeTable:
    def __init__(self, data: Any, n: int) -> None:
        self.data, self.n = data, n

    def __len__(self) -> int:
        return self.n


def test_table_keys_never_iterate_a_rocksdb_store() -> None:
    assert table_keys(FakeTable(dict.fromkeys([b"a", b"b"]), 5)) == 2  # memory store
    assert table_keys(FakeTable(dict.fromkeys([b"a", b"reserved"]), 5), b"reserved") == 1
    # RocksDB: the store's own estimate, never a count (len would iterate the store)
    # (less Faust's own offset key in each partition's database)
    assert table_keys(FakeTable(FakeStore(3, 4, 0), -1)) == 5
    assert table_keys(FakeTable(FakeStore(1_000_001, 8), -1)) == 1_000_007
    # the leads table's progress record (one per partition that has one) is no lead
    assert table_keys(FakeTable(FakeStore(3, 4, 0), -1), b"reserved") == 3


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(app_id="obsunit", topic_prefix="u.", store="memory://",
                    data_dir=tmp_path / "data", **kw)


def test_attach_knows_every_topic_and_table_of_the_app(tmp_path: Path) -> None:
    from streams.app import create_app

    app = create_app(_settings(tmp_path))
    engine: metrics.EngineMetrics = app.leadflow.extras["engine_metrics"]  # type: ignore[attr-defined]
    for name in ("u.leads.events", "u.sales.outcomes",
                 "u.leads.transitions", "u.sales.qualified-leads", "u.marketing.feedback",
                 "u.marketing.sla-reports", "u.leads.dead-letter",
                 "obsunit-leads-changelog", "obsunit-sla-deadlines-changelog",
                 "obsunit-kpi-windows-changelog"):
        assert engine.topic_label(name) == name
    for table in ("leads", "sla-deadlines", "kpi-windows"):
        assert engine.table_label(table) == table
    assert engine.topic_label("someone@example.com") == metrics.OTHER
    assert any(isinstance(s, EngineSensor) for s in app.sensors)
    assert getattr(app.producer.send, "leadflow_counted", False)


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    logging.captureWarnings(False)


def test_worker_command_logs_json_and_keeps_faust_off_the_root_logger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_logging: None) -> None:
    import faust.worker

    import streams.preflight
    from streams.cli import worker as worker_cli

    seen: dict[str, Any] = {}

    class FakeWorker:
        spinner: object = object()

        def __init__(self, app: Any, **kwargs: Any) -> None:
            seen.update(kwargs, app=app, worker=self)

        def execute_from_commandline(self) -> None:
            logging.getLogger("faust.worker").info("chatter")  # library INFO: not shown
            logging.getLogger("faust.worker").warning("Slow for ann@example.com")
            raise SystemExit(0)

    for key in [k for k in os.environ if k.startswith("LEADFLOW_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LEADFLOW_LOG_FORMAT", "json")
    monkeypatch.setenv("LEADFLOW_STORE", "memory://")
    monkeypatch.setenv("LEADFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADFLOW_SASL_PASSWORD", "s3cret")
    monkeypatch.setattr(faust.worker, "Worker", FakeWorker)
    monkeypatch.setattr(streams.preflight, "preflight", lambda settings: None)
    # No broker and no port here: the internal topics and the web port are not checked.
    monkeypatch.setattr(streams.preflight, "ensure_internal_topics", lambda s, app: None)
    monkeypatch.setattr("streams.startup.check_web_port", lambda settings: None)
    buf = io.StringIO()
    monkeypatch.setattr("sys.stderr", buf)

    with pytest.raises(SystemExit):
        worker_cli.run()

    assert seen["override_logging"] is False and seen["quiet"] is True
    assert seen["worker"].spinner is None
    lines = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    events = [d.get("event") for d in lines]
    assert events[:2] == ["start", "policy_loaded"] and events[-1] == "stop"
    assert lines[0]["sasl_password"] == "***"
    assert "s3cret" not in buf.getvalue()
    assert "ann@example.com" not in buf.getvalue()
    assert [d["msg"] for d in lines if d["logger"] == "faust.worker"] == ["Slow for <email>"]
