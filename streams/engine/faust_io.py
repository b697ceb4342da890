"""The batch runner's ports bound to the Faust app: its consumer, its tables, its producer.

``LiveRunner`` is what the worker's agent (``agents/score_leads.py``) feeds: every batch
``take_events`` gives, and a short timer's ``poll`` that lets the merge give up a bounded
wait and fire wall-clock deadlines between batches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import faust
from faust.types import TP as TopicPartition

from streams import metrics
from streams.domain import decode_state, encode_state
from streams.engine import faust_private
from streams.engine.accounts import AccountSignals
from streams.engine.delivery import Send
from streams.engine.events import PartitionRef, at_event
from streams.engine.fetch import FetchWaitClock
from streams.engine.runner import TP, BatchRunner, Progress, RunnerConfig
from streams.engine.shadow import SHADOW_TAG
from streams.engine.state_writes import TableWrites
from streams.logs import log_dead_letters
from streams.processor import BatchResult, Inbound, LeadProcessor
from streams.tables import PROGRESS_KEY

if TYPE_CHECKING:
    from streams.runtime import Runtime

log = logging.getLogger("leadflow.engine")

STOP_GRACE = 30.0
FETCH_SLICE = 1000  # records per runner batch (streams.engine.fetch hands over whole fetches)
EXIT_BATCH_FAILED = 70


class FaustConsumer:
    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    def generation(self) -> int:
        return int(self.app.consumer_generation_id)

    def assignment(self) -> Iterable[TP]:
        return self.app.consumer.assignment()

    def committed(self, tp: TP) -> int | None:
        return faust_private.committed_offset(self.app.consumer, TopicPartition(*tp))

    def highwater(self, tp: TP) -> int | None:
        try:
            end = self.app.consumer.highwater(TopicPartition(*tp))
        except Exception:  # not assigned (any more): nothing is known of it
            return None
        return None if end is None else int(end)

    async def earliest(self, tp: TP) -> int:
        return (await self.earliest_offsets([tp])).get((tp[0], tp[1]), 0)

    async def earliest_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        return await self.runtime.broker_offsets.beginning_offsets(tps)

    async def end_offsets(self, tps: Sequence[TP]) -> dict[TP, int]:
        return await self.runtime.broker_offsets.end_offsets(tps)

    async def seek(self, targets: dict[TP, int]) -> None:
        consumer: Any = self.app.consumer
        await consumer.seek_wait({TopicPartition(*tp): off for tp, off in targets.items()})

    def mark_done(self, offsets: dict[TP, int], generation: int) -> None:
        self.runtime.input_commits.mark_done(
            {TopicPartition(*tp): off for tp, off in offsets.items()}, generation)


class TableStore:
    """Lead states, deadlines and stream times in the worker's Faust tables."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.leads = runtime.tables.leads
        self.deadlines = runtime.tables.deadlines

    def load(self, lead_id: str, rec: Inbound) -> Any:
        with at_event(rec.ref):
            raw = self.leads.get(lead_id.encode())
        return decode_state(raw) if raw else None

    def timers(self, partitions: Sequence[int]) -> dict[int, tuple[Progress, dict[str, int]]]:
        """Read once per rebalance: the progress and open deadlines of the partitions this
        worker now owns (deadline values carry their partition)."""
        wanted = set(partitions)
        events_topic = self.runtime.topic_names["events"]
        out: dict[int, tuple[Progress, dict[str, int]]] = {}
        for p in partitions:
            with at_event(PartitionRef(events_topic, p)):
                raw = self.leads.get(PROGRESS_KEY)
            out[p] = (Progress.decode(raw) if raw else Progress(), {})
        for key, value in list(self.deadlines.items()):
            text, _, part = value.decode().partition("|")
            p = int(part)
            if p in wanted:
                out[p][1][key.decode()] = int(text)
        return out

    async def save(self, result: BatchResult, progress: dict[int, Progress]) -> None:
        runtime, leads, deadlines = self.runtime, self.leads, self.deadlines
        # An unkeyed record (a dead letter of an unkeyed input) goes to partition 0, not
        # to the partitioner's random pick: the same inputs give the same output topics.
        sends = [Send(runtime.topic_names[o.logical], o.key, o.value,
                      o.partition if o.partition is not None
                      else 0 if o.key is None else None) for o in result.outbound]
        # Outputs and deadlines (one round trip) before states: a crash in between leaves
        # the states behind, and the records they miss are applied again (same outputs,
        # same ids).
        timers, states = lead_writes(result, progress, leads, deadlines)
        await timers.apply(runtime.deliver, along=sends)
        await states.apply(runtime.deliver, atomic=True)  # with the progress records
        runtime.kpis.observe(result.outputs)
        # The KPI table's changelog records (written the Faust way) are in Kafka before
        # the batch is committed, too.
        await self.app.producer.flush()


def lead_writes(result: BatchResult, progress: dict[int, Progress], leads: Any,
                deadlines: Any) -> tuple[TableWrites, TableWrites]:
    """A batch's table writes: (deadlines, states with each partition's progress last, in
    the same record batch as its states). The live side and the shadow both write so."""
    timers, states = TableWrites(), TableWrites()
    for lead_id, (state, rec) in result.states.items():
        key, partition, ref = lead_id.encode(), rec.partition, rec.ref
        due = result.deadlines.get(lead_id)
        if due is not None:
            timers.put(deadlines, partition, ref, key, f"{due}|{partition}".encode())
        else:
            timers.delete_if_present(deadlines, partition, ref, key)
        if lead_id in result.erased:
            # Privacy erasure: a tombstone first, then the bare ERASED marker;
            # compaction of the changelog drops every earlier value.
            states.tombstone(leads, partition, ref, key)
        states.put(leads, partition, ref, key, encode_state(state))
    for partition, where in progress.items():
        states.put(leads, partition, where.ref, PROGRESS_KEY, where.encode())
    return timers, states


def record_metrics(result: BatchResult, idle_waits: dict[str, int]) -> None:
    """A batch's counts to Prometheus, once per batch."""
    counts = result.counts
    for (kind, outcome), n in counts.events.items():
        metrics.count_event(kind, outcome, n)
    for otype, n in counts.outcomes.items():
        metrics.count_outcome(otype, n)
    for error_type, n in counts.dead_letters.items():
        metrics.count_dead_letter(error_type, n)
    for (src, dst), n in counts.transitions.items():
        metrics.count_stage_transition(src, dst, n)
    for (path, queue), n in counts.handoffs.items():
        metrics.count_handoff(path, queue, n)
    for ftype, n in counts.feedback.items():
        metrics.count_feedback(ftype, n)
    for queue, n in counts.sla_breaches.items():
        metrics.count_sla_breach(queue, n)
    for age in counts.event_ages:
        metrics.observe_event_age(age)
    for name, n in idle_waits.items():
        metrics.count_idle_wait(name, n)


class LiveRunner:
    """The runner as the worker's agent and timer use it: Faust events in, guarded."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        from streams.web import is_ready

        settings = runtime.settings
        processor = LeadProcessor(runtime.policy, runtime.codecs, runtime.topic_names)
        config = RunnerConfig(topics={name: runtime.topic_names[name]
                                      for name in ("events", "outcomes")},
                              sla_clock=settings.sla_clock,
                              max_idle=settings.max_idle_ms / 1000.0,
                              wall_check_every=settings.sla_check_interval)

        def on_batch(result: BatchResult, idle_waits: dict[str, int]) -> None:
            record_metrics(result, idle_waits)
            if result.processed or result.ticks:
                runtime.advance_watermark(result.max_event_time)
            if result.dead_letters:
                log_dead_letters(log, result.dead_letters)

        from streams.engine.shadow_faust import shadow_runner  # (imports this module)

        whole = settings.whole_fetches
        waits = FetchWaitClock()
        self.runner = BatchRunner(processor, FaustConsumer(app, runtime),
                                  TableStore(app, runtime), config, runtime.clock,
                                  monotonic=waits if whole else time.monotonic,
                                  on_batch=on_batch, on_resync=metrics.count_resync,
                                  shadow=shadow_runner(app, runtime),
                                  accounts=AccountSignals.for_policy(
                                      runtime.policy, runtime.settings.partitions))
        self.source_of = runtime.topics.source_of
        self.app = app
        self.runtime = runtime
        self.is_ready = is_ready
        self._refs: dict[tuple[str, int], PartitionRef] = {}
        runtime.extras["runner"] = self.runner
        # whole fetches of the inputs, below Faust's per-event stream (streams.engine.fetch)
        if whole:
            app.input_sink = (  # type: ignore[attr-defined]
                frozenset(self.source_of), self.feed_fetched, waits, self.quiesce)

    async def quiesce(self) -> None:
        """Return once no batch (a fetch's, or the poll timer's) is in flight."""
        async with self.runner.lock:
            pass

    async def feed_fetched(self, fetched: Sequence[tuple[Any, Sequence[Any]]]) -> None:
        """One fetch's records of the input partitions (aiokafka records, per partition in
        offset order)."""
        source_of, refs = self.source_of, self._refs
        records: list[Inbound] = []
        sensor = self.runtime.extras.get("engine_sensor")
        for tp, batch in fetched:
            topic, partition = tp.topic, tp.partition
            ref = refs.get((topic, partition))
            if ref is None:  # where the partition's table writes land
                ref = refs[(topic, partition)] = PartitionRef(topic, partition)
            source = source_of[topic]
            records.extend(Inbound(source, topic, partition, r.offset, r.key, r.value, ref)
                           for r in batch)
            if sensor is not None:
                sensor.received[topic] += len(batch)
        # A fetch can hold a thousand records or more per partition: the runner takes
        # them in slices, so that one partition's state writes of a batch stay one record
        # batch well under the changelog's size limit (streams.tables).
        for start in range(0, len(records), FETCH_SLICE):
            part = records[start:start + FETCH_SLICE]
            with metrics.time_processing(len(part)):
                await guarded(self.runner.run(part))

    async def feed(self, events: Iterable[faust.EventT[bytes]]) -> None:
        """A batch from the agent's stream (only if a record ever comes that way: the
        inputs' fetches go to ``feed_fetched``)."""
        source_of = self.source_of
        records = [Inbound(source_of[ev.message.topic], ev.message.topic, ev.message.partition,
                           ev.message.offset, ev.key, ev.value, ev) for ev in events]
        with metrics.time_processing(len(records)):
            await guarded(self.runner.run(records))

    async def poll(self) -> None:
        """Between batches: bounded waits given up, wall-clock deadlines fired."""
        if self.is_ready(self.app):
            await guarded(self.runner.poll())
            merges = self.runner.merges.values()
            open_handoffs = sum(m.open_deadlines() for m in merges)
            if self.runner.shadow is not None:  # the live policy's hand-offs only
                open_handoffs -= sum(m.open_deadlines_tagged(SHADOW_TAG) for m in merges)
            metrics.set_open_handoffs(open_handoffs)


async def guarded(work: Any) -> None:
    """Faust acknowledges a batch when the agent's step returns *or raises*, and a stop
    cancels it: a half-done batch must never count as done. A stop waits for the batch to
    finish; anything else that escapes (the processor already dead-letters bad records)
    ends the process without a commit, and the restart replays the batch."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        try:
            await asyncio.wait_for(task, timeout=STOP_GRACE)
        except BaseException:
            log.critical("stopping mid-batch and cannot finish it; exiting without commit")
            os._exit(EXIT_BATCH_FAILED)
        raise
    except BaseException:
        log.critical("batch failed; exiting without commit so it is replayed", exc_info=True)
        os._exit(EXIT_BATCH_FAILED)
