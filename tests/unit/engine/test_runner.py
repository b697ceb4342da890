"""The batch runner against in-memory ports (as getsentry/arroyo tests its strategies)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.codecs import default_codecs
from streams.domain import load_policy
from streams.engine.memory import MemoryConsumer, MemoryStore, Record, replay
from streams.engine.runner import BatchRunner, RunnerConfig
from streams.paths import DEFAULT_POLICY
from streams.processor import Inbound, LeadProcessor
from tests.support.kafka_io import HOUR, lead_event, outcome
from tests.support.stories import BANT

TOPICS = {"events": "ev", "outcomes": "out"}
T0 = 1_767_225_600_000  # 2026-01-01
NOW = T0 + 400 * HOUR
CODECS = default_codecs()
POLICY = load_policy(DEFAULT_POLICY)


def _processor() -> LeadProcessor:
    return LeadProcessor(POLICY, CODECS, {})


def _inbound(source: str, offset: int, rec: dict[str, Any], partition: int = 0) -> Inbound:
    kind = "LeadEvent" if source == "events" else "SalesOutcome"
    return Inbound(source, TOPICS[source], partition, offset, rec["lead_id"].encode(),
                   CODECS.encode(kind, rec))


class Clock:
    def __init__(self) -> None:
        self.mono = 0.0

    def __call__(self) -> float:
        return self.mono


def _runner(clock: str = "event", max_idle: float = 2.0,
            consumer: MemoryConsumer | None = None, store: MemoryStore | None = None,
            mono: Clock | None = None) -> tuple[BatchRunner, MemoryConsumer, MemoryStore]:
    consumer = consumer or MemoryConsumer(assigned={("ev", 0), ("out", 0)})
    store = store or MemoryStore()
    runner = BatchRunner(_processor(), consumer, store,
                         RunnerConfig(topics=TOPICS, sla_clock=clock, max_idle=max_idle),
                         wall_clock=lambda: NOW, monotonic=mono or Clock())
    return runner, consumer, store


def _mql_story(lead: str, t: int) -> list[dict[str, Any]]:
    """Events that make a lead MQL (BANT profile, demo request, pricing)."""
    return [lead_event(f"{lead}-1", lead, "DEMO_REQUESTED", t, attributes=BANT),
            lead_event(f"{lead}-2", lead, "PRICING_PAGE_VISIT", t + 1000),
            lead_event(f"{lead}-3", lead, "WEBINAR_ATTENDED", t + 2000),
            lead_event(f"{lead}-4", lead, "CONTENT_DOWNLOAD", t + 3000)]


def test_an_outcome_never_overtakes_the_events_before_it_on_a_backlog() -> None:
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0)
    accept = outcome("o1", "L1", "ACCEPTED", T0 + HOUR)
    consumer.ends = {("ev", 0): len(events), ("out", 0): 1}
    # The outcomes partition is fetched first: its record must wait for the events.
    asyncio.run(runner.run([_inbound("outcomes", 0, accept)]))
    assert store.outputs == [] and consumer.commits == {}
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate(events)]))
    stages = [(o.from_stage, o.to_stage) for o in store.outputs
              if type(o).__name__ == "StageTransition"]
    assert stages[-1] == ("MQL", "SAL")
    assert ("RAW", "SAL") not in stages
    assert consumer.commits == {("ev", 0): 4, ("out", 0): 1}


def test_buffered_records_are_not_marked_done() -> None:
    runner, consumer, _store = _runner()
    consumer.ends = {("ev", 0): 5, ("out", 0): 3}
    asyncio.run(runner.run([_inbound("events", 0, lead_event("e0", "L1", "EMAIL_OPENED",
                                                              T0 + 10))]))
    # the outcomes input lags and may hold something earlier: nothing processed yet
    assert consumer.commits == {}


def test_a_lagging_input_is_waited_for_at_most_max_idle() -> None:
    mono = Clock()
    runner, consumer, store = _runner(max_idle=2.0, mono=mono)
    consumer.ends = {("ev", 0): 1, ("out", 0): 9}
    asyncio.run(runner.run([_inbound("events", 0, lead_event("e0", "L1", "EMAIL_OPENED",
                                                              T0))]))
    assert consumer.commits == {}
    mono.mono = 1.9
    asyncio.run(runner.poll())
    assert consumer.commits == {}
    mono.mono = 2.0
    asyncio.run(runner.poll())
    assert consumer.commits == {("ev", 0): 1}
    assert store.states["L1"].events == 1


def test_unknown_lead_outcome_is_dead_lettered_and_creates_no_lead() -> None:
    runner, consumer, store = _runner()
    consumer.ends = {("ev", 0): 0, ("out", 0): 1}
    asyncio.run(runner.run([_inbound("outcomes", 0, outcome("o1", "ghost", "ACCEPTED", T0))]))
    assert "ghost" not in store.states
    [letter] = [o.record for o in store.outbound if o.logical == "dead_letter"]
    assert letter["error_type"] == "VALIDATION" and "unknown lead" in letter["error"]


def test_event_clock_deadline_fires_inline_before_the_first_later_record() -> None:
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0)
    later = lead_event("late", "L2", "EMAIL_OPENED", T0 + 60 * HOUR)
    consumer.ends = {("ev", 0): len(events) + 1, ("out", 0): 0}
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate([*events, later])]))
    handoffs = [o for o in store.outputs if type(o).__name__ == "QualifiedLead"]
    assert [h.path for h in handoffs] == ["SCORE", "ESCALATION"]
    escalation = handoffs[1]
    assert escalation.handed_off_at == handoffs[0].sla_due_at  # now = the deadline
    # the escalation comes before the record that passed the deadline
    assert store.outputs.index(escalation) < len(store.outputs)
    assert store.states["L2"].events == 1
    assert runner.stream_time(0) == T0 + 60 * HOUR
    assert store.progress[0].stream_time == T0 + 60 * HOUR


def test_wall_clock_deadline_fires_only_when_caught_up() -> None:
    runner, consumer, store = _runner(clock="wall")
    events = _mql_story("L1", T0)  # due T0 + 48 h, long before NOW
    consumer.ends = {("ev", 0): len(events) + 1, ("out", 0): 0}
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate(events)]))
    # one more event exists unread: a contact in time could still be in there
    assert [type(o).__name__ for o in store.outputs].count("QualifiedLead") == 1
    asyncio.run(runner.run([_inbound("events", 4, lead_event("x", "L1", "EMAIL_OPENED",
                                                              T0 + 5000))]))
    paths = [o.path for o in store.outputs if type(o).__name__ == "QualifiedLead"]
    assert paths == ["SCORE", "ESCALATION"]


def test_stream_time_and_deadlines_survive_a_restart() -> None:
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0)
    consumer.ends = {("ev", 0): len(events), ("out", 0): 0}
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate(events)]))
    assert list(store.deadlines[0]) == ["L1"]
    again, _consumer2, _ = _runner(consumer=MemoryConsumer(
        assigned={("ev", 0), ("out", 0)}, ends={("ev", 0): 5, ("out", 0): 0},
        commits=dict(consumer.commits)), store=store)
    asyncio.run(again.run([_inbound("events", 4, lead_event("x", "L9", "EMAIL_OPENED",
                                                            T0 + 49 * HOUR))]))
    assert again.stream_time(0) == T0 + 49 * HOUR
    paths = [o.path for o in store.outputs if type(o).__name__ == "QualifiedLead"]
    assert paths == ["SCORE", "ESCALATION"]


def test_a_rebalance_drops_buffered_records_and_reads_them_again() -> None:
    runner, consumer, _store = _runner()
    consumer.ends = {("ev", 0): 2, ("out", 0): 5}
    asyncio.run(runner.run([_inbound("events", 0, lead_event("a", "L1", "EMAIL_OPENED", T0)),
                            _inbound("events", 1, lead_event("b", "L1", "EMAIL_OPENED",
                                                             T0 + 1))]))
    assert consumer.commits == {}
    consumer.gen = 2
    asyncio.run(runner.poll())
    assert consumer.seeks[-1] == {("ev", 0): 0}
    assert runner.merges[0].buffered() == 0


@pytest.mark.parametrize("partitions", [1, 3])
def test_offline_replay_is_the_same_for_any_batching_of_a_backlog(partitions: int) -> None:
    records = []
    for k in range(6):
        lead = f"L{k}"
        records += [Record("events", lead.encode(), CODECS.encode("LeadEvent", e))
                    for e in _mql_story(lead, T0 + k * HOUR)]
        records.append(Record("outcomes", lead.encode(), CODECS.encode(
            "SalesOutcome", outcome(f"o{k}", lead, "ACCEPTED", T0 + (k + 50) * HOUR))))
    store = replay(records, _processor(), partitions, NOW)
    ids = [o.record.get("handoff_id") or o.record.get("transition_id")
           or o.record.get("feedback_id") for o in store.outbound]
    assert len(ids) == len(set(ids))
    # deadlines at T0 + k + 48 h pass before the acceptances at T0 + k + 50 h
    paths = sorted(o.path for o in store.outputs if type(o).__name__ == "QualifiedLead")
    assert paths.count("ESCALATION") >= 1


def test_after_a_crash_before_the_commit_applied_records_are_not_applied_again() -> None:
    runner, consumer, store = _runner()
    ghost = outcome("o1", "L1", "MEETING_HELD", T0)  # before the lead exists: dead letter
    events = _mql_story("L1", T0 + 1000)
    batch = [_inbound("outcomes", 0, ghost)] + [_inbound("events", i, e)
                                                  for i, e in enumerate(events)]
    consumer.ends = {("ev", 0): len(events), ("out", 0): 1}
    asyncio.run(runner.run(batch))
    before = (len(store.outbound), store.states["L1"].stage)
    assert store.progress[0].offsets == {"events": 4, "outcomes": 1}
    # SIGKILL before the offsets were committed: a new owner reads everything again
    again, consumer2, _ = _runner(consumer=MemoryConsumer(
        assigned={("ev", 0), ("out", 0)}, ends=dict(consumer.ends)), store=store)
    asyncio.run(again.run(batch))
    assert (len(store.outbound), store.states["L1"].stage) == before
    # nothing processed again, and what the states include is committed (were those the
    # partition's last records, nothing else would ever commit them: lag for good)
    assert consumer2.commits == {("ev", 0): 4, ("out", 0): 1}
    # and the consumer was sent past what the states include, not made to read it again
    assert consumer2.seeks == [{("ev", 0): 4, ("out", 0): 1}]


def _ids(store: MemoryStore) -> dict[str, Any]:
    """Output id -> record; a duplicate (a batch sent again after a crash) must be equal."""
    out: dict[str, Any] = {}
    for o in store.outbound:
        r = o.record
        key = r.get("handoff_id") or r.get("transition_id") or r.get("feedback_id") or str(r)
        assert out.setdefault(key, r) == r, (key, out[key], r)
    return out


def test_a_crash_between_the_deadlines_and_the_states_fires_the_older_deadline() -> None:
    """The deadline table is written before the states: after a crash in between, it may
    hold the deadline of a state the changelog does not have yet (the escalation's), and
    the restart must still fire the stored state's own (the first hand-off's)."""
    events = _mql_story("L1", T0)  # handed off, due T0 + 48 h
    passing = [lead_event("p1", "L2", "EMAIL_OPENED", T0 + 49 * HOUR),  # fires the first
               lead_event("p2", "L2", "EMAIL_OPENED", T0 + 100 * HOUR)]  # and the second
    first = [_inbound("events", i, e) for i, e in enumerate(events)]
    second = [_inbound("events", len(events) + i, e) for i, e in enumerate(passing)]
    ends = {("ev", 0): len(events) + len(passing), ("out", 0): 0}
    reference, consumer, expected = _runner()
    consumer.ends = dict(ends)
    asyncio.run(reference.run(first))
    asyncio.run(reference.run(second))

    runner, consumer, store = _runner()
    consumer.ends = dict(ends)
    asyncio.run(runner.run(first))
    store.crash_before_states = True
    with pytest.raises(RuntimeError):
        asyncio.run(runner.run(second[:1]))  # breach + escalation (due T0 + 72 h) lost
    store.crash_before_states = False
    again, _, _ = _runner(consumer=MemoryConsumer(assigned={("ev", 0), ("out", 0)},
                                                  ends=dict(ends),
                                                  commits=dict(consumer.commits)),
                          store=store)
    asyncio.run(again.run(second))
    assert _ids(store) == _ids(expected)
    assert store.states == expected.states


def test_records_of_a_partition_no_longer_assigned_are_not_applied() -> None:
    """A fetch made before a rebalance can still hold records of a partition the rebalance
    gave to another worker: only that worker may apply them."""
    runner, consumer, store = _runner()
    consumer.ends = {("ev", 0): 1, ("out", 0): 0, ("ev", 1): 1, ("out", 1): 0}
    asyncio.run(runner.run([_inbound("events", 0, lead_event("a", "L1", "EMAIL_OPENED", T0),
                                     partition=1)]))
    assert "L1" not in store.states and consumer.commits == {}


def test_an_input_that_looks_caught_up_on_a_stale_high_watermark_is_waited_for() -> None:
    """A live stream: the outcome comes from a newer fetch than the events partition's high
    watermark; the lead's events written before it are on the broker but not fetched yet.
    The broker's end offset, asked now, says so: the outcome waits for them."""
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0)
    accept = outcome("o1", "L1", "ACCEPTED", T0 + HOUR)
    consumer.ends = {("ev", 0): 0, ("out", 0): 1}  # events: nothing seen by the last fetch
    consumer.broker_ends = {("ev", 0): len(events)}  # but the broker has them
    asyncio.run(runner.run([_inbound("outcomes", 0, accept)]))
    assert consumer.end_queries == 1
    assert store.outputs == [] and consumer.commits == {}  # waits: not "unknown lead"
    consumer.ends[("ev", 0)] = len(events)
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate(events)]))
    stages = [(o.from_stage, o.to_stage) for o in store.outputs
              if type(o).__name__ == "StageTransition"]
    assert stages[-1] == ("MQL", "SAL")


def test_an_input_that_runs_dry_in_a_drain_is_checked_against_the_broker() -> None:
    """The outcomes queue holds a record when the drain starts and runs dry during it;
    its consumer high watermark (from an older fetch) says it was read to the end, but an
    outcome written before the events now waiting exists: the events wait for it (a
    SIGKILL test saw the events applied first, with whole fetches on)."""
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0 + 1000)
    early = outcome("o0", "L9", "ACCEPTED", T0)  # an unknown lead: dead-lettered
    accept = outcome("o1", "L1", "ACCEPTED", T0 + 1500)  # between L1's first two events
    consumer.ends = {("ev", 0): len(events), ("out", 0): 1}
    consumer.broker_ends = {("out", 0): 2}
    asyncio.run(runner.run([_inbound("outcomes", 0, early),
                            *(_inbound("events", i, e) for i, e in enumerate(events))]))
    assert consumer.end_queries == 1
    assert "L1" not in store.states  # the events wait for the outcome before them
    consumer.ends[("out", 0)] = 2
    asyncio.run(runner.run([_inbound("outcomes", 1, accept)]))
    assert [(o.from_stage, o.to_stage) for o in store.outputs
            if type(o).__name__ == "StageTransition"][:2] == [("RAW", "ENGAGED"),
                                                               ("ENGAGED", "SAL")]


def test_a_checked_input_whose_records_never_come_is_waited_for_max_idle_only() -> None:
    mono = Clock()
    runner, consumer, store = _runner(mono=mono)
    events = _mql_story("L1", T0 + 1000)
    early = outcome("o0", "L9", "ACCEPTED", T0)
    consumer.ends = {("ev", 0): len(events), ("out", 0): 1}
    consumer.broker_ends = {("out", 0): 2}  # written, but no fetch brings it
    asyncio.run(runner.run([_inbound("outcomes", 0, early),
                            *(_inbound("events", i, e) for i, e in enumerate(events))]))
    assert "L1" not in store.states
    mono.mono = 1.0
    asyncio.run(runner.poll())
    assert "L1" not in store.states
    mono.mono = 2.5  # max_idle (2 s) after the wait started
    asyncio.run(runner.poll())
    assert store.states["L1"].events == len(events)


def test_a_partition_with_nothing_committed_starts_at_its_log_start() -> None:
    """Nothing committed yet, and the first record that comes is not the log's first (a
    fetch dropped around a rebalance moved the position on): the records before it are
    read again, not taken as never written."""
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0)
    consumer.ends = {("ev", 0): len(events), ("out", 0): 0}
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate(events)][2:]))
    assert "L1" not in store.states and consumer.commits == {}
    assert consumer.seeks == [{("ev", 0): 0}]  # read again from the log start
    asyncio.run(runner.run([_inbound("events", i, e) for i, e in enumerate(events)]))
    assert store.states["L1"].events == len(events)


def test_a_partition_whose_start_is_not_known_waits_for_the_next_batch() -> None:
    """The broker does not answer where an uncommitted partition starts: its records are
    not applied on a guess (the first offset read), but read again once it answers."""
    runner, consumer, store = _runner()
    events = _mql_story("L1", T0)
    consumer.ends = {("ev", 0): len(events), ("out", 0): 0}
    consumer.failing_start_queries = 1
    records = [_inbound("events", i, e) for i, e in enumerate(events)]
    asyncio.run(runner.run(records[2:]))
    assert "L1" not in store.states and consumer.commits == {}
    assert consumer.seeks == [{("ev", 0): 2}]  # read again from where it was
    asyncio.run(runner.run(records[2:]))  # the broker answers: a gap, read from the start
    assert consumer.seeks[-1] == {("ev", 0): 0}
    asyncio.run(runner.run(records))
    assert store.states["L1"].events == len(events)
