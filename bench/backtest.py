"""Benchmark of `leadflow backtest`: reading a history and replaying it, by phase.

    .venv/bin/python bench/backtest.py [--leads 60000] [--seed 7] [--dir /tmp/leadflow-bt]
                                       [--workers 1,2] [--partitions 4] [--repeat 3]
                                       [--compare] [--json FILE]

Writes the demo history once (`leadflow demo --leads N --seed S --export-dir DIR` with a
pinned `--now-ms`: 60k leads are ~226k records), then times, in this process, what the
command does: reading and validating (one process), and the replay of every record through
the domain core plus the report figures (`streams.backtest.parallel.run`) with each worker
count, on --partitions partitions (as the worker reads them; a shard is a set of whole
partitions). Wall time and CPU time of all processes (children included) are both reported; the
machine may be shared, so CPU time is the steadier figure. The best of --repeat runs counts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.backtest import read_history
from streams.backtest.parallel import run
from streams.demo import export, generate
from streams.domain import load_policy
from streams.paths import DEFAULT_POLICY

NOW_MS = 1_780_000_000_000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", default="/tmp/leadflow-bt")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--partitions", type=int, default=4,
                    help="partitions replayed (LEADFLOW_PARTITIONS' default)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compare", action="store_true", help="replay a second policy too")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    policy = load_policy(DEFAULT_POLICY)
    d = Path(args.dir) / f"{args.leads}-{args.seed}"
    events, outcomes = d / "events.jsonl", d / "outcomes.jsonl"
    if not events.exists():
        export(generate(args.seed, args.leads, NOW_MS, policy), d)
    policies = [policy]
    if args.compare:
        policies.append(load_policy(DEFAULT_POLICY))
    gc.disable()  # as the command does (streams.backtest.gcpause)
    out: dict[str, object] = {"leads": args.leads, "partitions": args.partitions,
                              "load_avg_start": os.getloadavg()[0]}
    best_read = None
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        hist = read_history([events, outcomes], NOW_MS + 86_400_000)
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if best_read is None or w < best_read[0]:
            best_read = (w, c)
    assert best_read is not None
    n = len(hist.inputs)
    out["records"] = n
    out["read_wall_s"], out["read_cpu_s"] = round(best_read[0], 3), round(best_read[1], 3)
    print(f"history: {n:,} records ({hist.events:,} events, {hist.outcomes:,} outcomes) "
          f"from {d}")
    print(f"read+validate: {n / best_read[0]:>9,.0f} records/s wall ({best_read[0]:.2f} s), "
          f"{n / best_read[1]:,.0f} per CPU-s")
    for workers in (int(x) for x in args.workers.split(",")):
        best = None
        for _ in range(args.repeat):
            res = run(hist.inputs, policies, workers, args.partitions)
            if best is None or res.seconds < best.seconds:
                best = res
        assert best is not None
        done = n * len(policies)
        print(f"replay, {workers} worker(s): {best.rate:>9,.0f} records/s wall "
              f"({best.seconds:.2f} s), {done / best.cpu_seconds:,.0f} per CPU-s "
              f"({best.cpu_seconds:.2f} s CPU, all processes)")
        out[f"replay_w{workers}_wall_s"] = round(best.seconds, 3)
        out[f"replay_w{workers}_cpu_s"] = round(best.cpu_seconds, 3)
        out[f"replay_w{workers}_records_per_s"] = round(best.rate)
    out["load_avg_end"] = os.getloadavg()[0]
    print(f"load average (1 min) at start {out['load_avg_start']:.2f}, "
          f"at end {out['load_avg_end']:.2f}, on {os.cpu_count()} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
