"""leadflow commits the input offsets itself; Faust's commit leaves them alone."""

import asyncio
from collections import defaultdict
from typing import Any

from faust.types import TP

from streams.commits import InputCommits, next_offsets

EV0, EV1, OTHER = TP("events", 0), TP("events", 1), TP("changelog", 0)


class FakeConsumer:
    def __init__(self) -> None:
        self._acked: defaultdict[TP, list[int]] = defaultdict(list)
        self._acked_index: defaultdict[TP, set[int]] = defaultdict(set)
        self._committed_offset: dict[TP, int] = {EV0: 10}
        self.commits: list[dict[TP, int]] = []

    def _new_offset(self, tp: TP) -> int | None:
        return 99

    async def _commit(self, offsets: dict[TP, int]) -> bool:
        self.commits.append(dict(offsets))
        return True


class Msg:
    def __init__(self, tp: TP, offset: int) -> None:
        self.tp, self.offset = tp, offset


def test_faust_commits_nothing_on_the_inputs_and_forgets_its_acks() -> None:
    consumer: Any = FakeConsumer()
    consumer._acked[EV0].extend([11, 13])
    InputCommits({"events"}).install(consumer)
    assert consumer._new_offset(EV0) is None
    assert EV0 not in consumer._acked
    assert consumer._new_offset(OTHER) == 99  # not an input: Faust's own logic


def test_commit_moves_only_forward_and_records_the_position() -> None:
    consumer: Any = FakeConsumer()
    seen: list[float] = []
    commits = InputCommits({"events"}, on_commit=seen.append)
    assert asyncio.run(commits.commit(consumer, {EV0: 9, EV1: 5})) is True
    assert consumer.commits == [{EV1: 5}]  # EV0 is committed at 10 already
    assert consumer._committed_offset == {EV0: 10, EV1: 5}
    assert len(seen) == 1


def test_next_offsets_is_the_offset_after_the_highest_per_partition() -> None:
    msgs = [Msg(EV0, 3), Msg(EV1, 8), Msg(EV0, 5), Msg(EV0, 4)]
    assert next_offsets(msgs) == {EV0: 6, EV1: 9}
