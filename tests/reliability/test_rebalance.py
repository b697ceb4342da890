"""Issue 9.3 and issue 13 item 6 (d): a second worker joins mid-stream and later leaves;
the result equals the offline time-ordered replay record for record (three weeks of
history, SLA deadlines falling due inside it, event clock), /leads/{id} keeps answering
throughout, and no worker stalls: an exit 75 (the stall watchdog) fails the test, it is
never restarted to make the test pass."""

from __future__ import annotations

import time
from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import Producer, lag, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.worker import WorkerProcess
from tests.support.workload import history


def assert_running(worker: WorkerProcess, name: str) -> None:
    """A worker that exited (75: the stall watchdog gave up on it) fails the scenario."""
    assert worker.proc is not None
    code = worker.proc.poll()
    assert code is None, f"worker {name} exited with {code} mid-scenario:\n{worker.tail()}"


def test_worker_joins_and_leaves_mid_stream(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = {**worker_env, "LEADFLOW_PARTITIONS": "4", "LEADFLOW_STALL_TIMEOUT": "30",
           "LEADFLOW_SLA_CLOCK": "event"}
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = history(30_000, now, seed=21)
    a = WorkerProcess({**env, "LEADFLOW_DATA_DIR": str(tmp_path / "a")}, tmp_path / "a.log")
    b = WorkerProcess({**env, "LEADFLOW_DATA_DIR": str(tmp_path / "b")}, tmp_path / "b.log")
    a.start().wait_ready()
    # long enough that b joins and leaves while records still arrive (a keeps up with it)
    producer = Producer(settings, records, seconds=45.0)
    producer.start()
    answered = failed = 0
    lead = next(r["lead_id"] for logical, r in records if logical == "events")
    try:
        time.sleep(4)  # let a work alone for a while: b joins mid-stream, not at the start
        b.start().wait_ready(120)  # joins mid-stream
        assert producer.is_alive(), "the producer finished before b joined: not mid-stream"
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # lookups keep answering, from either worker
            for name, w in (("a", a), ("b", b)):
                assert_running(w, name)
                status, _ = w.get(f"/leads/{lead}")
                answered += status == 200
                failed += status >= 500
            time.sleep(0.5)
        assert b.stop() == 0  # leaves mid-stream, gracefully
        left_mid_stream = producer.is_alive() or lag(settings) > 0
        deadline = time.monotonic() + 300
        while producer.is_alive() or lag(settings) > 0:
            assert time.monotonic() < deadline, a.tail()
            assert_running(a, "a")
            time.sleep(0.5)
        assert producer.error is None, producer.error
        wait_caught_up(settings, a, timeout=60)
        status, body = a.get(f"/leads/{lead}")
        assert status == 200 and body["lead_id"] == lead
        assert_running(a, "a")
    finally:
        a.stop()
        b.stop()
    logs = list(tmp_path.glob("*.log"))
    resyncs = sum(p.read_text(errors="replace").count('event="resync"') for p in logs)
    print(f"\n[rebalance] lookups answered={answered} server errors={failed} "
          f"partitions read again after a skip (resyncs)={resyncs} "
          f"b left mid-stream={left_mid_stream}")
    assert answered > 0
    assert left_mid_stream
    figures = compare_with_offline(settings, records, now, "rebalance join+leave 30k")
    assert figures["differences"] == 0
    assert figures["escalations"] > 0 and figures["sla_breaches"] > 0, figures
