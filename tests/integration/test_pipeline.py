"""The worker as a real process on the real broker: the seed stories of the contract."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.admin import create_topics
from streams.settings import Settings
from tests.support.kafka_io import HOUR, Io, lead_event, now_ms, outcome
from tests.support.stories import BANT, sales_to_won, seed_story
from tests.support.worker import WorkerProcess


@pytest.fixture(scope="module")
def pipeline(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    import uuid

    run = "p" + uuid.uuid4().hex[:8]
    tmp = tmp_path_factory.mktemp(run)
    env = {
        "LEADFLOW_BROKER": broker, "LEADFLOW_TOPIC_PREFIX": run + ".",
        "LEADFLOW_APP_ID": run, "LEADFLOW_DATA_DIR": str(tmp / "data"),
        "LEADFLOW_PARTITIONS": "2", "LEADFLOW_SLA_CHECK_INTERVAL": "0.5",
    }
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = WorkerProcess(env, tmp / "worker.log").start()
    worker.wait_ready()
    io = Io(settings)
    yield Pipeline(settings, worker, io)
    io.close()
    worker.stop()


class Pipeline:
    def __init__(self, settings: Settings, worker: WorkerProcess, io: Io) -> None:
        self.settings, self.worker, self.io = settings, worker, io

    def outputs(self, logical: str, kind: str, lead: str, want: int,
                timeout: float = 30.0, settle: float = 1.0) -> list[dict[str, Any]]:
        """This lead's records on an output topic, once `want` are there (plus `settle` s)."""
        deadline = time.monotonic() + timeout
        got: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            got = [r for r in self.io.read(logical, kind, timeout=2.0) if r.get("lead_id") == lead
                   or (kind == "DeadLetter" and r["key"] == lead.encode())]
            if len(got) >= want:
                time.sleep(settle)
                return [r for r in self.io.read(logical, kind, timeout=2.0)
                        if r.get("lead_id") == lead
                        or (kind == "DeadLetter" and r["key"] == lead.encode())]
            time.sleep(0.3)
        raise AssertionError(f"{lead}: wanted {want} on {logical}, got {got}\n"
                             f"{self.worker.tail()}")

    def lead(self, lead: str, until: Callable[[dict[str, Any]], bool] = lambda b: True,
             timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: Any = None
        while time.monotonic() < deadline:
            status, body = self.worker.get(f"/leads/{lead}")
            if status == 200 and until(body):
                return dict(body)
            time.sleep(0.3)
        raise AssertionError(f"/leads/{lead}: {body}")


def stages(transitions: list[dict[str, Any]]) -> list[str]:
    return [f"{t['from_stage']}>{t['to_stage']}" for t in transitions]


def test_seed_story_to_won(pipeline: Pipeline) -> None:
    t = now_ms() - 2 * HOUR
    pipeline.io.send_events(seed_story("seed-1", t))
    transitions = pipeline.outputs("transitions", "StageTransition", "seed-1", 2)
    assert stages(transitions) == ["RAW>ENGAGED", "ENGAGED>MQL"]
    assert all(tr["reasons"] and tr["policy_version"] for tr in transitions)
    (handoff,) = pipeline.outputs("qualified", "QualifiedLead", "seed-1", 1)
    assert handoff["path"] == "SCORE" and handoff["queue"] == "mid-market-na"
    assert handoff["sla_due_at"] - handoff["handed_off_at"] == 48 * HOUR
    assert handoff["handoff_id"].startswith("handoff:seed-1:")

    pipeline.io.send_outcomes(sales_to_won("seed-1", t))
    transitions = pipeline.outputs("transitions", "StageTransition", "seed-1", 6)
    assert stages(transitions)[2:] == ["MQL>SAL", "SAL>SQL", "SQL>OPPORTUNITY", "OPPORTUNITY>WON"]
    feedback = pipeline.outputs("feedback", "MarketingFeedback", "seed-1", 2)
    by_type = {f["type"]: f for f in feedback}
    assert by_type["CONVERTED"]["amount"] == 42_000.0
    assert by_type["CONVERTED"]["campaigns"] == ["c-ebook", "c-webinar"]
    view = pipeline.lead("seed-1", lambda b: b["stage"] == "WON")
    assert view["fit_grade"] == "A" and view["owner_rep_id"] == "rep-dan"


def test_badge_scan_alone_never_qualifies(pipeline: Pipeline) -> None:
    t = now_ms() - HOUR
    pipeline.io.send_events([lead_event(f"scan-{i}", "scan-1", "TRADE_SHOW_SCAN", t + i,
                                        attributes=BANT, rep_id="rep-x") for i in range(3)])
    view = pipeline.lead("scan-1", lambda b: b["events"] == 3)
    assert view["stage"] in ("RAW", "ENGAGED")
    assert pipeline.io.read("qualified", "QualifiedLead", timeout=2.0) == [] or all(
        r["lead_id"] != "scan-1" for r in pipeline.io.read("qualified", "QualifiedLead",
                                                           timeout=2.0))


def test_rep_referral_fast_tracks_to_the_referring_rep(pipeline: Pipeline) -> None:
    pipeline.io.send_events([lead_event("ref-e1", "ref-1", "REP_REFERRAL", now_ms() - HOUR,
                                        rep_id="rep-zoe",
                                        attributes={"need": "confirmed"})])
    (handoff,) = pipeline.outputs("qualified", "QualifiedLead", "ref-1", 1)
    assert handoff["path"] == "REFERRAL" and handoff["owner_rep_id"] == "rep-zoe"


def test_missed_sla_breaches_and_escalates(pipeline: Pipeline) -> None:
    t = now_ms() - 50 * HOUR  # handed off 50 h ago: the 48 h SLA is already past
    pipeline.io.send_events(seed_story("late-1", t))
    handoffs = pipeline.outputs("qualified", "QualifiedLead", "late-1", 2)
    assert [h["path"] for h in handoffs] == ["SCORE", "ESCALATION"]
    (breach,) = [f for f in pipeline.outputs("feedback", "MarketingFeedback", "late-1", 1)
                 if f["type"] == "SLA_BREACHED"]
    assert breach["campaigns"] == ["c-ebook", "c-webinar"]


def test_rejection_nurtures_then_requalifies(pipeline: Pipeline) -> None:
    t = now_ms() - 30 * HOUR
    pipeline.io.send_events(seed_story("rej-1", t))
    pipeline.outputs("qualified", "QualifiedLead", "rej-1", 1)
    pipeline.io.send_outcomes([outcome("rej-o1", "rej-1", "REJECTED", t + HOUR,
                                       reason="no budget this year")])
    (rejected,) = [f for f in pipeline.outputs("feedback", "MarketingFeedback", "rej-1", 1)
                   if f["type"] == "REJECTED"]
    assert rejected["reason"] == "no budget this year"
    pipeline.lead("rej-1", lambda b: b["stage"] == "NURTURE")
    pipeline.io.send_events([
        lead_event("rej-e4", "rej-1", "DEMO_REQUESTED", t + 2 * HOUR),
        lead_event("rej-e5", "rej-1", "DEMO_VIEWED", t + 3 * HOUR),
    ])
    handoffs = pipeline.outputs("qualified", "QualifiedLead", "rej-1", 2)
    assert len({h["handoff_id"] for h in handoffs}) == 2
    assert stages(pipeline.outputs("transitions", "StageTransition", "rej-1", 4))[-1] == (
        "NURTURE>MQL")


def test_duplicates_change_nothing_and_bad_input_is_dead_lettered(pipeline: Pipeline) -> None:
    t = now_ms() - HOUR
    story = seed_story("dup-1", t)
    pipeline.io.send_events(story + story)  # every event twice
    codecs = pipeline.io.codecs
    bad = [
        (b"garbage", "DECODE"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "DECODE"),  # unknown fingerprint
        (codecs.encode("LeadEvent", lead_event("x", "bad-1", "EMAIL_OPENED",
                                               now_ms() + 30 * 24 * HOUR)), "VALIDATION"),
        (codecs.encode("LeadEvent", lead_event("", "bad-1", "EMAIL_OPENED", t)), "VALIDATION"),
    ]
    for value, _ in bad:
        pipeline.io.send_raw("events", b"bad-1", value)
    pipeline.io.flush()
    letters = pipeline.outputs("dead_letter", "DeadLetter", "bad-1", len(bad))
    assert sorted(d["error_type"] for d in letters) == sorted(e for _, e in bad)
    assert {d["value"] for d in letters} == {v for v, _ in bad}
    # and the stream went on: the duplicated story produced exactly one set of outputs
    transitions = pipeline.outputs("transitions", "StageTransition", "dup-1", 2, settle=2.0)
    assert stages(transitions) == ["RAW>ENGAGED", "ENGAGED>MQL"]
    assert len(pipeline.outputs("qualified", "QualifiedLead", "dup-1", 1)) == 1
    assert pipeline.lead("dup-1")["events"] == 3


def test_kpis_and_unknown_lead(pipeline: Pipeline) -> None:
    status, body = pipeline.worker.get("/leads/nobody-here")
    assert status == 404 and body["error"] == "unknown lead"
    status, body = pipeline.worker.get("/kpis")
    assert status == 200 and body["current"]["report_id"].startswith("sla-report:")


def test_worker_refuses_inputs_that_are_not_co_partitioned(worker_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    settings = Settings.from_env(worker_env)
    admin = KafkaAdminClient(bootstrap_servers=settings.broker_hosts)
    admin.create_topics([NewTopic(settings.topic("outcomes"), 3, 1)])
    admin.close()
    create_topics(settings)  # the rest, with 2 partitions
    worker = WorkerProcess(worker_env, tmp_path / "w.log").start()
    assert worker.proc is not None and worker.proc.wait(60) == 1
    log = (tmp_path / "w.log").read_text()
    assert "must be co-partitioned" in log and "Traceback" not in log
