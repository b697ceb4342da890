"""Accounts through the engine (in-memory ports): the lead side's signals on the
repartition topic, the account runner's AccountQualified records, redelivery, a crash
between outputs and states, erasure; no signal at all without an accounts section."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from streams.codecs import default_codecs
from streams.domain import Policy, load_policy
from streams.domain.accounts import AccountSignal
from streams.engine.accounts import LOGICAL, AccountRunner
from streams.engine.memory import (
    MemoryAccountStore,
    Record,
    replay,
    replay_accounts,
    signal_partitions,
)
from streams.paths import DEFAULT_POLICY, POLICY_DIR
from streams.processor import LeadProcessor
from tests.support.accounts import buying_group, erase
from tests.support.kafka_io import HOUR

CODECS = default_codecs()
T0 = 1_767_225_600_000
NOW = T0 + 100 * HOUR
PARTS = 4


@pytest.fixture(scope="module")
def ap() -> Policy:
    return load_policy(POLICY_DIR / "accounts.yaml")


def records(events: list[dict[str, Any]]) -> list[Record]:
    return [Record("events", e["lead_id"].encode(), CODECS.encode("LeadEvent", e))
            for e in events]


def qualified(store: MemoryAccountStore) -> list[dict[str, Any]]:
    return [o.record for o in store.outbound if o.kind == "AccountQualified"]


def run_accounts(policy: Policy, events: list[dict[str, Any]]) -> tuple[Any, Any]:
    leads = replay(records(events), LeadProcessor(policy, CODECS, {}), PARTS, NOW)
    return leads, replay_accounts(leads.outbound, policy, CODECS, PARTS, NOW)


def test_default_policy_sends_no_signal() -> None:
    leads = replay(records(buying_group("acme", T0)),
                   LeadProcessor(load_policy(DEFAULT_POLICY), CODECS, {}), PARTS, NOW)
    assert not [o for o in leads.outbound if o.logical == LOGICAL]


def test_buying_group_qualifies_the_account_once(ap: Policy) -> None:
    leads, accounts = run_accounts(ap, buying_group("acme", T0) + buying_group("zeta", T0))
    signals = [o for o in leads.outbound if o.logical == LOGICAL]
    assert signals and all(o.key in (b"acme.example", b"zeta.example") for o in signals)
    got = {r["account_id"]: r for r in qualified(accounts)}
    assert sorted(got) == ["acme.example", "zeta.example"]
    acme = got["acme.example"]
    assert acme["qualification_id"] == "aq:acme.example:1"
    assert acme["queue"] == "enterprise-na" and acme["owner_rep_id"]
    roles = {c["role"] for c in acme["contacts"]}
    assert {"economic_buyer", "champion", "technical_evaluator"} <= roles
    assert acme["score"] >= 120 and acme["fit_grade"] in ("A", "B")
    # no personal data leaves: contacts are lead ids, roles and scores
    assert "@" not in repr(acme)
    assert accounts.states["acme.example"].qualified


def test_account_outcome_independent_of_lead_partition_interleaving(ap: Policy) -> None:
    """The final account states do not depend on how the lead partitions' signals are
    interleaved on the account partition."""
    leads, ref = run_accounts(ap, buying_group("acme", T0))
    parts = signal_partitions(leads.outbound, PARTS)
    flat = [r for p in sorted(parts) for r in parts[p]]
    for seed in range(5):
        shuffled = flat[:]
        random.Random(seed).shuffle(shuffled)
        store = MemoryAccountStore()
        runner = AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW)
        asyncio.run(runner.run(shuffled))
        a, b = store.states["acme.example"], ref.states["acme.example"]
        assert (a.members, a.stream_time, a.qualified) == (b.members, b.stream_time,
                                                            b.qualified)


def test_redelivery_and_a_crash_between_outputs_and_states(ap: Policy) -> None:
    leads, ref = run_accounts(ap, buying_group("acme", T0))
    parts = signal_partitions(leads.outbound, PARTS)
    [(_p, recs)] = parts.items()  # one account: one partition
    store = MemoryAccountStore(fail_after_outputs=True)
    runner = AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW)
    with pytest.raises(RuntimeError):
        asyncio.run(runner.run(recs))
    assert not store.states
    store.fail_after_outputs = False
    asyncio.run(runner.run(recs))  # the restart reads the same signals again
    asyncio.run(runner.run(recs))  # and a redelivery after the states changes nothing
    ids = [r["qualification_id"] for r in qualified(store)]
    assert ids == ["aq:acme.example:1", "aq:acme.example:1"]  # the same record again
    assert [o.value for o in store.outbound][:1] == [o.value for o in store.outbound][1:]
    assert store.states == ref.states


def test_erasure_removes_the_lead_from_the_account(ap: Policy) -> None:
    events = [*buying_group("acme", T0), erase("acme-cfo", T0 + HOUR), erase("acme-dir", T0 + HOUR)]
    leads = replay(records(events), LeadProcessor(ap, CODECS, {}), PARTS, NOW)
    # the account's signals in event time (the lead partitions' interleaving is arbitrary)
    [(_, recs)] = signal_partitions(leads.outbound, PARTS).items()
    recs.sort(key=lambda r: AccountSignal.decode(r.value or b"").order())
    accounts = MemoryAccountStore()
    asyncio.run(AccountRunner(ap, CODECS, accounts, wall_clock=lambda: NOW).run(recs))
    assert [r["qualification_id"] for r in qualified(accounts)] == ["aq:acme.example:1"]
    state = accounts.states["acme.example"]
    gone = state.members["acme-cfo"]
    assert gone.removed and gone.score_sum == 0 and gone.role is None
    assert not state.qualified and state.moved_back_at == T0 + HOUR
    # the erased lead's last signal carries nothing but the removal
    last = [AccountSignal.decode(o.value) for o in leads.outbound
            if o.logical == LOGICAL and b"acme-cfo" in o.value][-1]
    assert last.removed and last.role is None and last.score_sum == 0


def test_bad_signal_is_dead_lettered(ap: Policy) -> None:
    leads, _ = run_accounts(ap, buying_group("acme", T0))
    recs = signal_partitions(leads.outbound, PARTS)
    [(p, good)] = recs.items()
    from streams.processor import Inbound
    bad = Inbound(LOGICAL, "account-signals", p, len(good), b"acme.example", b"{nope")
    store = MemoryAccountStore()
    result = asyncio.run(AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW)
                         .run([*good, bad]))
    assert len(result.dead_letters) == 1 and result.done[("account-signals", p)] == bad.offset + 1
