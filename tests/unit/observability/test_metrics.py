"""streams.metrics: every contract metric is exported, and no label value is unbounded."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics as m

CONTRACT_METRICS = [
    "leadflow_events_total",
    "leadflow_dead_letters_total",
    "leadflow_stage_transitions_total",
    "leadflow_handoffs_total",
    "leadflow_sla_breaches_total",
    "leadflow_feedback_total",
    "leadflow_outcomes_total",
    "leadflow_processing_seconds",
    "leadflow_event_age_seconds",
    "leadflow_sla_open_handoffs",
    "leadflow_policy_info",
    "leadflow_idle_waits_total",
]
ENGINE_METRICS = [
    "leadflow_consumer_lag",
    "leadflow_messages_received_total",
    "leadflow_messages_sent_total",
    "leadflow_commit_seconds",
    "leadflow_table_keys",
    "leadflow_ready",
]
HOSTILE = [
    "ann.smith@example.com",
    "L-1234567",
    "lead:L-42:3",
    "x" * 500,
    "MQL\nleadflow_events_total 1e9",
    'evil"} 1\nfake_metric{a="',
    "Emea-SMB",
    "",
    " processed",
    "processed ",
    "../../etc/passwd",
    "DROP TABLE leads;",
    "müller@beispiel.de",
]


def _observe_everything_once() -> None:
    m.set_known_queues(["emea-smb", "escalation"])
    m.count_event("DEMO_VIEWED", "processed")
    m.count_dead_letter("DECODE")
    m.count_stage_transition("RAW", "ENGAGED")
    m.count_handoff("SCORE", "emea-smb")
    m.count_sla_breach("emea-smb")
    m.count_feedback("ACCEPTED")
    m.count_outcome("ACCEPTED")
    m.observe_processing(0.0003, 1)
    m.observe_event_age(2.5)
    m.count_idle_wait("outcomes")
    m.set_open_handoffs(3)
    m.set_policy_version("2024.06-1")
    m.set_sla_targets(
        max_breach_ratio=0.1,
        min_handoffs_per_window=100,
        max_handoffs_per_window=None,
        window_seconds=7 * 86400,
    )
    eng = m.EngineMetrics(topics=["leads.events", "sales.outcomes"], tables=["leads"])
    eng.set_lag("leads.events", 0, 12)
    eng.count_received("leads.events")
    eng.count_sent("leads.transitions")  # not in the known topics -> other
    eng.observe_commit(0.004)
    eng.set_table_keys("leads", 1000)
    eng.set_ready(True)


def _sample_names() -> set[str]:
    text = m.render().decode()
    names = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.add(sample.name)
    return names


def test_every_contract_and_engine_metric_is_rendered() -> None:
    _observe_everything_once()
    text = m.render().decode()
    names = _sample_names()
    for name in CONTRACT_METRICS + ENGINE_METRICS:
        if name.endswith("_seconds"):
            assert f"{name}_bucket" in names, name
            assert f"{name}_count" in names, name
        else:
            assert name in names, name
        assert f"# TYPE {name.removesuffix('_total')}" in text or f"# TYPE {name}" in text
    assert set(CONTRACT_METRICS + ENGINE_METRICS) <= m.METRIC_NAMES
    assert 'leadflow_policy_info{version="2024.06-1"} 1.0' in text


def test_metric_names_constant_matches_registry() -> None:
    _observe_everything_once()
    exposed = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in text_string_to_metric_families(m.render().decode())
    }
    # Info families are parsed as gauges named like the sample (…_info).
    assert exposed | {"leadflow_policy_info"} >= m.METRIC_NAMES
    ours = {n for n in exposed if n.startswith("leadflow_") and not n.endswith("_created")}
    assert ours <= m.METRIC_NAMES


def test_histogram_buckets_cover_submillisecond_to_seconds() -> None:
    assert min(m.PROCESSING_BUCKETS) <= 0.0001
    assert max(m.PROCESSING_BUCKETS) >= 10
    assert min(m.EVENT_AGE_BUCKETS) <= 0.001
    assert max(m.EVENT_AGE_BUCKETS) >= 86400
    assert list(m.PROCESSING_BUCKETS) == sorted(m.PROCESSING_BUCKETS)
    assert list(m.EVENT_AGE_BUCKETS) == sorted(m.EVENT_AGE_BUCKETS)


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_label_values_never_reach_the_exposition(bad: str) -> None:
    m.set_known_queues(["emea-smb", bad])  # even a configured queue must look safe
    m.count_event(bad, "processed")
    m.count_event("DEMO_VIEWED", bad)
    m.count_dead_letter(bad)
    m.count_stage_transition(bad, "MQL")
    m.count_stage_transition("RAW", bad)
    m.count_handoff(bad, "emea-smb")
    m.count_handoff("SCORE", bad)
    m.count_sla_breach(bad)
    m.count_feedback(bad)
    m.count_outcome(bad)
    eng = m.EngineMetrics(topics=["leads.events"], tables=["leads"])
    eng.set_lag(bad, 0, 1)
    eng.count_received(bad)
    eng.count_sent(bad)
    eng.set_table_keys(bad, 1)
    m.EngineMetrics(topics=["leads.events"]).set_lag("leads.events", 10**9, 1)

    text = m.render().decode()
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        for value in re.findall(r'="((?:[^"\\]|\\.)*)"', line):
            if bad:
                assert value != bad
                assert bad not in value
        assert "@" not in line
        assert "L-1234567" not in line
    assert 'partition="1000000000"' not in text
    # the exposition still parses: nothing broke out of a label
    list(text_string_to_metric_families(text))


@pytest.mark.parametrize(
    "bad", ["ann@example.com", "x" * 500, "v1\nleadflow_ready 0", 'v1"} 1', "", "v 1"]
)
def test_policy_version_that_is_not_a_version_is_invalid(bad: str) -> None:
    m.set_policy_version(bad)
    text = m.render().decode()
    assert 'leadflow_policy_info{version="invalid"} 1.0' in text
    assert "@" not in text
    m.set_policy_version("2024.06-1")
    assert 'leadflow_policy_info{version="2024.06-1"} 1.0' in m.render().decode()


def test_label_values_are_a_small_known_set() -> None:
    """After hostile input, every label value is an enum symbol, a known name or 'other'."""
    for bad in HOSTILE:
        m.count_event(bad, bad)
        m.count_handoff(bad, bad)
    allowed = (
        m.EVENT_TYPES
        | m.EVENT_RESULTS
        | m.DEAD_LETTER_ERROR_TYPES
        | m.STAGES
        | m.HANDOFF_PATHS
        | m.FEEDBACK_TYPES
        | m.OUTCOME_TYPES
        | {m.OTHER}
    )
    for family in text_string_to_metric_families(m.render().decode()):
        if family.name not in {
            "leadflow_events",
            "leadflow_dead_letters",
            "leadflow_stage_transitions",
            "leadflow_feedback",
            "leadflow_outcomes",
        }:
            continue
        for sample in family.samples:
            for value in sample.labels.values():
                assert value in allowed, (family.name, value)


def test_unknown_queue_is_other_and_known_queue_kept() -> None:
    m.set_known_queues(["na-enterprise"])
    assert m.queue_label("na-enterprise") == "na-enterprise"
    assert m.queue_label("apac") == m.OTHER
    assert m.queue_label("ann@example.com") == m.OTHER
    assert m.known_queues() == frozenset({"na-enterprise"})


def test_first_dead_letter_is_an_increase_from_zero() -> None:
    text = m.render().decode()
    for error_type in sorted(m.DEAD_LETTER_ERROR_TYPES):
        assert f'leadflow_dead_letters_total{{error_type="{error_type}"}}' in text


def _hist(h: object) -> dict[str, float]:
    """sample name (+ le) -> value of a histogram without labels."""
    fam = h.collect()[0]  # type: ignore[attr-defined]
    return {s.name + (f"[{s.labels['le']}]" if "le" in s.labels else ""): s.value
            for s in fam.samples if not s.name.endswith("_created")}


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before.get(k, 0.0), 9) for k in after}


def test_processing_seconds_is_per_input_record() -> None:
    """Issue 14.7: a batch of 250 records in 0.5 s is 250 observations of 2 ms, not one of
    0.5 s; the batch itself goes to leadflow_batch_processing_seconds."""
    per, batch = _hist(m.PROCESSING_SECONDS), _hist(m.BATCH_PROCESSING_SECONDS)
    m.observe_processing(0.5, 250)
    dp = _delta(_hist(m.PROCESSING_SECONDS), per)
    db = _delta(_hist(m.BATCH_PROCESSING_SECONDS), batch)
    assert dp["leadflow_processing_seconds_count"] == 250
    assert dp["leadflow_processing_seconds_sum"] == pytest.approx(0.5)
    assert dp["leadflow_processing_seconds_bucket[0.001]"] == 0
    assert dp["leadflow_processing_seconds_bucket[0.0025]"] == 250  # 2 ms each
    assert db["leadflow_batch_processing_seconds_count"] == 1
    assert db["leadflow_batch_processing_seconds_bucket[0.25]"] == 0
    assert db["leadflow_batch_processing_seconds_bucket[0.5]"] == 1


@pytest.mark.parametrize("seconds,records", [(0.5, 250), (0.0001, 1), (0.001, 1),
                                             (7.0, 3), (0.0, 5), (1e-9, 1000)])
def test_weighted_observe_equals_observing_each_record(seconds: float, records: int) -> None:
    from prometheus_client import CollectorRegistry, Histogram

    reg = CollectorRegistry()
    fast = Histogram("fast", "", buckets=m.PROCESSING_BUCKETS, registry=reg)
    slow = Histogram("slow", "", buckets=m.PROCESSING_BUCKETS, registry=reg)
    m._observe_many(fast, seconds / records, records)
    for _ in range(records):
        slow.observe(seconds / records)
    f = {k.replace("fast", "x"): v for k, v in _hist(fast).items()}
    s = {k.replace("slow", "x"): v for k, v in _hist(slow).items()}
    assert f.keys() == s.keys()
    for k in f:
        assert f[k] == pytest.approx(s[k]), k


def test_time_processing_observes_per_record_or_per_batch() -> None:
    per, batch = _hist(m.PROCESSING_SECONDS), _hist(m.BATCH_PROCESSING_SECONDS)
    with m.time_processing(40):
        pass
    assert _delta(_hist(m.PROCESSING_SECONDS), per)["leadflow_processing_seconds_count"] == 40
    per = _hist(m.PROCESSING_SECONDS)
    with m.time_processing():  # no record count: never one "record" of a whole batch
        pass
    assert _delta(_hist(m.PROCESSING_SECONDS), per)["leadflow_processing_seconds_count"] == 0
    db = _delta(_hist(m.BATCH_PROCESSING_SECONDS), batch)
    assert db["leadflow_batch_processing_seconds_count"] == 2


def test_process_and_python_collectors_are_on_leadflows_registry() -> None:
    names = _sample_names()
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                 "process_open_fds", "python_info", "python_gc_collections_total"):
        assert name in names, name


def test_idle_waits_and_resyncs_start_at_zero_and_count_by_input() -> None:
    text = m.render().decode()
    for inp in ("events", "outcomes"):
        assert f'leadflow_idle_waits_total{{input="{inp}"}}' in text
        assert f'leadflow_resyncs_total{{source="{inp}"}}' in text
    before = m.REGISTRY.get_sample_value("leadflow_idle_waits_total", {"input": "outcomes"})
    m.count_idle_wait("outcomes")
    m.count_idle_wait("ann@example.com")
    after = m.REGISTRY.get_sample_value("leadflow_idle_waits_total", {"input": "outcomes"})
    assert after == (before or 0) + 1
    assert m.REGISTRY.get_sample_value("leadflow_idle_waits_total", {"input": "other"}) == 1
    assert "ann@example.com" not in m.render().decode()


def test_registry_is_not_the_global_default() -> None:
    from prometheus_client import REGISTRY as GLOBAL

    assert m.REGISTRY is not GLOBAL
    assert GLOBAL.get_sample_value("leadflow_ready") is None
    assert m.CONTENT_TYPE.startswith("text/plain")
