"""The batch runner: consumed records in, a partition's history processed in event time,
every effect in Kafka before its input offsets are marked done.

Per call (a batch from the agent, or ``poll`` between batches):
1. keep each input partition in offset order, none skipped (``ordering``);
2. decode each record and queue it in its partition's merge (``merge``);
3. take every record the merge says is ready, in event time; with the event clock, fire
   each SLA deadline the next record passes first; with the wall clock, fire due deadlines
   of caught-up partitions;
4. deliver the outputs and dead letters, write the leads' states, their deadlines and each
   partition's stream time, and only then mark the processed offsets done for the next
   commit (``commits``). Records still buffered are not marked: a crash reads them again.

It knows Kafka and Faust only through the small ports below, so its tests run against an
in-memory fake (as getsentry/arroyo tests its strategies); ``faust_io`` binds them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.codecs import CodecError
from streams.engine.accounts import AccountSignals
from streams.engine.events import PartitionRef
from streams.engine.merge import UNTIMED, Item, PartitionMerge
from streams.engine.ordering import PartitionCursors, Verdict
from streams.engine.shadow import SHADOW_TAG, ShadowBatch, ShadowRunner
from streams.processor import BatchResult, Inbound, LeadProcessor

log = logging.getLogger("leadflow.engine")

TP = tuple[str, int]  # Faust's TopicPartition is a NamedTuple of the same: they compare equal
INPUTS = ("events", "outcomes")  # merge rank: events before outcomes at the same event time


class Consumer(Protocol):
    """What the runner needs of the consumer."""

    def generation(self) -> int: ...
    def assignment(self) -> Iterable[TP]: ...
    def committed(self, tp: TP) -> int | None: ...
    def highwater(self, tp: TP) -> int | None: ...
    async def earliest(self, tp: TP) -> int: ...
    async def earliest_offsets(self, tps: Sequence[TP]) -> dict[TP, int]: ...
    async def seek(self, targets: dict[TP, int]) -> None: ...
    async def end_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        """The partitions' end offsets, asked of the broker now."""
        ...
    def mark_done(self, offsets: dict[TP, int], generation: int) -> None: ...


class Store(Protocol):
    """What the runner needs of the state tables."""

    def load(self, lead_id: str, rec: Inbound) -> Any: ...
    def timers(self, partitions: Sequence[int]) -> dict[int, tuple[Progress, dict[str, int]]]:
        """Per partition: (its progress, {lead: open SLA deadline})."""
        ...
    async def save(self, result: BatchResult, progress: dict[int, Progress]) -> None:
        """Deliver the batch's outputs, then its deadlines, then its states with each
        partition's progress (last, in the same record batch as the states); return when
        all are in Kafka."""
        ...


@dataclass
class Progress:
    """Where a partition's states stand: its stream time and, per input, the offset after
    the last record they include. A new owner resumes the merge exactly there, so records
    the states already include are never applied again (even after a crash between the
    state writes and the offset commit: an outcome dead-lettered for an unknown lead must
    not find the lead created by later records)."""

    stream_time: int = 0
    offsets: dict[str, int] = field(default_factory=dict)
    ref: Any = None  # a record of the partition (where its table writes land)

    def encode(self) -> bytes:
        return json.dumps({"t": self.stream_time, **self.offsets},
                          separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Progress:
        data = json.loads(raw)
        t = int(data.pop("t", 0))
        return cls(t, {str(k): int(v) for k, v in data.items()})


@dataclass(frozen=True)
class RunnerConfig:
    topics: dict[str, str]  # logical input ("events", "outcomes") -> topic name
    sla_clock: str = "wall"  # "event" | "wall"
    max_idle: float = 2.0  # seconds
    wall_check_every: float = 0.0  # seconds between looks at wall-clock deadlines


class BatchRunner:
    def __init__(self, processor: LeadProcessor, consumer: Consumer, store: Store,
                 config: RunnerConfig, wall_clock: Callable[[], int],
                 monotonic: Callable[[], float] = time.monotonic,
                 on_batch: Callable[[BatchResult, dict[str, int]], None] | None = None,
                 on_resync: Callable[[str], None] | None = None,
                 shadow: ShadowRunner | None = None,
                 accounts: AccountSignals | None = None) -> None:
        self.processor = processor
        self.consumer = consumer
        self.store = store
        self.config = config
        self.wall_clock = wall_clock
        # the clock of the merges' bounded waits (the live worker's counts only the time it
        # spent waiting for records to arrive: streams.engine.fetch.FetchWaitClock)
        self.monotonic = monotonic
        self.on_batch = on_batch  # metrics, KPIs, logs: (result, idle waits by input)
        self.on_resync = on_resync
        self.source_of = {topic: name for name, topic in config.topics.items()}
        self.rank = {name: INPUTS.index(name) for name in config.topics}
        self.cursors = PartitionCursors()
        self.merges: dict[int, PartitionMerge] = {}
        self.generation: int | None = None
        self.assigned: set[TP] = set()  # the input partitions of this generation
        self._starts: dict[TP, int] = {}  # log start of partitions with nothing committed
        self.lock = asyncio.Lock()
        self.event_clock = config.sla_clock == "event"
        self._wall_checked = float("-inf")
        self.shadow = shadow  # a second policy beside the live one (contract 4a), or None
        self.accounts = accounts  # account signals (contract 4b), or None: no accounts

    # -- entry points --------------------------------------------------------------------

    async def run(self, records: Sequence[Inbound]) -> None:
        """A batch of consumed records (any topics and partitions, each in offset order)."""
        async with self.lock:
            await self._sync_generation()
            now = self.wall_clock()
            await self._enqueue(records, now)
            await self._drain_verified()

    async def poll(self) -> None:
        """Between batches: give up waits that lasted ``max_idle``; fire wall-clock
        deadlines of caught-up partitions."""
        async with self.lock:
            await self._sync_generation()
            await self._drain_verified()

    def stream_time(self, partition: int) -> int | None:
        merge = self.merges.get(partition)
        return None if merge is None else merge.stream_time

    # -- generations ---------------------------------------------------------------------

    async def _sync_generation(self) -> None:
        generation = self.consumer.generation()
        if generation == self.generation:
            return
        # A rebalance: buffered records were never processed (nor committed). Drop them,
        # and read each partition this worker keeps again from its first dropped record.
        resume: dict[TP, int] = {}
        for p, merge in self.merges.items():
            for name, offset in merge.drop_buffered().items():
                resume[(self.config.topics[name], p)] = offset
        self.merges.clear()
        self.generation = generation
        self.cursors.start_generation(generation)
        self._starts.clear()
        assigned = self.assigned = {(tp[0], tp[1]) for tp in self.consumer.assignment()}
        targets = {tp: off for tp, off in resume.items() if tp in assigned}
        events_topic = self.config.topics["events"]
        partitions = sorted(p for t, p in assigned if t == events_topic)
        max_idle = self.config.max_idle
        included: dict[TP, int] = {}  # offsets the stored states include, past the commit
        for p, (progress, deadlines) in self.store.timers(partitions).items():
            merge = self.merges[p] = PartitionMerge(INPUTS, progress.stream_time, max_idle)
            merge.applied.update(progress.offsets)
            for lead, due in deadlines.items():
                merge.schedule(lead, due)
            for name, offset in progress.offsets.items():
                tp = (self.config.topics[name], p)
                if tp not in targets and offset > (self.consumer.committed(tp) or 0):
                    # The states include records past the commit: read on after them
                    # (read again, they would only be dropped, and while they stream by
                    # the other input of the partition would wait on them).
                    targets[tp] = included[tp] = offset
        for tp, offset in targets.items():
            self.cursors.skip_to(tp, offset)
        if included:
            # Done too: their effects are in Kafka (outputs go before states). Without this
            # a partition whose last records the states include never commits them (no
            # record comes to mark them), and its lag stays above zero for good.
            self.consumer.mark_done(included, generation)
        if targets:
            try:
                await self.consumer.seek(targets)
            except Exception:  # mid-rebalance again: the next generation starts over
                log.warning("could not seek partitions after a rebalance", exc_info=True)
        if self.shadow is not None:  # its deadlines share the heap, tagged
            for p, deadlines in self.shadow.resume(partitions).items():
                for lead, due in deadlines.items():
                    self._merge(p).schedule(SHADOW_TAG + lead, due)

    def _merge(self, partition: int) -> PartitionMerge:
        merge = self.merges.get(partition)
        if merge is None:  # a partition the assignment did not list (yet): start empty
            merge = self.merges[partition] = PartitionMerge(INPUTS, 0, self.config.max_idle)
        return merge

    # -- enqueue -------------------------------------------------------------------------

    async def _enqueue(self, records: Sequence[Inbound], now: int) -> None:
        gaps: dict[TP, int] = {}
        committed, unknown_start = await self._starts_for(records)
        classify = self.cursors.classify
        decode = self.processor.decode
        rank = self.rank
        mono = self.monotonic()
        merges = self.merges
        assigned = self.assigned
        unassigned: dict[TP, int] = {}
        unstarted: dict[TP, int] = {}  # first offset read of partitions with no known start
        last_merge: PartitionMerge | None = None
        last_name = ""
        for rec in records:
            tp = (rec.topic, rec.partition)
            if tp not in assigned:
                # fetched before a rebalance took the partition away: its new owner reads
                # it (processing it here too would write its states from two workers)
                unassigned[tp] = unassigned.get(tp, 0) + 1
                continue
            if tp in unknown_start:  # read it again from here next batch
                unstarted.setdefault(tp, rec.offset)
                continue
            verdict = classify(tp, rec.offset, committed)
            name = rec.source
            merge = merges.get(rec.partition) or self._merge(rec.partition)
            if verdict is not Verdict.PROCESS:
                # not ours to apply, but the input is delivering: not idle
                merge.touch(name, mono)
                if verdict is Verdict.GAP:
                    gaps.setdefault(tp, rec.offset)
                continue
            try:
                lead_id, model = decode(rec, now)
            except CodecError as err:
                item = Item(UNTIMED, rank[name], rec.offset, rec, error=err)
            else:
                item = Item(model.occurred_at, rank[name], rec.offset, rec, lead_id, model)
            merge.queues[name].append(item)
            if merge is not last_merge or name != last_name:  # push()'s bookkeeping, once
                merge.delivered(name)                        # per run of one input
                last_merge, last_name = merge, name
        for tp, n in unassigned.items():
            log.warning("%d record(s) of %s-%d not applied: the partition is not assigned to "
                        "this worker in generation %s", n, tp[0], tp[1], self.generation,
                        extra={"event": "unassigned", "partition": tp[1]})
        for tp, seen in gaps.items():
            await self._resync(tp, seen)
        if unstarted:
            try:
                await self.consumer.seek(unstarted)
            except Exception:  # mid-rebalance: the next generation starts over
                log.warning("could not seek back partitions with no known start",
                            exc_info=True)

    async def _starts_for(self, records: Sequence[Inbound]
                          ) -> tuple[Callable[[TP], int | None], set[TP]]:
        """Where each input partition starts for the cursors: its committed offset, else
        (nothing committed yet) the log start, asked once per generation for every such
        partition of the assignment. Not the first offset read: a fetch dropped around a
        rebalance can move an uncommitted partition's position past its first records, and
        they were then never applied (a two-worker start-up lost the first lead of a
        partition so). Also returns the partitions whose start is not known (the broker did
        not answer): their records wait for the next batch."""
        consumer, cursors, starts = self.consumer, self.cursors, self._starts

        def unknown(tp: TP) -> bool:
            return (tp not in starts and cursors.expected(tp) is None
                    and consumer.committed(tp) is None)

        read = {(rec.topic, rec.partition) for rec in records}
        if any(unknown(tp) for tp in read):
            missing = [tp for tp in self.assigned if unknown(tp)]
            try:  # one request for all of them
                starts.update(await consumer.earliest_offsets(missing))
            except Exception:  # mid-rebalance: the next batch asks again
                log.warning("could not ask where %d partition(s) start; their records wait "
                            "for the next batch", len(missing), exc_info=True)

        def start(tp: TP) -> int | None:
            committed = consumer.committed(tp)
            return committed if committed is not None else starts.get(tp)

        return start, {tp for tp in read if unknown(tp)}

    async def _resync(self, tp: TP, seen: int) -> None:
        expected = self.cursors.expected(tp)
        assert expected is not None
        try:
            target = max(expected, await self.consumer.earliest(tp))
            self.cursors.skip_to(tp, target)
            log.warning("partition %s-%d skipped from offset %d to %d; reading it again from "
                        "%d", tp[0], tp[1], expected, seen, target,
                        extra={"event": "resync", "partition": tp[1]})
            await self.consumer.seek({tp: target})
            if self.on_resync is not None:
                self.on_resync(self.source_of.get(tp[0], "events"))
        except Exception:  # mid-rebalance: the next generation starts over anyway, and
            # the stall watchdog seeks a partition that stays stuck
            log.warning("could not seek back a partition with a gap", exc_info=True)

    # -- the merge -----------------------------------------------------------------------

    def _position(self, tp: TP) -> int:
        position = self.cursors.expected(tp)
        if position is None:
            position = self.consumer.committed(tp)
        return position or 0

    async def _drain_verified(self) -> None:
        """Drain until no merge waits on a high watermark that was not checked.

        The consumer's high watermark of a partition is the one its last fetch of that
        partition saw, and the inputs are fetched independently: a record of one input
        can arrive from a newer fetch than the other input's high watermark, and records
        written to the other input before it would then look like they do not exist (an
        outcome overtaking its lead's events on a live stream). So an input that looks read
        to its end while the other input of its partition has a record waiting is checked
        against the broker's end offset, asked after the waiting record was fetched (it
        includes every record written before it). Inputs that look so before the drain are
        asked at once; an input that runs dry during the drain stops its partition there,
        and the drain goes on after one more request."""
        verified = await self._ask_ends(self._looking_read())
        while unchecked := await self._drain(verified):
            verified.update(await self._ask_ends(sorted(unchecked)))

    def _looking_read(self) -> list[TP]:
        """Empty inputs that look read to their end while their partition has records."""
        wanted: list[TP] = []
        topics, consumer = self.config.topics, self.consumer
        for p, merge in self.merges.items():
            if not merge.buffered():
                continue
            for name, queue in merge.queues.items():
                if queue:
                    continue
                tp = (topics[name], p)
                end = consumer.highwater(tp)
                if end is not None and self._position(tp) >= end:
                    wanted.append(tp)
        return wanted

    async def _ask_ends(self, tps: list[TP]) -> dict[TP, int]:
        if not tps:
            return {}
        try:
            return await self.consumer.end_offsets(tps)
        except Exception:  # mid-rebalance: not known to be caught up, wait
            log.debug("could not ask the end offsets", exc_info=True)
            return {tp: self._position(tp) + 1 for tp in tps}

    def _caught_up(self, partition: int, verified: dict[TP, int],
                   unchecked: set[TP] | None = None) -> Callable[[str], bool]:
        """Whether an input of the partition has no unread record. Nothing is read while a
        drain runs, so each answer is asked of the consumer once per drain; ``verified``:
        end offsets just asked of the broker, which override the consumer's. With
        ``unchecked`` (the merge asks: another input has a record waiting), an input that
        looks read to its end only by the consumer's high watermark is not taken as caught
        up but collected there, to be asked of the broker (see ``_drain_verified``)."""
        topics, consumer, cursors = self.config.topics, self.consumer, self.cursors
        known: dict[str, bool] = {}

        def caught_up(name: str) -> bool:
            answer = known.get(name)
            if answer is None:
                tp = (topics[name], partition)
                end = verified.get(tp)
                checked = end is not None
                if end is None:
                    end = consumer.highwater(tp)
                if end is None:  # never fetched: unknown, so not known to be caught up
                    answer = False
                else:
                    position = cursors.expected(tp)
                    if position is None:
                        position = consumer.committed(tp)
                    answer = (position or 0) >= end
                    if answer and not checked and unchecked is not None:
                        unchecked.add(tp)
                        answer = False
                known[name] = answer
            return answer

        return caught_up

    async def _drain(self, verified: dict[TP, int]) -> set[TP]:
        """One pass of every partition's merge; returns the inputs a merge stopped on
        because only the consumer's high watermark said they were read to the end."""
        unchecked: set[TP] = set()
        waiting: dict[int, frozenset[str]] = {}  # inputs waited on before this pass
        now = self.wall_clock()
        mono = self.monotonic()
        batch = self.processor.batch(self.store.load, now)
        shadow = None if self.shadow is None else self.shadow.batch(batch)
        done: dict[TP, int] = {}
        progress: dict[int, Progress] = {}
        idle: dict[str, int] = {}
        event_clock = self.event_clock
        accounts = self.accounts
        real = time.monotonic()
        check_wall = not event_clock and real - self._wall_checked >= self.config.wall_check_every
        if check_wall:
            self._wall_checked = real
        apply, deadline = batch.apply, batch.deadline
        for p, merge in self.merges.items():
            caught_up = self._caught_up(p, verified)
            waiting_on = self._caught_up(p, verified, unchecked)
            if merge.buffered():
                waiting[p] = merge.waiting()
            before = merge.stream_time
            fired = batch.result.ticks
            schedule = merge.schedule
            last: dict[str, Inbound] = {}  # per input, the last record taken
            for item in merge.ready(waiting_on, mono):
                rec = item.rec
                last[rec.source] = rec
                if event_clock:
                    while (due := merge.due_before(item.t)) is not None:
                        self._fire(batch, merge, p, due[1], due[0], shadow)
                if item.error is not None:
                    batch.dead_letter(rec, item.error)
                    continue
                lead_id = item.lead_id
                assert lead_id is not None
                if accounts is not None:
                    known = accounts.before(batch, lead_id, rec)
                if shadow is None:
                    apply(rec, lead_id, item.model)
                else:  # applies it to the live batch too
                    shadow.apply(rec, lead_id, item.model, merge)
                if accounts is not None:
                    accounts.after(batch, lead_id, rec, item.t, known, merge.stream_time)
                schedule(lead_id, deadline(lead_id))
            ref: Any = None
            for name, rec in last.items():  # each input's records are taken in offset order
                merge.applied[name] = done[(rec.topic, rec.partition)] = rec.offset + 1
                ref = rec.ref
            if check_wall:
                while (due := merge.due_by_wall(now, caught_up)) is not None:
                    self._fire(batch, merge, p, due[1], now, shadow)
            if accounts is not None:  # where the partition stands, for the account side
                accounts.mark(batch, p, merge.stream_time, not merge.buffered() and all(
                    caught_up(name) for name in self.config.topics))
            if (ref is not None or merge.stream_time != before
                    or batch.result.ticks != fired):
                progress[p] = Progress(merge.stream_time, self._offsets(p, merge),
                                       ref or self._ref(p))
            for name, n in merge.idle_waits.items():
                idle[name] = idle.get(name, 0) + n
                log.warning("partition %d: gave up waiting for %s (nothing of it read for "
                            "%.1f s, %d record(s) of it unread); its records may now come "
                            "after later ones of the other input", p, name,
                            self.config.max_idle, self._unread((self.config.topics[name], p)),
                            extra={"event": "idle_wait", "partition": p, "input": name})
            merge.idle_waits.clear()
        result = batch.result
        if (not done and not result.states and not result.outbound and not idle
                and (shadow is None or not shadow.result.pending)):
            return self._unwait(unchecked, waiting)
        if shadow is not None:  # first: see streams.engine.shadow
            await shadow.runner.save(shadow, progress)
        await self.store.save(result, progress)
        if done:
            self.consumer.mark_done(done, self.generation if self.generation is not None
                                    else -1)
        if self.on_batch is not None:
            self.on_batch(result, idle)
        return self._unwait(unchecked, waiting)

    def _unwait(self, unchecked: set[TP], waiting: dict[int, frozenset[str]]) -> set[TP]:
        """A stop on an unchecked input is not a wait yet: its clock starts once the broker
        says records of it are unread (one that ran before this pass runs on)."""
        for topic, p in unchecked:
            name = self.source_of[topic]
            if name not in waiting.get(p, ()):
                self.merges[p].forget_wait(name)
        return unchecked

    def _fire(self, batch: Any, merge: PartitionMerge, partition: int, lead_id: str,
              now: int, shadow: ShadowBatch | None = None) -> None:
        tagged = lead_id[0] == SHADOW_TAG
        if tagged:
            lead_id = lead_id[1:]
        rec = Inbound("events", self.config.topics["events"], partition, -1,
                      lead_id.encode(), None, self._ref(partition))
        if tagged:
            assert shadow is not None
            shadow.tick(lead_id, rec, now, merge)
            return
        batch.tick(lead_id, rec, now)
        merge.schedule(lead_id, batch.deadline(lead_id))

    def _unread(self, tp: TP) -> int:
        end = self.consumer.highwater(tp)
        position = self.cursors.expected(tp)
        if position is None:
            position = self.consumer.committed(tp) or 0
        return max(0, (end or 0) - position)

    def _offsets(self, partition: int, merge: PartitionMerge) -> dict[str, int]:
        """Per input of the partition, the offset after the last record its states
        include: the last one applied, else the committed offset."""
        out = dict(merge.applied)
        for name, topic in self.config.topics.items():
            if name not in out:
                committed = self.consumer.committed((topic, partition))
                if committed is not None:
                    out[name] = committed
        return out

    def _ref(self, partition: int) -> PartitionRef:
        return PartitionRef(self.config.topics["events"], partition)

