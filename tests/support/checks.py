"""The checks every reliability scenario makes: live outputs, final states, dead letters
and partition progress against an offline replay of the same input through the same
processor (contract 1b: the offline replay is the reference)."""

from __future__ import annotations

from typing import Any

from streams.settings import Settings
from tests.support.replay import (
    live_dead_letters,
    live_outputs,
    live_progress,
    live_states,
    offline,
)


def compare_with_offline(settings: Settings, records: list[tuple[str, dict[str, Any]]],
                         now: int, label: str, *, exact_input: bool = True) -> dict[str, int]:
    """The live worker's outputs (id and content) and final states against the
    time-ordered offline replay of the same records (each topic's records in the order
    they were sent). With ``exact_input`` (``records`` are all the input topics hold, so
    offsets agree) also every dead letter by (topic, partition, offset, error type) and
    each partition's progress (stream time, offsets its states include)."""
    topics = {name: settings.topic(name) for name in ("events", "outcomes")}
    want = offline(records, now, settings.partitions, topics)
    expected = want.outputs
    got, copies, differing = live_outputs(settings)
    states = live_states(settings)
    letters = live_dead_letters(settings)
    missing = sorted(set(expected) - set(got))
    invented = sorted(set(got) - set(expected))
    changed = [i for i in expected if i in got and got[i] != expected[i]]
    wrong_states = [k for k in want.states if states.get(k) != want.states[k]]
    extra_states = sorted(set(states) - set(want.states))
    letters_missing = sorted(set(want.dead_letters) - set(letters)) if exact_input else []
    letters_invented = sorted(set(letters) - set(want.dead_letters)) if exact_input else []
    progress = live_progress(settings) if exact_input else {}
    wrong_progress = [(p, want.progress[p], progress.get(p)) for p in sorted(want.progress)
                      if exact_input and (progress.get(p) is None
                                          or (progress[p].stream_time, progress[p].offsets)
                                          != (want.progress[p].stream_time,
                                              want.progress[p].offsets))]
    figures = {
        "sent": len(records),
        "compared": len(expected) + len(want.states) + sum(want.dead_letters.values()),
        "expected_outputs": len(expected),
        "expected_states": len(want.states),
        "expected_dead_letters": sum(want.dead_letters.values()),
        "dead_lettered": sum(letters.values()),
        "lost": len(missing),
        "invented": len(invented),
        "changed": len(changed),
        "duplicate_outputs": sum(c - 1 for c in copies.values()),
        "duplicates_differing": len(differing),
        "states_differing": len(wrong_states) + len(extra_states),
        "dead_letters_differing": len(letters_missing) + len(letters_invented),
        "progress_differing": len(wrong_progress),
    }
    # what the scenario exercised: deadlines falling due inside the history
    figures["escalations"] = sum(1 for r in expected.values() if r.get("path") == "ESCALATION")
    figures["sla_breaches"] = sum(1 for r in expected.values()
                                  if "feedback_id" in r and r["type"] == "SLA_BREACHED")
    figures["differences"] = sum(figures[k] for k in (
        "lost", "invented", "changed", "duplicates_differing", "states_differing",
        "dead_letters_differing", "progress_differing"))
    print(f"\n[{label}] " + " ".join(f"{k}={v}" for k, v in figures.items()))
    assert not missing, missing[:10]
    assert not invented, invented[:10]
    assert not differing, differing[:10]
    assert not changed, [(i, got[i], expected[i]) for i in changed[:2]]
    assert not wrong_states, wrong_states[:10]
    assert not extra_states, extra_states[:10]
    assert not letters_missing, letters_missing[:10]
    assert not letters_invented, letters_invented[:10]
    assert not wrong_progress, wrong_progress[:4]
    return figures

