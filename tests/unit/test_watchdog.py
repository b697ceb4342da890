from streams.watchdog import StallDetector


def test_no_lag_is_never_a_stall() -> None:
    d = StallDetector(timeout=30)
    assert not any(d.observe(t, 0, 100) for t in range(0, 300, 5))


def test_moving_position_is_not_a_stall() -> None:
    d = StallDetector(timeout=30)
    assert not any(d.observe(t, 500, t) for t in range(0, 300, 5))


def test_lag_with_a_frozen_position_is_a_stall_after_the_timeout() -> None:
    d = StallDetector(timeout=30)
    assert not d.observe(0, 500, 42)
    assert not d.observe(25, 500, 42)
    assert d.observe(30, 500, 42)
    assert not d.observe(35, 500, 43)  # progress resets it


def test_input_lag_asks_the_broker_for_end_offsets() -> None:
    import asyncio

    from faust.types import TP

    from streams.watchdog import input_lag

    events0, events1, other = TP("ev", 0), TP("ev", 1), TP("changelog", 0)

    class FakeConsumer:
        _committed_offset = {events0: 10}  # events1 never committed: counts from the start

        def assignment(self) -> set[TP]:
            return {events0, events1, other}

        async def highwaters(self, *tps: TP) -> dict[TP, int]:
            return {events0: 25, events1: 7}

        async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
            return dict.fromkeys(tps, 2)

    lag, position = asyncio.run(input_lag(FakeConsumer(), frozenset({"ev"})))
    assert (lag, position) == (15 + 5, 10 + 2)
