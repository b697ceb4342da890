"""leadflow, not Faust, commits the input offsets.

Faust commits, per partition, the highest run of offsets its streams acknowledged, and its
bookkeeping lets that run jump over events nobody processed: its stream acknowledges a
message it skips in a rebalance as if processed, and its gap check lets one unacknowledged
offset through (``min(acked) - committed > 1`` in ``Consumer._new_offset``). Either way the
commit moves past an event, and whoever owns the partition next never sees it; our
rebalance test lost events exactly so.

The agent knows which offsets' effects are in Kafka: after each batch it commits, per input
partition, the offset after the last one it processed (``streams.ordering`` guarantees no
offset before it was left out). Faust's own periodic commit is told there is nothing of its
to commit on the inputs; it still commits anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from time import monotonic
from typing import Any

log = logging.getLogger("leadflow.commits")

TP = Any  # Faust's TopicPartition


class InputCommits:
    def __init__(self, topics: Iterable[str],
                 on_commit: Callable[[float], None] | None = None) -> None:
        self.topics = frozenset(topics)
        self.on_commit = on_commit  # commit latency, seconds

    def install(self, consumer: Any) -> None:
        """Faust's commit leaves the input partitions to us (an instance attribute shadows
        the method Faust calls for every partition it considers committing)."""
        faust_new_offset: Callable[[TP], int | None] = consumer._new_offset
        acked, acked_index = consumer._acked, consumer._acked_index

        def new_offset(tp: TP) -> int | None:
            if tp.topic in self.topics:
                # Drop Faust's acknowledgement lists here, or they would only grow.
                acked.pop(tp, None)
                acked_index.pop(tp, None)
                return None
            return faust_new_offset(tp)

        consumer._new_offset = new_offset

    async def commit(self, consumer: Any, offsets: Mapping[TP, int]) -> bool:
        """Commit `offsets` (next offset to read, per partition) where they move forward."""
        committed = consumer._committed_offset
        forward = {tp: offset for tp, offset in offsets.items()
                   if committed.get(tp) is None or offset > committed[tp]}
        if not forward:
            return True
        started = monotonic()
        ok = bool(await consumer._commit(forward))
        if ok:
            committed.update(forward)
        else:  # the group rebalanced meanwhile: the next owner replays from the last commit
            log.info("input commit refused by the group (rebalanced); the batch will be "
                     "replayed by the partition's next owner", extra={"event": "commit_refused"})
        if self.on_commit is not None:
            self.on_commit(monotonic() - started)
        return ok


def next_offsets(messages: Iterable[Any]) -> dict[TP, int]:
    """Per partition, the offset after the highest one in `messages`."""
    nexts: dict[TP, int] = {}
    for message in messages:
        offset = message.offset + 1
        if offset > nexts.get(message.tp, -1):
            nexts[message.tp] = offset
    return nexts
