"""`leadflow backtest` replays exactly as the worker does (issue 13 item 6, contract 1b).

The reference is ``streams.engine.memory.replay``: the worker's own ``BatchRunner`` and
``LeadProcessor`` on in-memory ports, every record on its murmur2 partition. On the same
records, the backtest replay must give the same domain outputs (ids, content, order per
lead; ``reasons`` aside: backtest runs ``explain=False``) and the same final states, for
any partition count. The history has SLA deadlines falling due inside it in every way the
worker meets them: hand-offs never contacted (breach, escalation, escalation breach),
contacts after the deadline, outcomes for leads never seen, duplicates, records out of time
order within an input, and malformed records (the worker dead-letters them; the export
the backtest reads leaves them out).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from streams.backtest import read_history, replay
from streams.backtest.parallel import run
from streams.codecs import default_codecs
from streams.demo import export, generate
from streams.domain import (
    LeadState,
    MarketingFeedback,
    QualifiedLead,
    encode_state,
    load_policy,
)
from streams.engine.memory import Record
from streams.engine.memory import replay as worker_replay
from streams.paths import DEFAULT_POLICY
from streams.processor import LeadProcessor

NOW = 1_790_000_000_000
HOUR = 3_600_000
POLICY = load_policy(DEFAULT_POLICY)
ID_FIELDS = ("transition_id", "handoff_id", "feedback_id")


def _outcome(i: int, lead: str, type_: str, at: int) -> dict[str, Any]:
    return {"event_id": f"extra-{i}", "lead_id": lead, "type": type_, "occurred_at": at,
            "amount": None, "rep_id": None, "reason": None}


def _history(leads: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                            list[Record]]:
    """(events, outcomes, malformed records): a demo history reshaped so that deadlines
    fall due inside it, in each input's send order."""
    demo = generate(seed, leads, NOW, POLICY)
    events = [dict(r.record) for r in demo.records if r.kind == "LeadEvent" and r.record]
    outcomes = [dict(r.record) for r in demo.records if r.kind == "SalesOutcome" and r.record]
    codecs = default_codecs()
    bad = [Record(r.logical, r.key, r.value(codecs)) for r in demo.records
           if r.kind == "malformed"]
    # Hand-offs as the domain makes them (what the demo's outcomes follow).
    first = {}
    for o in replay(read_history(_files(events, outcomes), NOW + 24 * HOUR).inputs,
                    POLICY).outputs:
        if isinstance(o, QualifiedLead) and o.lead_id not in first:
            first[o.lead_id] = o.handed_off_at
    rng = random.Random(seed)
    handed = sorted(first)
    rng.shuffle(handed)
    silent, late = set(handed[:10]), handed[10:20]
    # never contacted: breach at 48 h, escalation, then the escalation's own breach
    outcomes = [o for o in outcomes if o["lead_id"] not in silent and o["lead_id"] not in late]
    n = 0
    for lead in late:  # contacted after the deadline: breach + escalation, then contact
        n += 1
        outcomes.append(_outcome(n, lead, "CONTACTED", first[lead] + 60 * HOUR))
    for k in range(5):  # outcomes for leads never seen: dead-lettered, never a lead
        n += 1
        outcomes.append(_outcome(n, f"ghost-{k}", "ACCEPTED", NOW - (k + 2) * 24 * HOUR))
    # duplicates (same event id, sent again later) and a few records out of time order
    events += [dict(e) for e in rng.sample(events, 20)]
    for _ in range(10):
        i, j = sorted(rng.sample(range(len(events)), 2))
        events[i], events[j] = events[j], events[i]
    outcomes.sort(key=lambda o: o["occurred_at"])
    outcomes[3], outcomes[-3] = outcomes[-3], outcomes[3]
    return events, outcomes, bad


_DIR: list[Path] = []


def _files(events: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> list[Path]:
    d = _DIR[0]
    ev, so = d / "events.jsonl", d / "outcomes.jsonl"
    ev.write_text("".join(json.dumps(e) + "\n" for e in events))
    so.write_text("".join(json.dumps(o) + "\n" for o in outcomes))
    return [ev, so]


def _by_lead(outputs: list[Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in outputs:
        rec = o.to_record()
        rec.pop("reasons", None)
        out[rec["lead_id"]].append(rec)
    return dict(out)


def _worker(events: list[dict[str, Any]], outcomes: list[dict[str, Any]], bad: list[Record],
            partitions: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, bytes], int]:
    codecs = default_codecs()
    records = [Record("events", e["lead_id"].encode(), codecs.encode("LeadEvent", e))
               for e in events]
    records += [Record("outcomes", o["lead_id"].encode(), codecs.encode("SalesOutcome", o))
                for o in outcomes]
    records += bad
    store = worker_replay(records, LeadProcessor(POLICY, codecs, {}), partitions,
                          NOW + 24 * HOUR)
    unknown = sum(1 for o in store.outbound
                  if o.logical == "dead_letter" and "unknown lead" in str(o.record))
    return _by_lead(store.outputs), _encoded(store.states), unknown


def _encoded(states: dict[str, LeadState]) -> dict[str, bytes]:
    return {lid: encode_state(s) for lid, s in states.items()}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Record], list[Path]]:
    _DIR[:] = [tmp_path_factory.mktemp("same")]
    events, outcomes, bad = _history(400, 11)
    return events, outcomes, bad, _files(events, outcomes)


@pytest.mark.parametrize("partitions", [1, 2, 4])
def test_backtest_replays_what_the_worker_does(history: Any, partitions: int) -> None:
    events, outcomes, bad, files = history
    want_outputs, want_states, want_unknown = _worker(events, outcomes, bad, partitions)
    inputs = read_history(files, NOW + 24 * HOUR).inputs
    rep = replay(inputs, POLICY, partitions=partitions)
    got = _by_lead(rep.outputs)
    assert got.keys() == want_outputs.keys()
    for lead, recs in want_outputs.items():
        assert got[lead] == recs, lead
    assert _encoded(rep.states) == want_states
    # the history exercises what it claims to
    flat = rep.outputs
    breaches = [o for o in flat if isinstance(o, MarketingFeedback)
                and o.type.value == "SLA_BREACHED"]
    assert len({o.reason for o in breaches}) == 2  # a hand-off's breach and an escalation's
    assert any(isinstance(o, QualifiedLead) and o.path.value == "ESCALATION" for o in flat)
    assert rep.unknown_outcomes == want_unknown >= 5
    assert not any(lid.startswith("ghost") for lid in rep.states)
    for shards in (2, 3):  # sharded the same: the outputs' order keys merge them exactly
        parts = [replay(inputs, POLICY, k, shards, partitions=partitions)
                 for k in range(shards)]
        assert _by_lead([o for p in parts for o in p.outputs]) == got
        assert sum(p.ticks for p in parts) == rep.ticks


def test_deadlines_follow_each_partition_s_own_stream_time(history: Any) -> None:
    """One global clock (all partitions' records) fires deadlines that a partition's own
    stream time has not reached yet: partitions 1 and 4 differ somewhere, and each equals
    the worker on its own partition count (above)."""
    _, _, _, files = history
    inputs = read_history(files, NOW + 24 * HOUR).inputs
    one, four = (replay(inputs, POLICY, partitions=n) for n in (1, 4))
    assert one.ticks != four.ticks or _by_lead(one.outputs) != _by_lead(four.outputs)


def test_a_larger_demo_export_equals_the_worker(tmp_path: Path) -> None:
    demo = generate(3, 1500, NOW, POLICY)
    ev, so = export(demo, tmp_path)
    events = [json.loads(line) for line in ev.read_text().splitlines()]
    outcomes = [json.loads(line) for line in so.read_text().splitlines()]
    codecs = default_codecs()
    bad = [Record(r.logical, r.key, r.value(codecs)) for r in demo.records
           if r.kind == "malformed"]
    want_outputs, want_states, _ = _worker(events, outcomes, bad, 4)
    res = run(read_history([ev, so], NOW + 24 * HOUR).inputs, [POLICY], 1, 4)
    assert res.figures[0].records == len(events) + len(outcomes)
    rep = replay(read_history([ev, so], NOW + 24 * HOUR).inputs, POLICY, partitions=4)
    assert _by_lead(rep.outputs) == want_outputs
    assert _encoded(rep.states) == want_states
