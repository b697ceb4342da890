"""The checks every reliability scenario makes: live outputs, final states, dead letters
and partition progress against an offline replay of the same input through the same
processor (contract 1b: the offline replay is the reference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.engine.memory import partition_of
from streams.paths import DEFAULT_POLICY
from streams.settings import Settings
from tests.support.replay import (
    live_account_states,
    live_accounts,
    live_dead_letters,
    live_outputs,
    live_progress,
    live_states,
    offline,
)


def compare_with_offline(settings: Settings, records: list[tuple[str, dict[str, Any]]],
                         now: int, label: str, *, exact_input: bool = True,
                         policy: Path = DEFAULT_POLICY) -> dict[str, int]:
    """The live worker's outputs (id and content) and final states against the
    time-ordered offline replay of the same records (each topic's records in the order
    they were sent). With ``exact_input`` (``records`` are all the input topics hold, so
    offsets agree) also every dead letter by (topic, partition, offset, error type) and
    each partition's progress (stream time, offsets its states include). With an accounts
    ``policy``, also every AccountQualified record (id and content) and account state."""
    topics = {name: settings.topic(name) for name in ("events", "outcomes")}
    want = offline(records, now, settings.partitions, topics, policy)
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
    account_diffs: list[str] = []
    if want.accounts or want.account_states:
        got_acc, _copies, acc_differing = live_accounts(settings)
        acc_states = live_account_states(settings)
        account_diffs = sorted(
            {i for i in set(want.accounts) ^ set(got_acc)}
            | {i for i in want.accounts if i in got_acc and got_acc[i] != want.accounts[i]}
            | set(acc_differing)
            | {f"state:{a}" for a in set(want.account_states) | set(acc_states)
               if want.account_states.get(a) != acc_states.get(a)})
        for i in account_diffs[:3]:
            print(f"[{label}] account difference {i}: expected "
                  f"{want.accounts.get(i)} live {got_acc.get(i)}")
    figures = {
        "sent": len(records),
        "compared": (len(expected) + len(want.states) + sum(want.dead_letters.values())
                     + len(want.accounts) + len(want.account_states)),
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
        "expected_account_qualifications": len(want.accounts),
        "expected_account_states": len(want.account_states),
        "accounts_differing": len(account_diffs),
    }
    # what the scenario exercised: deadlines falling due inside the history
    figures["escalations"] = sum(1 for r in expected.values() if r.get("path") == "ESCALATION")
    figures["sla_breaches"] = sum(1 for r in expected.values()
                                  if "feedback_id" in r and r["type"] == "SLA_BREACHED")
    figures["differences"] = sum(figures[k] for k in (
        "lost", "invented", "changed", "duplicates_differing", "states_differing",
        "dead_letters_differing", "progress_differing", "accounts_differing"))
    print(f"\n[{label}] " + " ".join(f"{k}={v}" for k, v in figures.items()))
    if figures["differences"]:
        leads = sorted({r["lead_id"] for r in (*(expected[i] for i in missing + changed),
                                               *(got[i] for i in invented))}
                       | set(wrong_states) | set(extra_states))
        print(f"[{label}] {len(leads)} lead(s) differ: {leads[:20]}")
        for lead in leads[:2]:
            print(explain_lead(lead, records, settings.partitions, expected, got))
    assert not missing, missing[:10]
    assert not invented, invented[:10]
    assert not differing, differing[:10]
    assert not changed, [(i, got[i], expected[i]) for i in changed[:2]]
    assert not wrong_states, wrong_states[:10]
    assert not extra_states, extra_states[:10]
    assert not letters_missing, letters_missing[:10]
    assert not letters_invented, letters_invented[:10]
    assert not wrong_progress, wrong_progress[:4]
    assert not account_diffs, account_diffs[:10]
    return figures



def explain_lead(lead: str, records: list[tuple[str, dict[str, Any]]], partitions: int,
                 expected: dict[str, dict[str, Any]], got: dict[str, dict[str, Any]]) -> str:
    """A differing lead's input records in send order (with partition and offset), and
    its expected vs live outputs: what an engine engineer needs to find the cause."""
    part = partition_of(lead.encode(), partitions)
    lines = [f"--- lead {lead} (partition {part}) inputs in send order:"]
    offsets: dict[str, int] = {}
    for logical, rec in records:
        p = partition_of(rec["lead_id"].encode(), partitions)
        if p != part:
            continue
        offset = offsets[logical] = offsets.get(logical, -1) + 1
        if rec["lead_id"] == lead:
            lines.append(f"  {logical}@{offset} {rec.get('event_id')} {rec.get('type')} "
                         f"t={rec.get('occurred_at')}")

    def show(outs: dict[str, dict[str, Any]]) -> list[str]:
        mine = [r for r in outs.values() if r["lead_id"] == lead]
        return [f"  {r}" for r in sorted(mine, key=lambda r: str(sorted(r.items())))]

    return "\n".join([*lines, "expected:", *show(expected), "live:", *show(got)])
