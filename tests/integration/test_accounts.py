"""Accounts on the real broker (contract 4b): lead events of two companies' buying groups
(and free-mail leads that belong to no account) in; the lead agent's signals go through
the repartition topic to the account agent, which writes exactly the AccountQualified
records the offline reference predicts; GET /accounts/{id} and the metric agree. One
account is contacted in time; the other is not, and a later company's events move the
partitions' time past its SLA due: its escalation record is the reference's too."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.admin import create_topics
from streams.codecs import default_codecs
from streams.domain import load_policy
from streams.engine.accounts import LOGICAL, signal_topic
from streams.engine.memory import MemoryAccountStore, Record, replay, replay_accounts
from streams.paths import POLICY_DIR
from streams.processor import LeadProcessor
from streams.settings import Settings
from tests.support.accounts import buying_group
from tests.support.chaos import Producer, wait_caught_up
from tests.support.kafka_io import HOUR, lead_event, now_ms, outcome
from tests.support.replay import read_topic
from tests.support.worker import WorkerProcess, metric_sum

ACCOUNTS_POLICY = POLICY_DIR / "accounts.yaml"


def workload(t: int) -> list[tuple[str, dict[str, Any]]]:
    events = buying_group("acme", t) + buying_group("zeta", t + HOUR)
    # a third company with only two engaged contacts never qualifies
    events += [e for e in buying_group("solo", t) if "-arch" not in e["lead_id"]
               and "-mgr" not in e["lead_id"]]
    # free-mail leads belong to no account
    events += [lead_event(f"fm{i}-e1", f"fm{i}", "DEMO_REQUESTED", t + i,
                          attributes={"email": f"p{i}@gmail.com", "title": "CFO"})
               for i in range(5)]
    # two days later another company: every lead partition's time passes acme's SLA due
    # (48 h), and so the account partitions' time
    events += buying_group("late", t + 50 * HOUR)
    events.sort(key=lambda e: e["occurred_at"])
    out: list[tuple[str, dict[str, Any]]] = [("events", e) for e in events]
    # zeta's director is contacted by sales 2 hours after zeta qualified: its SLA is met
    contact = ("outcomes", outcome("o-zeta", "zeta-dir", "CONTACTED", t + 3 * HOUR))
    out.insert(next(i for i, (_, e) in enumerate(out) if e["occurred_at"] > t + 3 * HOUR),
               contact)
    return out


def expected_accounts(records: list[tuple[str, dict[str, Any]]], now: int, partitions: int
                      ) -> MemoryAccountStore:
    """The offline reference: the lead replay, then the account side over its signals."""
    codecs = default_codecs()
    policy = load_policy(ACCOUNTS_POLICY)
    kinds = {"events": "LeadEvent", "outcomes": "SalesOutcome"}
    leads = replay([Record(name, r["lead_id"].encode(), codecs.encode(kinds[name], r))
                    for name, r in records], LeadProcessor(policy, codecs, {}), partitions,
                   now)
    return replay_accounts(leads.outbound, policy, codecs, partitions, now)


def signals_committed(settings: Settings) -> bool:
    topic = signal_topic(settings.app_id)
    consumer = KafkaConsumer(bootstrap_servers=settings.broker_hosts,
                             group_id=settings.app_id, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.partitions)]
        ends = consumer.end_offsets(parts)
        return all((consumer.committed(tp) or 0) >= end for tp, end in ends.items())
    finally:
        consumer.close()


def test_lead_events_to_account_qualified(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(worker_env, LEADFLOW_SLA_CLOCK="event", LEADFLOW_POLICY=str(ACCOUNTS_POLICY))
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = workload(now - 60 * HOUR)
    expected = {o.record["qualification_id"]: o.record
                for o in expected_accounts(records, now, settings.partitions).outbound
                if o.kind == "AccountQualified"}
    assert sorted(expected) == ["aq:acme.example:1", "aq:acme.example:1:esc",
                                "aq:late.example:1", "aq:zeta.example:1"]

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(120)
        producer = Producer(settings, records, seconds=2.0)
        producer.start()
        producer.join()
        assert producer.error is None, producer.error
        wait_caught_up(settings, worker)
        deadline = time.monotonic() + 60
        while not signals_committed(settings):
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.5)

        codecs = default_codecs()
        raw = read_topic(settings, settings.topic("qualified_accounts"))
        got = [codecs.decode("AccountQualified", v) for _, v in raw if v is not None]
        assert all(k == g["account_id"].encode() for (k, _), g in zip(raw, got, strict=True))
        print(f"\n[accounts] records={len(records)} qualified={len(got)} "
              f"signals={len(read_topic(settings, signal_topic(settings.app_id)))}")
        assert sorted(g["qualification_id"] for g in got) == sorted(expected)
        # every field as the reference has it (contract 1b: the account side merges the
        # lead partitions' signals in event time)
        for g in got:
            assert g == expected[g["qualification_id"]]
            assert len(g["contacts"]) >= 3 and g["score"] >= 120
            assert "@" not in repr(g)

        status, body = worker.get("/accounts/acme.example")
        assert status == 200, body
        assert body["status"] == "QUALIFIED"
        assert body["qualification"]["qualification_id"] == "aq:acme.example:1"
        assert {c["lead_id"] for c in body["contacts"]} == {
            "acme-cfo", "acme-dir", "acme-arch", "acme-mgr"}
        assert "@" not in repr(body)
        assert body["qualification"]["escalated"] is True
        assert body["qualification"]["queue"] == "escalation"
        status, body = worker.get("/accounts/zeta.example")
        assert status == 200 and body["qualification"]["contacted_at"] == now - 57 * HOUR
        assert body["qualification"]["escalated"] is False
        status, body = worker.get("/accounts/solo.example")
        assert status == 200 and body["status"] == "NOT_QUALIFIED" and body["why_not"]
        status, _ = worker.get("/accounts/gmail.com")
        assert status == 404

        # /kpis: accounts qualified per window and queue, as the reference has them (the
        # worker follows sales.qualified-accounts: wait until it has read both)
        day = load_policy(ACCOUNTS_POLICY).sla.report_window_ms
        want: dict[int, dict[str, int]] = {}
        for r in expected.values():
            if r["qualification_id"].endswith(":esc"):
                continue  # a re-route, not a qualification
            by_queue = want.setdefault(r["qualified_at"] - r["qualified_at"] % day, {})
            by_queue[r["queue"]] = by_queue.get(r["queue"], 0) + 1
        deadline = time.monotonic() + 30
        while True:
            status, kpis = worker.get("/kpis")
            assert status == 200, kpis
            shown = {w["window_start"]: w["accounts"]["qualified_by_queue"]
                     for w in kpis["windows"] if w["accounts"]["qualified"]}
            if shown == want or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert shown == want

        text = worker.get_text("/metrics")
        assert metric_sum(text, "leadflow_account_qualifications_total") == 3
        assert metric_sum(text, "leadflow_account_sla_breaches_total") == 1
        assert LOGICAL  # (the repartition topic's logical name, for readers)
    finally:
        worker.stop()
