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
from streams.domain.accounts import AccountQualified, apply_signal
from streams.engine.account_merge import Mark, decode_item
from streams.engine.accounts import LOGICAL, AccountRunner
from streams.engine.memory import (
    MemoryAccountStore,
    Record,
    replay,
    replay_accounts,
    signal_partitions,
)
from streams.paths import DEFAULT_POLICY, POLICY_DIR
from streams.processor import Inbound, LeadProcessor
from tests.support.accounts import buying_group, companies, erase
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
    signals = [o for o in leads.outbound if o.logical == LOGICAL and o.partition is None]
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


def account_items(leads: Any, account: str) -> list[Inbound]:
    """The account partition of ``account``: its signals and every lead partition's marks."""
    from streams.engine.memory import partition_of

    return signal_partitions(leads.outbound, PARTS)[partition_of(account.encode(), PARTS)]


def source_of(rec: Inbound) -> int:
    item = decode_item(rec.value or b"")
    return item.source


def interleave(items: list[Inbound], rng: random.Random, copies: bool) -> list[Inbound]:
    """The same per-source sequences, interleaved at random (as the lead partitions'
    deliveries race), optionally with a source re-sending a stretch (a lead-side crash
    after delivering, before committing); offsets renumbered as the topic would."""
    by_source: dict[int, list[Inbound]] = {}
    for rec in items:
        by_source.setdefault(source_of(rec), []).append(rec)
    if copies:
        for seq in by_source.values():
            if len(seq) > 4:
                i = rng.randrange(len(seq) - 2)
                j = rng.randrange(i + 1, len(seq))
                seq[j:j] = seq[i:j]  # re-sent after the originals
    out: list[Inbound] = []
    queues = [q for q in by_source.values() if q]
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        queues = [q for q in queues if q]
    return [Inbound(r.source, r.topic, r.partition, n, r.key, r.value)
            for n, r in enumerate(out)]


def feed(policy: Policy, records: list[Inbound], rng: random.Random) -> MemoryAccountStore:
    """The account runner over ``records`` in random batches; the clock stands still
    (nothing is given up on for idleness) until all are in, then moves past max_idle."""
    clock = [0.0]
    store = MemoryAccountStore()
    runner = AccountRunner(policy, CODECS, store, wall_clock=lambda: NOW, sources=PARTS,
                           max_idle=1.0, monotonic=lambda: clock[0])
    i = 0
    while i < len(records):
        n = rng.randrange(1, 40)
        asyncio.run(runner.run(records[i:i + n]))
        i += n
    clock[0] += 5.0
    asyncio.run(runner.poll())
    return store


def test_account_records_independent_of_interleaving_and_batching(ap: Policy) -> None:
    """Contract 1b for accounts: the same lead events give the same AccountQualified
    records (every field) and account states, whatever the lead batch boundaries (where
    the marks fall), the interleaving of the lead partitions' signals on the account
    partition, re-sent copies, or the account batches; and the offline reference agrees.
    Applying the signals in arrival order instead (the naive way) does not."""
    events = companies(30, T0, seed=5)
    _, ref = run_accounts(ap, events)
    want = qualified(ref)
    assert len(want) >= 5, len(want)  # the scenario qualifies accounts
    naive_differs = False
    for seed in range(6):
        rng = random.Random(seed)
        leads = replay(records(events), LeadProcessor(ap, CODECS, {}), PARTS, NOW,
                       batch_size=rng.choice([7, 31, 113, 400]))
        parts = signal_partitions(leads.outbound, PARTS)
        got: list[dict[str, Any]] = []
        states: dict[str, Any] = {}
        for _p, items in sorted(parts.items()):
            mixed = interleave(items, rng, copies=seed % 2 == 1)
            store = feed(ap, mixed, rng)
            got += qualified(store)
            states.update(store.states)
            naive_differs |= naive(ap, mixed) != sorted_records(qualified(store))
        assert sorted_records(got) == sorted_records(want)
        assert states == ref.states
    assert naive_differs  # the interleavings above are ones that matter


def sorted_records(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(recs, key=lambda r: r["qualification_id"])


def naive(policy: Policy, items: list[Inbound]) -> list[dict[str, Any]]:
    """Apply the signals in arrival order (what the account side did before the merge)."""
    states: dict[str, Any] = {}
    out = []
    for rec in items:
        item = decode_item(rec.value or b"")
        if isinstance(item, Mark):
            continue
        s = item.signal
        states[s.account_id], outs = apply_signal(states.get(s.account_id), s, policy)
        out += [o.to_record() for o in outs if isinstance(o, AccountQualified)]
    return sorted_records(out)


def test_redelivery_and_a_crash_between_outputs_and_states(ap: Policy) -> None:
    leads, ref = run_accounts(ap, buying_group("acme", T0))
    recs = account_items(leads, "acme.example")
    store = MemoryAccountStore(fail_after_outputs=True)
    runner = AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW, sources=PARTS,
                           max_idle=0.0)
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
    accounts = replay_accounts(leads.outbound, ap, CODECS, PARTS, NOW)
    assert [r["qualification_id"] for r in qualified(accounts)] == ["aq:acme.example:1"]
    state = accounts.states["acme.example"]
    gone = state.members["acme-cfo"]
    assert gone.removed and gone.score_sum == 0 and gone.role is None
    assert not state.qualified and state.moved_back_at == T0 + HOUR
    # the erased lead's last signal carries nothing but the removal
    last = [item.signal for o in leads.outbound
            if o.logical == LOGICAL and not isinstance(item := decode_item(o.value), Mark)
            and item.signal.lead_id == "acme-cfo"][-1]
    assert last.removed and last.role is None and last.score_sum == 0


def test_bad_signal_is_dead_lettered(ap: Policy) -> None:
    leads, _ = run_accounts(ap, buying_group("acme", T0))
    good = account_items(leads, "acme.example")
    p = good[0].partition
    bad = Inbound(LOGICAL, "account-signals", p, len(good), b"acme.example", b"{nope")
    store = MemoryAccountStore()
    result = asyncio.run(AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW,
                                       sources=PARTS, max_idle=0.0).run([*good, bad]))
    assert len(result.dead_letters) == 1 and result.done[("account-signals", p)] == bad.offset + 1
    assert qualified(store)  # the good ones were applied
