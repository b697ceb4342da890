"""Whole fetches of the inputs go to the engine; everything else goes on through Faust."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from typing import Any

from streams.engine.fetch import divert_inputs

TP = namedtuple("TP", "topic partition")
Rec = namedtuple("Rec", "offset key value")


class FakeScheduler:
    def iterate(self, records: dict[Any, list[Any]]) -> Any:
        for tp, recs in records.items():
            for r in recs:
                yield tp, r


class FakeConsumer:
    """The members of Faust's consumer that the diverted ``getmany`` uses."""

    def __init__(self, fetches: list[Any], active: set[Any] | None = None) -> None:
        self.fetches = fetches
        self.active = active
        self.flow_active = True
        self.should_stop = False
        self.scheduler = FakeScheduler()
        self._buffered_partitions: set[Any] = set()
        self.seeks = 0
        self.waited = 0

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        return self.fetches.pop(0), self.active

    def _to_message(self, tp: Any, record: Any) -> Any:
        return ("message", tp, record.offset)

    async def perform_seek(self) -> None:
        self.seeks += 1

    async def wait_empty(self) -> None:
        self.waited += 1


class FakeApp:
    consumer_generation_id = 1


def _records(n: int, start: int = 0) -> list[Rec]:
    return [Rec(start + i, b"k", b"v") for i in range(n)]


async def _drain(consumer: FakeConsumer) -> list[Any]:
    return [item async for item in consumer.getmany(1.0)]  # type: ignore[attr-defined]


def test_input_records_go_to_the_sink_in_one_call_and_the_rest_through_faust() -> None:
    ev, out, log = TP("ev", 0), TP("out", 0), TP("changelog", 0)
    consumer = FakeConsumer([{ev: _records(3), log: _records(2), out: _records(1, 7)}])
    batches: list[Any] = []

    async def sink(fetched: Any) -> None:
        batches.append([(tp, [r.offset for r in recs]) for tp, recs in fetched])

    divert_inputs(FakeApp(), consumer, frozenset({"ev", "out"}), sink)
    yielded = asyncio.run(_drain(consumer))
    assert batches == [[(ev, [0, 1, 2]), (out, [7])]]
    assert yielded == [(log, ("message", log, 0)), (log, ("message", log, 1))]


def test_nothing_is_delivered_while_the_flow_is_stopped_and_the_consumer_seeks_back() -> None:
    ev = TP("ev", 0)
    consumer = FakeConsumer([{ev: _records(3)}])
    consumer.flow_active = False
    batches: list[Any] = []

    async def sink(fetched: Any) -> None:
        batches.append(fetched)

    divert_inputs(FakeApp(), consumer, frozenset({"ev"}), sink)
    assert asyncio.run(_drain(consumer)) == []
    assert batches == [] and consumer.seeks == 1


def test_partitions_no_longer_active_are_not_delivered() -> None:
    mine, gone = TP("ev", 0), TP("ev", 1)
    consumer = FakeConsumer([{mine: _records(2), gone: _records(2)}], active={mine})
    batches: list[Any] = []

    async def sink(fetched: Any) -> None:
        batches.append([tp for tp, _ in fetched])

    divert_inputs(FakeApp(), consumer, frozenset({"ev"}), sink)
    asyncio.run(_drain(consumer))
    assert batches == [[mine]]


def test_a_rebalance_waits_for_the_batch_in_flight() -> None:
    ev = TP("ev", 0)
    consumer = FakeConsumer([{ev: _records(1)}])
    order: list[str] = []

    async def sink(fetched: Any) -> None:
        order.append("batch starts")
        await asyncio.sleep(0.05)
        order.append("batch done")

    divert_inputs(FakeApp(), consumer, frozenset({"ev"}), sink)

    async def scenario() -> None:
        fetching = asyncio.ensure_future(_drain(consumer))
        await asyncio.sleep(0.01)  # the batch is in flight
        await consumer.wait_empty()  # type: ignore[call-arg]
        order.append("rebalance goes on")
        await fetching

    asyncio.run(scenario())
    assert order == ["batch starts", "batch done", "rebalance goes on"]
    assert consumer.waited == 1  # and Faust's own wait_empty ran after it


def test_the_wait_clock_counts_only_time_spent_waiting_for_records() -> None:
    """Processing a fetch (or handing Faust the other topics' records) is not an input's
    silence: the merge's bounded wait must not run out while the worker is busy."""
    from streams.engine.fetch import FetchWaitClock

    ev = TP("ev", 0)

    class SlowFetch(FakeConsumer):
        async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
            await asyncio.sleep(0.02)  # waiting for the broker
            return await super()._wait_next_records(timeout)

    consumer = SlowFetch([{ev: _records(1)}])
    clock = FetchWaitClock()

    async def sink(fetched: Any) -> None:
        await asyncio.sleep(0.2)  # a slow batch

    divert_inputs(FakeApp(), consumer, frozenset({"ev"}), sink, clock)
    asyncio.run(_drain(consumer))
    assert 0.02 <= clock() < 0.15
