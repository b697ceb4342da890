"""Every input partition is processed in offset order, with no offset left out.

Faust's stream drops a message it considers stale (one reaching it while a rebalance has
suspended the flow, or fetched in an earlier consumer generation) and goes on with the
next; its fetcher also drops a re-read message below the highest offset it has handed
over. Either way the agent could see offset 12 of a partition after 10, never 11: a lead's
events out of order, and one of them applied late or never (our rebalance test saw both).

The cursor remembers, per partition, the next offset to process. A message behind it was
processed already (a replay after a seek); a message ahead of it means something was
skipped, so it is not processed, and the partition is sought back to the cursor. Each new
consumer generation starts the cursors from the committed offsets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

TP = Any  # Faust's TopicPartition (a NamedTuple of topic and partition)


class Verdict(Enum):
    PROCESS = "process"
    REPLAYED = "replayed"  # behind the cursor: processed before
    GAP = "gap"  # ahead of the cursor: something before it was skipped


@dataclass
class PartitionCursors:
    generation: int = -1
    _next: dict[TP, int] = field(default_factory=dict)

    def start_generation(self, generation: int) -> None:
        """A rebalance may have moved partitions: forget what this worker had processed."""
        if generation != self.generation:
            self.generation = generation
            self._next.clear()

    def expected(self, tp: TP) -> int | None:
        return self._next.get(tp)

    def classify(self, tp: TP, offset: int, committed: Callable[[TP], int | None]) -> Verdict:
        expected = self._next.get(tp)
        if expected is None:
            expected = committed(tp)
            if expected is None:  # no commit yet: the first offset read is the start
                expected = offset
            self._next[tp] = expected
        if offset < expected:
            return Verdict.REPLAYED
        if offset > expected:
            return Verdict.GAP
        self._next[tp] = offset + 1
        return Verdict.PROCESS

    def skip_to(self, tp: TP, offset: int) -> None:
        """The log itself starts later (retention deleted the rest): move the cursor on."""
        self._next[tp] = offset
