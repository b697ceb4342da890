"""The batch runner with a shadow policy (in-memory ports): live outputs untouched, only
ShadowDiff records leave the shadow, its deadlines fire in the same merge, and a crash
between the shadow's and the live save neither loses nor repeats a diff."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streams.codecs import default_codecs
from streams.domain import LeadEvent, LeadState, Policy, SalesOutcome, load_policy, step
from streams.domain.shadow import diff
from streams.engine.memory import (
    MemoryConsumer,
    MemoryShadowStore,
    MemoryStore,
    Record,
    replay,
    replay_with_shadow,
)
from streams.engine.runner import BatchRunner, RunnerConfig
from streams.engine.shadow import ShadowRunner
from streams.paths import DEFAULT_POLICY
from streams.processor import Inbound, LeadProcessor
from tests.support.kafka_io import HOUR, lead_event
from tests.support.shadow import threshold_policy
from tests.support.stories import BANT
from tests.support.workload import generate

CODECS = default_codecs()
LIVE = load_policy(DEFAULT_POLICY)
T0 = 1_767_225_600_000
NOW = T0 + 400 * HOUR
TOPICS = {"events": "events", "outcomes": "outcomes"}


@pytest.fixture(scope="module")
def shadow70(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return load_policy(threshold_policy(tmp_path_factory.mktemp("p") / "p70.yaml", 70))


def _records(recs: list[tuple[str, dict[str, Any]]]) -> list[Record]:
    return [Record(src, r["lead_id"].encode(),
                   CODECS.encode("LeadEvent" if src == "events" else "SalesOutcome", r))
            for src, r in recs]


def _proc(policy: Policy) -> LeadProcessor:
    return LeadProcessor(policy, CODECS, {})


def _per_lead_reference(recs: list[tuple[str, dict[str, Any]]], shadow: Policy
                        ) -> dict[str, dict[str, Any]]:
    """The diffs by stepping each lead through both policies in event time (no runner):
    valid while no SLA deadline falls due (the workload spans 40 hours)."""
    order = sorted(range(len(recs)), key=lambda i: (recs[i][1]["occurred_at"],
                                                    recs[i][0] != "events", i))
    live: dict[str, LeadState | None] = {}
    shad: dict[str, LeadState | None] = {}
    out = {}
    for i in order:
        src, rec = recs[i]
        model: LeadEvent | SalesOutcome = (LeadEvent.from_record(rec) if src == "events"
                                           else SalesOutcome.from_record(rec))
        lead = rec["lead_id"]
        a, b = live.get(lead), shad.get(lead)
        if a is None and src == "outcomes":
            continue  # dead-lettered by both
        a2, oa = step(a, model, LIVE, NOW)
        b2, ob = step(b, model, shadow, NOW)
        found = diff(a, a2, oa, b, b2, ob, model, (LIVE, shadow))
        if found is not None:
            out[found.diff_id] = found.to_record()
        live[lead], shad[lead] = a2, b2
    return out


def test_live_outputs_unchanged_and_diffs_as_each_lead_would_give(shadow70: Policy) -> None:
    recs = generate(6000, 600, NOW, seed=5)
    inputs = _records(recs)
    alone = replay(inputs, _proc(LIVE), 2, NOW)
    live, shadow = replay_with_shadow(inputs, _proc(LIVE), _proc(shadow70), 2, NOW)
    assert [o.value for o in live.outbound] == [o.value for o in alone.outbound]
    assert {o.logical for o in shadow.outbound} == {"shadow_diffs"}
    got = {o.record["diff_id"]: o.record for o in shadow.outbound}
    assert len(got) == len(shadow.outbound), "a diff id twice"
    assert got == _per_lead_reference(recs, shadow70)
    kinds = Counter(k for d in got.values() for k in d["kinds"])
    assert kinds["HANDOFF"] > 0 and kinds["STAGE"] > 0
    # the shadow kept its own states: fewer MQLs at 70 than at 50
    mql = ("MQL", "SAL", "SQL", "OPPORTUNITY", "WON", "LOST")
    assert (sum(s.stage.value in mql for s in shadow.states.values())
            < sum(s.stage.value in mql for s in live.states.values()))


def test_the_shadows_own_sla_deadlines_fire_in_the_merge(shadow70: Policy) -> None:
    """Live hands off at 60 points, the shadow at 100, two hours apart: each breaches its
    own 48 h SLA (an escalation each), fired inline before the next record."""
    lead = "L1"
    story = [lead_event("e1", lead, "CONTENT_DOWNLOAD", T0, attributes=BANT),
             lead_event("e2", lead, "WEBINAR_ATTENDED", T0 + HOUR),
             lead_event("e3", lead, "PRICING_PAGE_VISIT", T0 + 2 * HOUR),
             lead_event("e4", lead, "DEMO_REQUESTED", T0 + 4 * HOUR),
             lead_event("e5", lead, "EMAIL_OPENED", T0 + 100 * HOUR)]
    live, shadow = replay_with_shadow(_records([("events", r) for r in story]), _proc(LIVE),
                                      _proc(shadow70), 1, NOW)
    handoffs = [(o.path.value, o.handed_off_at) for o in live.outputs
                if type(o).__name__ == "QualifiedLead"]
    shadow_handoffs = [(o.path.value, o.handed_off_at) for o in shadow.outputs
                       if type(o).__name__ == "QualifiedLead"]
    sla = 48 * HOUR
    assert handoffs == [("SCORE", T0 + 2 * HOUR), ("ESCALATION", T0 + 2 * HOUR + sla)]
    assert shadow_handoffs == [("SCORE", T0 + 4 * HOUR), ("ESCALATION", T0 + 4 * HOUR + sla)]
    assert live.states[lead].ho_escalated and shadow.states[lead].ho_escalated
    # nothing of the shadow's reaches the live store, nor the other way round
    assert all(type(o).__name__ != "ShadowDiff" for o in live.outbound)
    assert [d.cause_event_id for d in shadow.diffs] == ["e3", "e4"]


def _inbound(inputs: list[Record]) -> tuple[list[Inbound], dict[tuple[str, int], int]]:
    ends: dict[tuple[str, int], int] = {("events", 0): 0, ("outcomes", 0): 0}
    out = []
    for r in inputs:
        tp = (r.source, 0)
        out.append(Inbound(r.source, r.source, 0, ends[tp], r.key, r.value))
        ends[tp] += 1
    return out, ends


def test_a_crash_between_the_shadow_and_the_live_save(shadow70: Policy,
                                                      tmp_path: Path) -> None:
    """The shadow's states (and diffs) are saved first: a crash before the live save leaves
    the shadow ahead. The restart applies those records to the live side only: every diff
    exactly once, the same as without the crash."""
    inputs = _records(generate(3000, 300, NOW, seed=9))
    _, clean = replay_with_shadow(inputs, _proc(LIVE), _proc(shadow70), 1, NOW)
    # the shadow saved through record 2000, the live side only through 1200
    _, ahead = replay_with_shadow(inputs[:2000], _proc(LIVE), _proc(shadow70), 1, NOW)
    behind = replay(inputs[:1200], _proc(LIVE), 1, NOW)
    assert ahead.progress[0].offsets != behind.progress[0].offsets
    inbound, ends = _inbound(inputs)
    consumer = MemoryConsumer(assigned=set(ends), ends=ends)
    runner = BatchRunner(_proc(LIVE), consumer, behind,
                         RunnerConfig(topics=TOPICS, sla_clock="event"),
                         wall_clock=lambda: NOW,
                         shadow=ShadowRunner(_proc(shadow70), LIVE, ahead))
    asyncio.run(runner.run(inbound))
    ids = [d.diff_id for d in ahead.diffs]
    assert len(ids) == len(set(ids)), "a diff repeated after the crash"
    assert [d.to_record() for d in ahead.diffs] == [d.to_record() for d in clean.diffs]
    assert {k: v.stage for k, v in ahead.states.items()} == {
        k: v.stage for k, v in clean.states.items()}
    full = replay(inputs, _proc(LIVE), 1, NOW)
    assert {k: v.stage for k, v in behind.states.items()} == {
        k: v.stage for k, v in full.states.items()}


def test_without_a_shadow_the_runner_has_none() -> None:
    store = MemoryStore()
    runner = BatchRunner(_proc(LIVE), MemoryConsumer(), store,
                         RunnerConfig(topics=TOPICS), wall_clock=lambda: NOW)
    assert runner.shadow is None
    assert isinstance(MemoryShadowStore(), MemoryStore)


def test_open_deadlines_tell_the_shadows_apart(shadow70: Policy) -> None:
    from streams.engine.merge import PartitionMerge
    from streams.engine.shadow import SHADOW_TAG

    merge = PartitionMerge(("events", "outcomes"))
    merge.schedule("L1", 10)
    merge.schedule(SHADOW_TAG + "L1", 20)
    merge.schedule(SHADOW_TAG + "L2", 30)
    assert merge.open_deadlines() == 3
    assert merge.open_deadlines_tagged(SHADOW_TAG) == 2
