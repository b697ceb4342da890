"""The input offsets Faust commits are the ones leadflow says are done.

Faust commits, per partition, the highest run of offsets its streams acknowledged, and its
bookkeeping lets that run jump over events nobody processed: its stream acknowledges a
message it skips in a rebalance as if processed, and its gap check lets one unacknowledged
offset through (``min(acked) - committed > 1`` in its consumer's new-offset method). Either way the
commit moves past an event, and whoever owns the partition next never sees it; our
rebalance test lost events exactly so.

The agent knows which offsets' effects are in Kafka: after each batch it marks, per input
partition, the offset after the last one it processed (``streams.engine.ordering`` guarantees no
offset before it was left out). Faust's own commits (every ``broker_commit_interval``, and
before a rebalance or a stop goes on) take exactly those offsets for the input partitions;
everything else they commit as before. The batch itself never waits for a commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from streams.engine import faust_private

TP = Any  # Faust's TopicPartition


class InputCommits:
    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = frozenset(topics)
        self.generation = -1
        self._done: dict[TP, int] = {}

    def mark_done(self, offsets: dict[TP, int], generation: int) -> None:
        """`offsets`: per partition, the next offset to read; all before it are done."""
        if generation != self.generation:  # a rebalance: what was done before is history
            self.generation = generation
            self._done.clear()
        done = self._done
        for tp, offset in offsets.items():
            if offset > done.get(tp, -1):
                done[tp] = offset

    def committable(self, tp: TP, generation: int) -> int | None:
        return self._done.get(tp) if generation == self.generation else None

    def install(self, consumer: Any, generation: Callable[[], int]) -> None:
        """Make Faust's commit use our offsets for the inputs."""

        def new_offset(tp: TP, faust_new_offset: Callable[[TP], int | None]) -> int | None:
            if tp.topic in self.topics:
                faust_private.forget_acks(consumer, tp)
                return self.committable(tp, generation())
            return faust_new_offset(tp)

        def pending(topics: Any, faust_pending: Iterator[TP]) -> Iterator[TP]:
            # Faust forgets the acknowledgements of revoked partitions before its last
            # commit; ours still count, so that commit carries them.
            seen = set()
            for tp in faust_pending:
                seen.add(tp)
                yield tp
            if generation() == self.generation:
                for tp in list(self._done):
                    if tp not in seen and (topics is None or tp in topics
                                           or tp.topic in topics):
                        yield tp

        faust_private.override_commit_offsets(consumer, new_offset, pending)


def next_offsets(messages: Iterable[Any]) -> dict[TP, int]:
    """Per partition, the offset after the highest one in `messages`."""
    nexts: dict[TP, int] = {}
    for message in messages:
        offset = message.offset + 1
        if offset > nexts.get(message.tp, -1):
            nexts[message.tp] = offset
    return nexts
