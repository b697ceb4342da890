"""Wires the bulk changelog restore (streams.engine.restore) into Faust's recovery: the
``restore_actives`` hook ``faust_private.RestoringRecovery`` calls with the active
changelog partitions and their start offsets, before Faust seeks and reads them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.engine import faust_private
from streams.engine.restore import Job, plan, restore_from_kafka

# Faust cancels the recovery step the hook runs in after ``broker_request_timeout``; leave
# it room for its own work.
BUDGET_SHARE = 2 / 3


def jobs_for(recovery: Any, tps: set[Any], offsets: Any, min_records: int) -> list[Job]:
    """The active partitions of RocksDB tables worth restoring in bulk."""
    jobs = []
    for tp in sorted(tps):
        table = recovery.tp_to_table.get(tp)
        store = None if table is None else table.data
        if store is None or not faust_private.is_partitioned(store):
            continue  # memory:// tables recover fast enough through Faust
        span = plan(offsets.get(tp), recovery.active_highwaters.get(tp, -1), min_records)
        if span is not None:
            jobs.append(Job(tp.topic, tp.partition, span[0], span[1],
                            faust_private.partition_database(store, tp.partition),
                            store.offset_key))
    return jobs


def hook(config: Mapping[str, Any], min_records: int) -> faust_private.RestoreActives:
    """``restore_actives`` for the app (``config``: aiokafka connection options)."""

    async def restore_actives(recovery: Any, tps: set[Any], offsets: Any) -> None:
        jobs = jobs_for(recovery, tps, offsets, min_records)
        budget = float(recovery.app.conf.broker_request_timeout) * BUDGET_SHARE
        try:
            await restore_from_kafka(jobs, config, budget)
        finally:
            # what was written (each batch with its offset) Faust need not read again
            by_key = {(tp.topic, tp.partition): tp for tp in tps}
            for job in jobs:
                if job.persisted is not None:
                    offsets[by_key[(job.topic, job.partition)]] = job.persisted

    return restore_actives
