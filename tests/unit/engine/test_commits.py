"""Faust commits the input offsets leadflow marks done, and nothing it merely acknowledged."""

from collections import defaultdict
from typing import Any

from faust.types import TP

from streams.engine.commits import InputCommits, next_offsets

EV0, EV1, OTHER = TP("events", 0), TP("events", 1), TP("changelog", 0)


class FakeConsumer:
    def __init__(self) -> None:
        self._acked: defaultdict[TP, list[int]] = defaultdict(list)
        self._acked_index: defaultdict[TP, set[int]] = defaultdict(set)

    def _new_offset(self, tp: TP) -> int | None:
        return 99

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Any:
        return iter(list(self._acked))


class Msg:
    def __init__(self, tp: TP, offset: int) -> None:
        self.tp, self.offset = tp, offset


def installed(generation: list[int]) -> tuple[Any, InputCommits]:
    consumer: Any = FakeConsumer()
    commits = InputCommits({"events"})
    commits.install(consumer, lambda: generation[0])
    return consumer, commits


def test_inputs_commit_only_what_was_marked_done() -> None:
    gen = [1]
    consumer, commits = installed(gen)
    consumer._acked[EV0].extend([11, 13])  # Faust's acknowledgements, possibly with holes
    assert consumer._new_offset(EV0) is None  # nothing marked done yet
    assert EV0 not in consumer._acked
    commits.mark_done({EV0: 12}, 1)
    commits.mark_done({EV0: 10}, 1)  # never backwards
    assert consumer._new_offset(EV0) == 12
    assert consumer._new_offset(OTHER) == 99  # not an input: Faust's own logic


def test_done_partitions_are_offered_even_when_faust_forgot_their_acks() -> None:
    gen = [1]
    consumer, commits = installed(gen)
    consumer._acked[OTHER].append(1)
    commits.mark_done({EV0: 5, EV1: 7}, 1)
    assert sorted(consumer._filter_tps_with_pending_acks()) == sorted([OTHER, EV0, EV1])
    assert EV0 in set(consumer._filter_tps_with_pending_acks({"events"}))


def test_a_new_generation_forgets_what_was_done() -> None:
    gen = [1]
    consumer, commits = installed(gen)
    commits.mark_done({EV0: 5}, 1)
    gen[0] = 2  # rebalanced: another worker may have had the partition meanwhile
    assert consumer._new_offset(EV0) is None
    assert list(consumer._filter_tps_with_pending_acks()) == []
    commits.mark_done({EV0: 9}, 2)
    assert consumer._new_offset(EV0) == 9


def test_next_offsets_is_the_offset_after_the_highest_per_partition() -> None:
    msgs = [Msg(EV0, 3), Msg(EV1, 8), Msg(EV0, 5), Msg(EV0, 4)]
    assert next_offsets(msgs) == {EV0: 6, EV1: 9}
