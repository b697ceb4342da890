"""Two workers share the partitions; GET /leads/{id} answers for any lead from either."""

from __future__ import annotations

import time
from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import wait_caught_up
from tests.support.kafka_io import HOUR, Io, now_ms
from tests.support.stories import seed_story
from tests.support.worker import WorkerProcess


def test_two_workers_split_partitions_and_route_lead_lookups(worker_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    env = {**worker_env, "LEADFLOW_PARTITIONS": "4"}
    settings = Settings.from_env(env)
    create_topics(settings)
    a = WorkerProcess({**env, "LEADFLOW_DATA_DIR": str(tmp_path / "a")}, tmp_path / "a.log")
    b = WorkerProcess({**env, "LEADFLOW_DATA_DIR": str(tmp_path / "b")}, tmp_path / "b.log")
    a.start()
    b.start()
    try:
        a.wait_ready()
        b.wait_ready()
        io = Io(settings)
        leads = [f"two-{i}" for i in range(24)]
        t = now_ms() - HOUR
        for lead in leads:
            io.send_events(seed_story(lead, t))
        io.close()
        wait_caught_up(settings, a)
        deadline = time.monotonic() + 60
        pending = {(w.port, lead) for w in (a, b) for lead in leads}
        while pending and time.monotonic() < deadline:
            for port, lead in sorted(pending):
                worker = a if port == a.port else b
                status, body = worker.get(f"/leads/{lead}")
                if status == 200 and body["lead_id"] == lead and body["stage"] == "MQL":
                    pending.discard((port, lead))
            time.sleep(0.5)
        assert not pending, (sorted(pending)[:5], a.tail(10), b.tail(10))
        # KPIs: either worker merges every partition's aggregates (not just its own)
        def handoffs(w: WorkerProcess) -> int:
            return sum(r["totals"]["handoffs"] for r in w.get("/kpis")[1]["windows"])

        deadline = time.monotonic() + 30
        while (handoffs(a), handoffs(b)) != (24, 24) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert (handoffs(a), handoffs(b)) == (24, 24)
        # each worker owns part of the partitions, not all of them
        # (the lag gauges are refreshed each second: a worker ready a moment ago may not
        # have its series yet)
        deadline = time.monotonic() + 20
        while True:
            owned = [w.get_text("/metrics").count("leadflow_consumer_lag{") for w in (a, b)]
            if all(n > 0 for n in owned) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert all(n > 0 for n in owned), owned
    finally:
        a.stop()
        b.stop()
