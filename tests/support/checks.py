"""The checks every reliability scenario makes: live outputs and states against an offline
replay of the same input through the same processor."""

from __future__ import annotations

from typing import Any

from streams.settings import Settings
from tests.support.replay import count_dead_letters, live_outputs, live_states, offline


def compare_with_offline(settings: Settings, records: list[tuple[str, dict[str, Any]]],
                         now: int, label: str) -> dict[str, int]:
    """The live worker's outputs and final states against the time-ordered offline replay
    of the same records (each topic's records in the order they were sent)."""
    expected, expected_states = offline(records, now, settings.partitions)
    got, copies, differing = live_outputs(settings)
    states = live_states(settings)
    missing = sorted(set(expected) - set(got))
    invented = sorted(set(got) - set(expected))
    changed = [i for i in expected if i in got and got[i] != expected[i]]
    wrong_states = [k for k in expected_states if states.get(k) != expected_states[k]]
    figures = {
        "sent": len(records),
        "expected_outputs": len(expected),
        "dead_lettered": count_dead_letters(settings),
        "lost": len(missing),
        "invented": len(invented),
        "duplicate_outputs": sum(c - 1 for c in copies.values()),
        "duplicates_differing": len(differing),
        "states_differing": len(wrong_states),
    }
    print(f"\n[{label}] " + " ".join(f"{k}={v}" for k, v in figures.items()))
    assert not missing, missing[:10]
    assert not invented, invented[:10]
    assert not differing, differing[:10]
    assert not changed, [(i, got[i], expected[i]) for i in changed[:2]]
    assert not wrong_states, wrong_states[:10]
    return figures
