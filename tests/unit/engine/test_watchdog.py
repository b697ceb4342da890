from streams.engine.watchdog import Action, StallDetector


def test_no_lag_is_never_a_stall() -> None:
    d = StallDetector(timeout=30)
    assert all(d.observe(t, 0, 100) is Action.NONE for t in range(0, 300, 5))


def test_moving_position_is_not_a_stall() -> None:
    d = StallDetector(timeout=30)
    assert all(d.observe(t, 500, t) is Action.NONE for t in range(0, 300, 5))


def test_a_frozen_position_is_sought_back_once_then_a_stall_after_the_timeout() -> None:
    d = StallDetector(timeout=30)
    assert d.observe(0, 500, 42) is Action.NONE
    assert d.observe(10, 500, 42) is Action.NONE
    assert d.observe(15, 500, 42) is Action.RESEEK
    assert d.observe(25, 500, 42) is Action.NONE  # once per stall
    assert d.observe(30, 500, 42) is Action.EXIT
    assert d.observe(35, 500, 43) is Action.NONE  # progress resets it
    assert d.observe(50, 500, 43) is Action.RESEEK


def test_reseek_inputs_seeks_to_the_committed_offset_or_the_start() -> None:
    import asyncio

    from faust.types import TP

    from streams.engine.watchdog import reseek_inputs

    events0, events1, other = TP("ev", 0), TP("ev", 1), TP("changelog", 0)
    sought: dict[TP, int] = {}

    class FakeConsumer:
        _committed_offset = {events0: 10}

        def assignment(self) -> set[TP]:
            return {events0, events1, other}

        async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
            return dict.fromkeys(tps, 2)

        async def seek_wait(self, targets: dict[TP, int]) -> None:
            sought.update(targets)

    assert asyncio.run(reseek_inputs(FakeConsumer(), frozenset({"ev"}))) == 2
    assert sought == {events0: 10, events1: 2}


def test_input_lag_asks_the_broker_for_end_offsets() -> None:
    import asyncio

    from faust.types import TP

    from streams.engine.watchdog import input_lag

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
