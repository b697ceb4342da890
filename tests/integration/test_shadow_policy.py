"""A shadow policy on the real broker (contract 4a): a copy of the default policy with the
MQL threshold at 70 instead of 50 runs beside the live one. The worker writes exactly the
ShadowDiff records the offline replay predicts for the same records, its live outputs are
those of a run without a shadow, and nothing of the shadow's reaches the sales or marketing
topics."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from streams.admin import create_topics
from streams.codecs import default_codecs
from streams.domain import load_policy
from streams.domain.kpis import window_start
from streams.engine.memory import Record, replay_with_shadow
from streams.paths import DEFAULT_POLICY
from streams.processor import LeadProcessor
from streams.settings import Settings
from tests.support.chaos import Producer, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.replay import OUTPUT_KINDS, read_topic
from tests.support.shadow import threshold_policy
from tests.support.worker import WorkerProcess, metric_sum
from tests.support.workload import generate

KINDS = ("STAGE", "HANDOFF", "PATH", "QUEUE", "SCORE_BAND")


def _offline(records: list[tuple[str, dict[str, Any]]], now: int, partitions: int,
             shadow_path: Path) -> tuple[Any, Any]:
    codecs = default_codecs()
    live = LeadProcessor(load_policy(DEFAULT_POLICY), codecs, {})
    shadow = LeadProcessor(load_policy(shadow_path), codecs, {})
    inputs = [Record(logical, rec["lead_id"].encode(),
                     codecs.encode("LeadEvent" if logical == "events" else "SalesOutcome", rec))
              for logical, rec in records]
    return replay_with_shadow(inputs, live, shadow, partitions, now)


def test_shadow_diffs_equal_the_offline_replay(worker_env: dict[str, str],
                                               tmp_path: Path) -> None:
    shadow_path = threshold_policy(tmp_path / "mql70.yaml", 70)
    env = dict(worker_env, LEADFLOW_SLA_CLOCK="event", LEADFLOW_SHADOW_POLICY=str(shadow_path))
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = generate(8000, 800, now, seed=23)
    live_expected, shadow_expected = _offline(records, now, settings.partitions, shadow_path)
    expected = {o.record["diff_id"]: o.record for o in shadow_expected.outbound}
    assert expected, "the threshold change must make a difference in this workload"

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(120)
        producer = Producer(settings, records, seconds=4.0)
        producer.start()
        producer.join()
        assert producer.error is None, producer.error
        wait_caught_up(settings, worker)

        codecs = default_codecs()
        raw = read_topic(settings, settings.topic("shadow_diffs"))
        got_list = [codecs.decode("ShadowDiff", v) for _, v in raw if v is not None]
        assert all(k == d["lead_id"].encode() for (k, _), d in zip(raw, got_list, strict=True))
        got = {d["diff_id"]: d for d in got_list}
        kinds = Counter(k for d in got_list for k in d["kinds"])
        print(f"\n[shadow] records={len(records)} diffs={len(got_list)} expected="
              f"{len(expected)} " + " ".join(f"{k}={kinds[k]}" for k in KINDS))
        assert len(got) == len(got_list), "a diff written twice"
        assert sorted(set(expected) - set(got))[:10] == []
        assert sorted(set(got) - set(expected))[:10] == []
        assert [i for i in expected if got[i] != expected[i]][:5] == []

        # the counter counts the same, per kind
        text = worker.get_text("/metrics")
        for kind in KINDS:
            assert metric_sum(text, "leadflow_shadow_diffs_total", kind=kind) == kinds[kind]

        # /leads/{id}: the shadow's stage next to the live one, as the offline shadow has it
        lead = next(d["lead_id"] for d in got_list if "STAGE" in d["kinds"])
        status, body = worker.get(f"/leads/{lead}")
        assert status == 200, body
        assert body["stage"] == live_expected.states[lead].stage.value
        assert body["shadow"]["stage"] == shadow_expected.states[lead].stage.value
        assert body["shadow"]["policy_version"] == load_policy(shadow_path).version

        # /kpis: the shadow's hand-offs per window beside the live ones
        window_ms = load_policy(DEFAULT_POLICY).sla.report_window_ms
        per_window = Counter(window_start(o.handed_off_at, window_ms)
                             for o in shadow_expected.outputs
                             if type(o).__name__ == "QualifiedLead")
        deadline = time.monotonic() + 30
        while True:  # the KPI view follows its changelog: wait for it to show the counts
            _, kpis = worker.get("/kpis")
            shown = {w["window_start"]: w["shadow"]["handoffs"] for w in kpis["windows"]}
            if shown and all(shown.get(w, 0) == n for w, n in per_window.items()):
                break
            assert time.monotonic() < deadline, (shown, per_window)
            time.sleep(0.5)
        live_handoffs = sum(w["totals"]["handoffs"] for w in kpis["windows"])
        assert sum(per_window.values()) < live_handoffs  # a higher bar hands off less
    finally:
        worker.stop()

    # live outputs as without a shadow (the offline live-only replay), nothing invented
    figures = compare_with_offline(settings, records, now, "shadow beside live")
    assert figures["lost"] == 0 and figures["invented"] == 0
    live_version = load_policy(DEFAULT_POLICY).version
    for logical, (kind, _) in OUTPUT_KINDS.items():
        for _, value in read_topic(settings, settings.topic(logical)):
            assert value is not None
            assert codecs.decode(kind, value)["policy_version"] == live_version, logical
    expected_live = Counter(o.logical for o in live_expected.outbound)
    for logical in OUTPUT_KINDS:
        assert len(read_topic(settings, settings.topic(logical))) == expected_live[logical]
