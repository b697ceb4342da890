"""Replaying a history with one or more policies, sharded by lead across processes.

Each process replays one shard: a set of whole partitions (the worker's, murmur2 of the lead
id over ``partitions``; shard = partition % workers), each partition a history of its own as
the worker runs it. It returns its ``Part`` of the figures (and, with two policies, its leads'
path changes); ``figures.merge`` adds the parts up to exactly what one process gives.
Workers are forked, so they read the parent's inputs and compiled policies without copying
or pickling them (compiled conditions are closures); where fork is missing, one process.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from streams.backtest.figures import Figures, Part, merge, part_of
from streams.backtest.replay import Timeline, replay
from streams.backtest.report import Change, compare
from streams.domain import LeadEvent, Policy, SalesOutcome

MIN_RECORDS_PER_WORKER = 10_000  # below this a fork costs more than it saves

# What the forked workers replay: set just before the pool forks them.
_job: tuple[list[LeadEvent | SalesOutcome], list[Policy], Timeline] | None = None


def default_workers(records: int) -> int:
    """One worker per available core, at most 2 (measured fastest on a 2-core machine),
    and one for small histories."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores, records // MIN_RECORDS_PER_WORKER))


@dataclass
class Result:
    figures: list[Figures]  # one per policy, in the order given
    changes: list[Change] | None  # with two policies: leads whose hand-off path differs
    records: int
    workers: int
    seconds: float  # wall time of replays, figures and merge (reading excluded)
    cpu_seconds: float  # CPU time of the same, in every process

    @property
    def rate(self) -> float:
        """Records replayed (through every policy) per wall second."""
        done = self.records * len(self.figures)
        return done / self.seconds if self.seconds > 0 else float("inf")


def _shard(shard: int, shards: int) -> tuple[list[Part], list[Change] | None]:
    assert _job is not None
    inputs, policies, timeline = _job
    reps = [replay(inputs, p, shard, shards, timeline) for p in policies]
    parts = [part_of(r) for r in reps]
    changes = None
    if len(reps) == 2:
        changes = compare(reps[0], parts[0].figures, reps[1], parts[1].figures)
    return parts, changes


def run(inputs: list[LeadEvent | SalesOutcome], policies: list[Policy],
        workers: int, partitions: int = 1) -> Result:
    """Replay ``inputs`` (in file order, ``read_history``) on ``partitions`` partitions with
    each policy, in ``workers`` processes (at most one per partition)."""
    global _job
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    workers = max(1, min(workers, partitions))
    t0, cpu0 = time.perf_counter(), time.process_time()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    timeline = Timeline.of(inputs, partitions)
    _job = (inputs, policies, timeline)
    try:
        if workers == 1:
            results = [_shard(0, 1)]
        else:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
                futures = [pool.submit(_shard, k, workers) for k in range(1, workers)]
                results = [_shard(0, workers)]  # this process takes shard 0
                results += [f.result() for f in futures]
    finally:
        _job = None
    figures = [merge([r[0][i] for r in results], p, timeline.end_ms, 0.0)
               for i, p in enumerate(policies)]
    changes = None
    if len(policies) == 2:
        changes = sorted((c for r in results for c in r[1] or ()), key=lambda c: c.lead_id)
    seconds = time.perf_counter() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (time.process_time() - cpu0 + kids.ru_utime - kids0.ru_utime
           + kids.ru_stime - kids0.ru_stime)
    result = Result(figures, changes, len(inputs), workers, seconds, cpu)
    for f in figures:
        f.rate = result.rate
    return result
