"""The shadow policy beside the live one, as the batch runner's optional collaborator.

The runner hands every record it applies to the live ``Batch`` through ``ShadowBatch.apply``
(which applies it to both and diffs the two decisions with ``streams.domain.shadow.diff``),
and fires the shadow's SLA deadlines from the same per-partition heap as the live ones,
under keys tagged ``SHADOW_TAG`` (lead ids never start with it): the shadow's decisions are
a function of the same time-ordered history. Without a shadow the runner never calls here.

The shadow has its own state, deadlines and progress (``ShadowStore``). Its outputs are
never sent: only its ``ShadowDiff`` records are. Its states are saved *before* the live
states, so after a crash its progress is at or past the live one; a record its states
already include is applied to the live side only, and its diff (sent before those states)
is not made again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.domain import LeadEvent, LeadState, Policy, SalesOutcome
from streams.domain.shadow import ShadowDiff, diff
from streams.engine.merge import PartitionMerge
from streams.processor import Batch, BatchResult, Inbound, LeadProcessor, Outbound

SHADOW_TAG = "\x00"  # prefix of the shadow's keys in a partition's deadline heap
LOGICAL = "shadow_diffs"  # settings.TopicNames field of leads.shadow-diffs


@dataclass
class ShadowResult:
    batch: BatchResult  # the shadow's own states, deadlines and (never sent) outputs
    outbound: list[Outbound] = field(default_factory=list)  # ShadowDiff records only
    diffs: list[ShadowDiff] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # diffs by kind, for the metric

    @property
    def pending(self) -> bool:
        return bool(self.outbound or self.batch.states)


class ShadowStore(Protocol):
    """What the shadow needs of its tables (as ``runner.Store``, for the shadow's own)."""

    def load(self, lead_id: str, rec: Inbound) -> LeadState | None: ...
    def timers(self, partitions: Sequence[int]) -> dict[int, tuple[Any, dict[str, int]]]:
        """Per partition: (its progress, {lead: open SLA deadline})."""
        ...
    async def save(self, result: ShadowResult, progress: dict[int, Any]) -> None:
        """Send the diffs, then write deadlines, then states with each partition's
        progress; return when all are in Kafka."""
        ...


class ShadowRunner:
    def __init__(self, processor: LeadProcessor, live_policy: Policy, store: ShadowStore,
                 on_batch: Callable[[ShadowResult], None] | None = None) -> None:
        self.processor = processor
        self.policies = (live_policy, processor.policy)
        self.store = store
        self.on_batch = on_batch
        # partition -> per input, the offset after the last record the shadow's states hold
        self.offsets: dict[int, dict[str, int]] = {}

    def resume(self, partitions: Sequence[int]) -> dict[int, dict[str, int]]:
        """After a rebalance: the shadow's progress, and its open deadlines per partition
        (untagged lead ids)."""
        self.offsets.clear()
        out: dict[int, dict[str, int]] = {}
        for p, (progress, deadlines) in self.store.timers(partitions).items():
            self.offsets[p] = dict(progress.offsets)
            out[p] = deadlines
        return out

    def batch(self, live: Batch) -> ShadowBatch:
        return ShadowBatch(self, live)

    async def save(self, sb: ShadowBatch, live_progress: dict[int, Any]) -> None:
        """Before the live save: the shadow's progress never falls behind its states, nor
        behind what it skipped as already applied."""
        from streams.engine.runner import Progress

        progress: dict[int, Progress] = {}
        for p, where in live_progress.items():
            mine = self.offsets.setdefault(p, {})
            for name, offset in where.offsets.items():
                if offset > mine.get(name, -1):
                    mine[name] = offset
            progress[p] = Progress(where.stream_time, dict(mine), where.ref)
        result = sb.result
        if not result.pending and not progress:
            return
        await self.store.save(result, progress)
        if self.on_batch is not None:
            self.on_batch(result)


class ShadowBatch:
    def __init__(self, runner: ShadowRunner, live: Batch) -> None:
        self.runner = runner
        self.live = live
        self.batch = runner.processor.batch(runner.store.load, live.now)
        self.result = ShadowResult(self.batch.result)
        self.codecs = runner.processor.codecs

    def apply(self, rec: Inbound, lead_id: str, model: LeadEvent | SalesOutcome,
              merge: PartitionMerge) -> None:
        """Apply one record to the live batch and, unless its states already hold it, to
        the shadow; diff the two decisions; schedule the shadow's deadline."""
        live = self.live
        live_before = live.state(lead_id, rec)
        mark = len(live.result.outputs)
        live.apply(rec, lead_id, model)
        done = self.runner.offsets.get(rec.partition)
        if done is not None and rec.offset < done.get(rec.source, 0):
            return  # the shadow's saved states hold it (a crash between the two saves)
        shadow = self.batch
        before = shadow.state(lead_id, rec)
        smark = len(shadow.result.outputs)
        shadow.apply(rec, lead_id, model)
        found = diff(live_before, live.state(lead_id, rec),
                     [o for o, _ in live.result.outputs[mark:]], before,
                     shadow.state(lead_id, rec), [o for o, _ in shadow.result.outputs[smark:]],
                     model, self.runner.policies)
        if found is not None:
            record = found.to_record()
            value = self.codecs.encode("ShadowDiff", record)
            self.result.outbound.append(Outbound(LOGICAL, lead_id.encode(), value, record,
                                                 "ShadowDiff"))
            self.result.diffs.append(found)
            self.result.kinds.update(found.kinds)
        merge.schedule(SHADOW_TAG + lead_id, shadow.deadline(lead_id))

    def tick(self, lead_id: str, rec: Inbound, now: int, merge: PartitionMerge) -> None:
        """The shadow's SLA deadline of ``lead_id`` (untagged) at ``now``."""
        shadow = self.batch
        shadow.tick(lead_id, rec, now)
        merge.schedule(SHADOW_TAG + lead_id, shadow.deadline(lead_id))
