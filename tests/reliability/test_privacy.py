"""Issue 9.6: ERASURE_REQUESTED removes the lead's personal data from state and from the
state changelog; /leads shows only the erased stage; later events change nothing; logs and
metric labels never contain an email."""

from __future__ import annotations

import time
from pathlib import Path

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.chaos import wait_caught_up
from tests.support.kafka_io import HOUR, Io, lead_event, now_ms
from tests.support.replay import read_topic
from tests.support.stories import seed_story
from tests.support.worker import WorkerProcess

EMAIL = b"vp@acme.example"


def _changelog_values(settings: Settings, lead: str) -> list[bytes | None]:
    topic = f"{settings.app_id}-leads-changelog"
    return [v for k, v in read_topic(settings, topic) if k == lead.encode()]


def test_erasure_removes_personal_data(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = {**worker_env, "LEADFLOW_ERASURE_COMPACTION_SECONDS": "2"}
    settings = Settings.from_env(env)
    create_topics(settings)
    io = Io(settings)
    worker = WorkerProcess(env, tmp_path / "w.log").start()
    t = now_ms() - 2 * HOUR
    try:
        worker.wait_ready()
        io.send_events(seed_story("gdpr-1", t))
        wait_caught_up(settings, worker)
        assert any(v and EMAIL in v for v in _changelog_values(settings, "gdpr-1"))
        io.send_events([lead_event("gdpr-erase", "gdpr-1", "ERASURE_REQUESTED", t + HOUR)])
        wait_caught_up(settings, worker)
        status, body = worker.get("/leads/gdpr-1")
        assert (status, body) == (200, {"lead_id": "gdpr-1", "stage": "ERASED", "shadow": None})
        # later events are ignored: still erased, nothing new learnt
        time.sleep(2.5)
        io.send_events([lead_event("gdpr-late", "gdpr-1", "DEMO_REQUESTED", t + 2 * HOUR,
                                   attributes={"email": EMAIL.decode()})])
        wait_caught_up(settings, worker)
        assert worker.get("/leads/gdpr-1") == (200, {"lead_id": "gdpr-1", "stage": "ERASED",
                                                      "shadow": None})
        values = _changelog_values(settings, "gdpr-1")
        # The tombstone may already be compacted away together with what it superseded.
        assert None in values or not any(v and EMAIL in v for v in values), values
        assert values[-1] is not None and EMAIL not in values[-1]
        # compaction drops the earlier values that held the email
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            io.send_events([lead_event(f"roll-{time.monotonic_ns()}", "gdpr-1", "EMAIL_OPENED",
                                       t + 3 * HOUR)])  # rolls the changelog segment
            if not any(v and EMAIL in v for v in _changelog_values(settings, "gdpr-1")):
                break
            time.sleep(3)
        else:
            raise AssertionError("personal data still in the changelog after compaction")
        metrics = worker.get_text("/metrics")
    finally:
        worker.stop()
        io.close()
    assert EMAIL.decode() not in metrics and "gdpr-1" not in metrics
    log = (tmp_path / "w.log").read_bytes()
    assert EMAIL not in log and b"@acme" not in log
