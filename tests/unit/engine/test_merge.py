"""The per-partition time-ordered merge (contract 1b), in isolation."""

from __future__ import annotations

from streams.engine.merge import UNTIMED, Item, PartitionMerge

EV, OUT = "events", "outcomes"


def _merge(**kw: float) -> PartitionMerge:
    return PartitionMerge((EV, OUT), max_idle=kw.get("max_idle", 2.0))


def _push(m: PartitionMerge, name: str, t: int, offset: int) -> None:
    m.push(name, Item(t, m.rank(name), offset, (name, offset)))


def _drain(m: PartitionMerge, caught_up: bool = True, now: float = 0.0) -> list[object]:
    out = []
    while (item := m.pop_ready(lambda _n: caught_up, now)) is not None:
        out.append(item.rec)
    return out


def test_inputs_merge_by_event_time_events_first_on_ties() -> None:
    m = _merge()
    for t, off in ((10, 0), (20, 1), (30, 2)):
        _push(m, EV, t, off)
    for t, off in ((5, 0), (20, 1), (25, 2)):
        _push(m, OUT, t, off)
    assert _drain(m) == [(OUT, 0), (EV, 0), (EV, 1), (OUT, 1), (OUT, 2), (EV, 2)]
    assert m.stream_time == 30


def test_each_input_stays_in_offset_order_even_when_its_times_go_back() -> None:
    m = _merge()
    _push(m, EV, 50, 0)
    _push(m, EV, 10, 1)  # late event: after offset 0 all the same
    _push(m, OUT, 20, 0)
    assert _drain(m) == [(OUT, 0), (EV, 0), (EV, 1)]
    assert m.stream_time == 50


def test_a_record_waits_while_another_input_has_unread_records() -> None:
    m = _merge()
    _push(m, OUT, 100, 0)
    # events not caught up and nothing buffered: the outcome must not overtake them
    assert m.pop_ready(lambda name: name == OUT, 0.0) is None
    _push(m, EV, 50, 0)
    assert _drain(m, caught_up=False) == [(EV, 0)]  # outcomes' head is later: events first
    assert m.pop_ready(lambda name: name == OUT, 0.1) is None  # events empty again: wait
    assert _drain(m) == [(OUT, 0)]  # caught up: nothing can come before it any more
    assert m.idle_waits == {}


def test_the_wait_is_bounded_and_counted_once_per_episode() -> None:
    m = _merge(max_idle=2.0)
    _push(m, OUT, 100, 0)
    _push(m, OUT, 200, 1)
    lagging = lambda name: name == OUT  # noqa: E731
    assert m.pop_ready(lagging, 10.0) is None
    assert m.pop_ready(lagging, 11.9) is None
    first = m.pop_ready(lagging, 12.0)
    assert first is not None and first.rec == (OUT, 0)
    second = m.pop_ready(lagging, 12.0)  # still given up on: goes on
    assert second is not None and second.rec == (OUT, 1)
    assert m.idle_waits == {EV: 1}
    _push(m, EV, 300, 0)  # the input delivers again: the next wait is a new episode
    _push(m, OUT, 400, 2)
    assert _drain(m, caught_up=False, now=13.0) == [(EV, 0)]
    assert m.pop_ready(lagging, 13.0) is None


def test_undecodable_records_sort_first_and_do_not_move_stream_time() -> None:
    m = _merge()
    _push(m, EV, 100, 0)
    _push(m, EV, UNTIMED, 1)
    _push(m, OUT, UNTIMED, 0)
    assert _drain(m) == [(OUT, 0), (EV, 0), (EV, 1)]
    assert m.stream_time == 100


def test_event_clock_deadlines_fire_before_the_first_later_record_only() -> None:
    m = _merge()
    m.schedule("a", 100)
    m.schedule("b", 50)
    m.schedule("c", 100)
    m.schedule("c", 150)  # moved: the old entry is stale
    assert m.due_before(50) is None  # not later than the deadline: not yet
    assert m.due_before(101) == (50, "b")
    assert m.due_before(101) == (100, "a")
    assert m.due_before(101) is None
    m.schedule("a", None)
    assert m.due_before(10_000) == (150, "c")
    assert m.open_deadlines() == 0


def test_wall_clock_deadlines_wait_until_the_partition_is_caught_up() -> None:
    m = _merge()
    m.schedule("a", 100)
    assert m.due_by_wall(200, lambda _n: False) is None
    _push(m, EV, 10, 0)
    assert m.due_by_wall(200, lambda _n: True) is None  # a record is still buffered
    _drain(m)
    assert m.due_by_wall(99, lambda _n: True) is None
    assert m.due_by_wall(100, lambda _n: True) == (100, "a")


def test_drop_buffered_says_where_to_resume() -> None:
    m = _merge()
    _push(m, EV, 10, 7)
    _push(m, EV, 20, 8)
    _push(m, OUT, 30, 3)
    assert m.drop_buffered() == {EV: 7, OUT: 3}
    assert m.buffered() == 0


def test_an_input_that_delivers_is_not_idle() -> None:
    m = _merge(max_idle=2.0)
    _push(m, OUT, 100, 0)
    lagging = lambda name: name == OUT  # noqa: E731
    assert m.pop_ready(lagging, 0.0) is None
    m.touch(EV, 1.5)  # events delivered records read again after a seek: still alive
    assert m.pop_ready(lagging, 3.0) is None
    item = m.pop_ready(lagging, 3.5)
    assert item is not None and m.idle_waits == {EV: 1}


def _state(m: PartitionMerge) -> tuple[object, ...]:
    return (m.stream_time, sorted(m._idle_since.items()), sorted(m._enforced),
            dict(m.idle_waits), {n: [i.rec for i in q] for n, q in m.queues.items()})


def test_ready_takes_what_pop_ready_takes_with_the_same_waits() -> None:
    """``ready`` (the runner's iterator) against ``pop_ready`` called until None, over
    random queues, lags, clocks and ties: the same records, stream time, waits and counts."""
    import random

    rng = random.Random(13)
    for case in range(2000):
        pair = [_merge(max_idle=1.0), _merge(max_idle=1.0)]
        lag = {EV: rng.random() < 0.4, OUT: rng.random() < 0.4}
        for rnd in range(3):
            pushes = [(rng.choice((EV, OUT)), rng.choice((UNTIMED, 1, 2, 3, 5, 8)))
                      for _ in range(rng.randrange(6))]
            now = rnd * rng.choice((0.0, 0.6, 1.5))
            if rng.random() < 0.3:
                lag = {EV: rng.random() < 0.4, OUT: rng.random() < 0.4}
            if rng.random() < 0.3:  # the same input twice at the same rank: a full tie
                for m in pair:
                    m.push(OUT, Item(4, 0, 99 + rnd, (OUT, 99 + rnd)))
                    m.push(EV, Item(4, 0, 99 + rnd, (EV, 99 + rnd)))
            for m in pair:
                offsets = {n: len(m.queues[n]) + 10 * rnd for n in (EV, OUT)}
                for name, t in pushes:
                    offsets[name] += 1
                    _push(m, name, t, offsets[name])

            def caught_up(name: str, lagging: dict[str, bool] = lag) -> bool:
                return not lagging[name]

            one, other = pair
            by_pop = []
            while (item := one.pop_ready(caught_up, now)) is not None:
                by_pop.append(item.rec)
            by_ready = [item.rec for item in other.ready(caught_up, now)]
            assert by_ready == by_pop, case
            assert _state(other) == _state(one), case
