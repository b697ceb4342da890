"""score_leads: lead events, sales outcomes and SLA ticks -> state, transitions, hand-offs,
feedback and dead letters. One agent, one ordered stream per partition, one state table.

Per batch: keep each input partition in offset order (streams.ordering), decode + run the
domain core (streams.processor), deliver every output and dead letter and wait for the
broker's acks, write the leads' new states and flush their changelog records, and only then
mark the batch's input offsets done for the next commit (streams.commits). An offset is
committed only for inputs whose effects, outputs and state alike, are in Kafka
(deterministic ids make the replays after a crash harmless).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
from typing import TYPE_CHECKING, Any

import faust

from streams import metrics
from streams.commits import next_offsets
from streams.delivery import Send
from streams.domain import decode_state, encode_state
from streams.ordering import PartitionCursors, Verdict
from streams.processor import Inbound, LeadProcessor
from streams.state_writes import TableWrites
from streams.tables import at_event

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger("leadflow.score_leads")

BATCH_MAX = 500
BATCH_WITHIN = 0.01  # seconds: a lone event waits at most this long for company (latency)
STOP_GRACE = 30.0


def in_arrival_order(events: list[faust.EventT[bytes]]) -> list[faust.EventT[bytes]]:
    """Lead events and sales outcomes come from two topics with no order between them; a
    fetch may hand over one topic's backlog before the other's. Within a batch, interleave
    them by record timestamp while keeping each topic partition's own order, so an outcome
    does not overtake the events that preceded it (as far as this batch can tell)."""
    streams: dict[tuple[str, int], list[faust.EventT[bytes]]] = {}
    for ev in events:
        streams.setdefault((ev.message.topic, ev.message.partition), []).append(ev)
    if len(streams) == 1:
        return events
    return list(heapq.merge(*streams.values(), key=lambda ev: ev.message.timestamp or 0.0))


def attach(app: faust.App, runtime: Runtime) -> None:
    topics, tables = runtime.topics, runtime.tables
    processor = LeadProcessor(runtime.policy, runtime.codecs, runtime.topic_names)
    kpis = runtime.kpis
    cursors = PartitionCursors()

    async def in_offset_order(events: list[faust.EventT[bytes]]) -> list[faust.EventT[bytes]]:
        """The events to process: none already processed, none past a skipped offset (see
        streams.ordering); a partition with a gap is read again from the gap."""
        consumer: Any = app.consumer  # Faust's own offset bookkeeping is not in its types
        cursors.start_generation(app.consumer_generation_id)
        committed = consumer._committed_offset.get
        keep: list[faust.EventT[bytes]] = []
        gaps: dict[Any, int] = {}
        for ev in events:
            msg = ev.message
            verdict = cursors.classify(msg.tp, msg.offset, committed)
            if verdict is Verdict.PROCESS:
                keep.append(ev)
            elif verdict is Verdict.GAP:
                gaps.setdefault(msg.tp, msg.offset)
        for tp, seen in gaps.items():
            expected = cursors.expected(tp)
            assert expected is not None
            try:
                earliest = (await consumer.earliest_offsets(tp)).get(tp) or 0
                target = max(expected, earliest)
                cursors.skip_to(tp, target)
                log.warning("partition %s-%d skipped from offset %d to %d; reading it again "
                            "from %d", tp.topic, tp.partition, expected, seen, target,
                            extra={"event": "resync", "partition": tp.partition})
                await consumer.seek_wait({tp: target})
                metrics.count_resync(runtime.topics.source_of.get(tp.topic, "other"))
            except Exception:  # mid-rebalance: the next generation starts over anyway,
                # and the stall watchdog seeks a partition that stays stuck
                log.warning("could not seek back a partition with a gap", exc_info=True)
        return keep

    def load(lead_id: str, rec: Inbound) -> Any:
        with at_event(rec.ref):
            raw = tables.leads.get(lead_id.encode())
        return decode_state(raw) if raw else None

    async def run_batch(events: list[faust.EventT[bytes]]) -> None:
        now = runtime.clock()
        records = [
            Inbound(topics.source_of.get(ev.message.topic, "events"), ev.message.topic,
                    ev.message.partition, ev.message.offset, ev.key, ev.value, ev)
            for ev in in_arrival_order(events)
        ]
        with metrics.time_processing():
            result = processor.process(records, load, now, runtime.sla_clock())
            sends = [Send(runtime.topic_names[o.logical], o.key, o.value)
                     for o in result.outbound]
            if sends:
                await runtime.deliver(sends)
            writes = TableWrites()
            for lead_id, (state, rec) in result.states.items():
                key, partition, ref = lead_id.encode(), rec.partition, rec.ref
                if lead_id in result.erased:
                    # Privacy erasure: a tombstone first, then the bare ERASED marker;
                    # compaction of the changelog drops every earlier value.
                    writes.tombstone(tables.leads, partition, ref, key)
                writes.put(tables.leads, partition, ref, key, encode_state(state))
                due = result.deadlines.get(lead_id)
                if due is not None:
                    writes.put(tables.deadlines, partition, ref, key,
                               f"{due}|{partition}".encode())
                else:
                    writes.delete_if_present(tables.deadlines, partition, ref, key)
            await writes.apply(runtime.deliver)
            kpis.observe(result.outputs)
            # The KPI table's changelog records (written the Faust way) are in Kafka before
            # the batch is committed, too.
            await app.producer.flush()
            # Every effect of the batch is in Kafka: its input offsets may be committed now
            # (by Faust's next commit, with the offsets we give it: see streams.commits).
            runtime.input_commits.mark_done(next_offsets(ev.message for ev in events),
                                            app.consumer_generation_id)
        runtime.advance_watermark(result.max_event_time)
        if result.dead_lettered:
            log.warning("dead-lettered %d record(s)", result.dead_lettered,
                        extra={"event": "dead_letter", "count": result.dead_lettered})

    async def guarded(events: list[faust.EventT[bytes]]) -> None:
        # Faust acknowledges the batch when this returns *or raises*: a half-done batch
        # must never be acknowledged. A stop waits for the batch to finish; anything else
        # that escapes (the processor already dead-letters bad records) ends the process
        # without a commit, and the restart replays the batch.
        task = asyncio.ensure_future(run_batch(events))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            try:
                await asyncio.wait_for(task, timeout=STOP_GRACE)
            except BaseException:
                log.critical("stopping mid-batch and cannot finish it; exiting without commit")
                os._exit(70)
            raise
        except BaseException:
            log.critical("batch failed; exiting without commit so it is replayed", exc_info=True)
            os._exit(70)

    @app.agent(topics.inputs, name="score-leads", concurrency=1)
    async def score_leads(stream: faust.StreamT[bytes]) -> None:
        batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN)  # type: ignore[attr-defined]
        async for events in batches:
            batch = await in_offset_order(list(events))
            if batch:
                await guarded(batch)
