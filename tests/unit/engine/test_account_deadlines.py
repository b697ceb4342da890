"""Account deadlines through the engine (in-memory ports): the SLA breach, its escalation
and the cold move-back fire on the account partition's stream time, at the same place
among the signals live (random lead batches, interleavings, account batches) as in the
offline replay; a lead's sales contact reaches the account and meets its SLA; deadlines
survive a restart through the states."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from streams.codecs import default_codecs
from streams.domain import Policy, load_policy
from streams.domain.account_sla import AccountContacted, AccountSlaBreached
from streams.domain.accounts import AccountMovedBack
from streams.engine.account_merge import (
    Due,
    Mark,
    Pending,
    SignalMerge,
    decode_item,
    encode_mark,
)
from streams.engine.accounts import LOGICAL, AccountRunner
from streams.engine.memory import (
    MemoryAccountStore,
    Record,
    partition_of,
    replay,
    replay_accounts,
    signal_partitions,
)
from streams.paths import POLICY_DIR
from streams.processor import Inbound, LeadProcessor
from tests.support.accounts import buying_group
from tests.support.kafka_io import HOUR, outcome
from tests.unit.engine.test_accounts_engine import feed, interleave

CODECS = default_codecs()
T0 = 1_767_225_600_000
DAY = 24 * HOUR
NOW = T0 + 60 * DAY
PARTS = 4


@pytest.fixture(scope="module")
def ap() -> Policy:
    return load_policy(POLICY_DIR / "accounts.yaml")


def same_partition_company(account: str, avoid: set[str], prefix: str = "late") -> str:
    """A company whose account (``<name>.example``) shares ``account``'s partition."""
    want = partition_of(account.encode(), PARTS)
    for i in range(200):
        name = f"{prefix}{i}"
        if name not in avoid and partition_of(f"{name}.example".encode(), PARTS) == want:
            return name
    raise AssertionError("no company on that partition")


def records(events: list[dict[str, Any]], outcomes: list[dict[str, Any]] = ()  # type: ignore[assignment]
            ) -> list[Record]:
    recs = [Record("events", e["lead_id"].encode(), CODECS.encode("LeadEvent", e))
            for e in events]
    recs += [Record("outcomes", o["lead_id"].encode(), CODECS.encode("SalesOutcome", o))
             for o in outcomes]
    return recs


def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """acme qualifies at T0 and hears nothing more; beta qualifies and its CFO is
    contacted 10 hours later; two companies on acme's partition are active just before
    and just after acme's due (where the signals' interleaving would matter); 40 days on,
    a company on acme's partition qualifies (its signals move that partition's time past
    all of acme's deadlines)."""
    late = same_partition_company("acme.example", {"acme", "beta"})
    near = same_partition_company("acme.example", set(), "near")
    after = same_partition_company("acme.example", {near}, "near")
    events = [*buying_group("acme", T0), *buying_group("beta", T0 + HOUR),
              *buying_group(near, T0 + 47 * HOUR), *buying_group(after, T0 + 49 * HOUR),
              *buying_group(late, T0 + 40 * DAY)]
    outcomes = [outcome("o-beta", "beta-cfo", "CONTACTED", T0 + 10 * HOUR)]
    return events, outcomes, late


def account_records(store: MemoryAccountStore, account: str) -> list[tuple[str, str]]:
    return [(r["qualification_id"], r["queue"]) for o in store.outbound
            if o.kind == "AccountQualified" and (r := o.record)["account_id"] == account]


def test_breach_escalation_and_cold_move_back_fire_on_the_partitions_time(ap: Policy
                                                                          ) -> None:
    events, outcomes, late = scenario()
    leads = replay(records(events, outcomes), LeadProcessor(ap, CODECS, {}), PARTS, NOW)
    ref = replay_accounts(leads.outbound, ap, CODECS, PARTS, NOW)
    acme = ref.states["acme.example"]
    assert acme.qualified_at is not None and T0 < acme.qualified_at < T0 + HOUR
    due = acme.qualified_at + 48 * HOUR
    assert account_records(ref, "acme.example") == [
        ("aq:acme.example:1", "enterprise-na"), ("aq:acme.example:1:esc", "escalation")]
    breaches = [o for o in ref.outputs if isinstance(o, AccountSlaBreached)
                and o.account_id == "acme.example"]
    assert [(b.queue, b.due_at, b.escalation) for b in breaches] == [
        ("enterprise-na", due, False), ("escalation", due + 24 * HOUR, True)]
    [back] = [o for o in ref.outputs if isinstance(o, AccountMovedBack)
              and o.account_id == "acme.example"]
    assert not acme.qualified and back.at == acme.moved_back_at
    assert T0 + 20 * DAY < back.at < T0 + 40 * DAY  # decay alone, before the late signals
    # beta's CFO was contacted in time: no breach, a contact within the SLA
    assert account_records(ref, "beta.example") == [("aq:beta.example:1", "enterprise-na")]
    [contacted] = [o for o in ref.outputs if isinstance(o, AccountContacted)]
    assert contacted.account_id == "beta.example" and contacted.within_sla
    assert contacted.at == T0 + 10 * HOUR
    assert not any(isinstance(o, AccountSlaBreached) and o.account_id == "beta.example"
                   for o in ref.outputs)
    # on acme's partition: acme's escalation comes before the late company's record
    order = [r["qualification_id"] for o in ref.outbound if o.kind == "AccountQualified"
             and (r := o.record)["account_id"] in ("acme.example", f"{late}.example")]
    assert order == ["aq:acme.example:1", "aq:acme.example:1:esc", f"aq:{late}.example:1"]


def partition_sequences(store: MemoryAccountStore) -> dict[int, list[Any]]:
    """Per account partition, every domain output and published record, in order."""
    out: dict[int, list[Any]] = {}
    for o in store.outputs:
        out.setdefault(partition_of(o.account_id.encode(), PARTS), []).append(o)
    return out


def test_deadlines_fire_at_the_same_place_live_and_in_the_replay(ap: Policy) -> None:
    events, outcomes, _ = scenario()
    leads = replay(records(events, outcomes), LeadProcessor(ap, CODECS, {}), PARTS, NOW)
    ref = replay_accounts(leads.outbound, ap, CODECS, PARTS, NOW)
    want = partition_sequences(ref)
    assert any(isinstance(o, AccountSlaBreached) for seq in want.values() for o in seq)
    for seed in range(6):
        rng = random.Random(seed)
        leads = replay(records(events, outcomes), LeadProcessor(ap, CODECS, {}), PARTS,
                       NOW, batch_size=rng.choice([5, 17, 60]))
        for p, items in sorted(signal_partitions(leads.outbound, PARTS).items()):
            store = feed(ap, interleave(items, rng, copies=seed % 2 == 1), rng)
            assert partition_sequences(store).get(p, []) == want.get(p, []), (seed, p)
            got = [o.value for o in store.outbound]
            assert got == [o.value for o in ref.outbound
                           if partition_of(o.key or b"", PARTS) == p], (seed, p)
        assert store.states.keys() <= ref.states.keys()


def test_no_deadline_fires_before_every_source_has_passed_it() -> None:
    merge = SignalMerge(range(2), max_idle=10.0)
    merge.schedule("a", 100)
    merge.push_mark(Mark(0, 150, False), 0.0)
    assert merge.pop_ready(0.0) is None  # source 1 may still send something at <= 100
    merge.push_mark(Mark(1, 100, False), 0.0)
    assert merge.pop_ready(0.0) is None  # ...at 100 itself, which sorts first
    merge.push_signal(1, 100, 0, "at-100")
    first = merge.pop_ready(0.0)
    assert isinstance(first, Pending) and first.payload == "at-100"
    assert merge.pop_ready(0.0) is None
    merge.push_mark(Mark(1, 101, False), 0.0)
    due = merge.pop_ready(0.0)
    assert isinstance(due, Due) and (due.t, due.account_id) == (100, "a")
    assert merge.pop_ready(0.0) is None and merge.open_deadlines() == 0


def test_a_moved_deadline_is_not_fired_at_its_old_time() -> None:
    merge = SignalMerge(range(1), max_idle=10.0)
    merge.schedule("a", 100)
    merge.schedule("a", 300)
    merge.push_mark(Mark(0, 200, False), 0.0)
    assert merge.pop_ready(0.0) is None
    merge.schedule("b", 150)
    due = merge.pop_ready(0.0)
    assert isinstance(due, Due) and due.account_id == "b"
    merge.schedule("a", None)
    merge.push_mark(Mark(0, 400, False), 0.0)
    assert merge.pop_ready(0.0) is None


def test_idle_sources_are_not_waited_for_but_time_must_pass_the_deadline() -> None:
    merge = SignalMerge(range(2), max_idle=1.0)
    merge.schedule("a", 100)
    merge.push_mark(Mark(1, 0, True), 0.0)  # an empty lead partition, caught up
    merge.push_mark(Mark(0, 90, True), 0.0)
    assert merge.pop_ready(5.0) is None  # nobody is past 100 yet
    merge.push_mark(Mark(0, 120, True), 5.0)
    assert isinstance(merge.pop_ready(5.0), Due)


def test_deadlines_survive_a_restart_through_the_states(ap: Policy) -> None:
    events, outcomes, _ = scenario()
    leads = replay(records(events, outcomes), LeadProcessor(ap, CODECS, {}), PARTS, NOW)
    ref = replay_accounts(leads.outbound, ap, CODECS, PARTS, NOW)
    p = partition_of(b"acme.example", PARTS)
    items = signal_partitions(leads.outbound, PARTS)[p]

    def is_late(r: Inbound) -> bool:
        item = decode_item(r.value or b"")
        return isinstance(item, Mark) or item.signal.account_id not in ("acme.example",
                                                                         "beta.example")

    # first the early signals, with every lead partition's time at T0 + 1 day; a restart;
    # then the late company's signals and the lead partitions' real marks
    early = [r for r in items if not is_late(r)]
    early += [Inbound(LOGICAL, "account-signals", p, 0, None,
                      encode_mark(source, T0 + DAY, True)) for source in range(PARTS)]
    store = MemoryAccountStore()
    asyncio.run(AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW, sources=PARTS,
                              max_idle=0.0).run(renumber(early)))
    assert store.states["acme.example"].qualified  # nothing has passed its deadlines yet
    assert account_records(store, "acme.example") == [("aq:acme.example:1", "enterprise-na")]
    fresh = AccountRunner(ap, CODECS, store, wall_clock=lambda: NOW, sources=PARTS,
                          max_idle=0.0)  # a new worker: no merge, deadlines in the states
    asyncio.run(fresh.run(renumber([r for r in items if is_late(r)], len(early))))
    assert store.states["acme.example"] == ref.states["acme.example"]
    assert account_records(store, "acme.example") == account_records(ref, "acme.example")


def renumber(recs: list[Inbound], start: int = 0) -> list[Inbound]:
    return [Inbound(r.source, r.topic, r.partition, start + n, r.key, r.value)
            for n, r in enumerate(recs)]
