"""`bench/run.py --only peer`: leadflow against a Quix Streams job running leadflow's own
processor (``bench/peer_quix.py``) and against the bare client limits (librdkafka through
confluent-kafka, and aiokafka), interleaved round by round on the same broker and the same
preloaded input topics (each run its own consumer group), medians over the rounds.

Per run: events/s (first input processed -> last) and CPU seconds per 1,000 events of the
process doing the work (the worker's, the Quix job's, or the limit loop's own).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from bench.run import Run

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = ("leadflow", "quix", "rdkafka_limit", "aiokafka_limit")


def rdkafka_limit(broker: str, topics: list[str], out_topic: str, group: str, n: int,
                  batch: int = 500) -> dict[str, Any]:
    """librdkafka consume -> produce passthrough: batches of ``batch`` records, produced
    (acks=all), flushed, then the batch's offsets committed synchronously."""
    from confluent_kafka import Consumer, Producer

    consumer = Consumer({"bootstrap.servers": broker, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": broker, "acks": "all", "linger.ms": 5})
    consumer.subscribe(topics)
    count = 0
    t0: tuple[float, float] | None = None
    try:
        while count < n:
            msgs = consumer.consume(num_messages=batch, timeout=1.0)
            if not msgs:
                continue
            if t0 is None:
                t0 = (time.perf_counter(), time.process_time())
            for m in msgs:
                if m.error() is not None:
                    continue
                producer.produce(out_topic, m.value(), m.key())
                count += 1
            producer.flush()
            consumer.commit(asynchronous=False)
        assert t0 is not None
        wall, cpu = time.perf_counter() - t0[0], time.process_time() - t0[1]
    finally:
        consumer.close()
    return {"events": count, "seconds": round(wall, 2), "events_per_s": round(count / wall),
            "cpu_s": round(cpu, 2), "cpu_s_per_1k": round(cpu / count * 1000, 4)}


def quix_job(run: Run, rnd: int, n: int, commit_every: int) -> dict[str, Any]:
    """The Quix Streams job as its own process (its CPU is its own)."""
    group = f"{run.app_id}-quix-r{rnd}"
    cmd = [sys.executable, str(ROOT / "bench" / "peer_quix.py"),
           "--events-topic", run.topic("events"), "--outcomes-topic", run.topic("outcomes"),
           "--out-topic", run.prefix + "quix-out", "--group", group,
           "--state-dir", str(run.dir / f"quix-r{rnd}"), "--expect", str(n),
           "--commit-every", str(commit_every)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    env["PYTHONPATH"] = str(ROOT)
    with open(run.dir / f"quix-r{rnd}.log", "ab") as err:
        done = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err,
                              timeout=3600, check=False)
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"quix job failed ({done.returncode}); see {err.name}")
    return dict(json.loads(lines[-1]))


def leadflow_e2e(run: Run, rnd: int, n: int, timeout: float) -> dict[str, Any]:
    from bench.run import wait_processed

    w = run.worker(0, app_id=f"{run.app_id}-lf-r{rnd}", data=f"lf-r{rnd}")
    w.start().wait_ready(timeout=120)
    try:
        res = wait_processed([w], n, timeout=timeout)
    finally:
        w.stop()
    cpu = sum(res["worker_cpu_s"])
    res["cpu_s"] = round(cpu, 2)
    res["cpu_s_per_1k"] = round(cpu / res["events"] * 1000, 4) if cpu else None
    return res


def aiokafka_limit(run: Run, rnd: int, n: int) -> dict[str, Any]:
    from bench.run import limit_loop

    t = time.process_time()
    res = asyncio.run(limit_loop(run, n, group=f"{run.app_id}-aiolimit-r{rnd}"))
    cpu = time.process_time() - t  # includes connecting: a slight overestimate
    res["cpu_s"] = round(cpu, 2)
    res["cpu_s_per_1k"] = round(cpu / res["events"] * 1000, 4)
    return res


def bench_peer(run: Run, args: argparse.Namespace, out: dict[str, Any], log: Any) -> None:
    n = args.events
    broker = run.env()["LEADFLOW_BROKER"].removeprefix("kafka://")
    rounds: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        row: dict[str, Any] = {"load_avg": os.getloadavg()[0]}
        order = RUNNERS if rnd % 2 == 0 else tuple(reversed(RUNNERS))  # no fixed position
        for name in order:
            log(f"peer round {rnd + 1}/{args.rounds}: {name}")
            if name == "leadflow":
                row[name] = leadflow_e2e(run, rnd, n, args.timeout)
            elif name == "quix":
                row[name] = quix_job(run, rnd, n, args.quix_commit_every)
            elif name == "rdkafka_limit":
                row[name] = rdkafka_limit(broker, [run.topic("events"), run.topic("outcomes")],
                                          run.prefix + "limit-out",
                                          f"{run.app_id}-rdlimit-r{rnd}", n)
            else:
                row[name] = aiokafka_limit(run, rnd, n)
            log(f"  {name}: {row[name]['events_per_s']:,} events/s, "
                f"{row[name].get('cpu_s_per_1k')} CPU-s/1k")
        row["ratios"] = ratios(row)
        rounds.append(row)
    out["peer"] = {"events": n, "rounds": rounds, "median": medians(rounds),
                   "quix_commit_every": args.quix_commit_every}


def ratios(row: dict[str, Any]) -> dict[str, float | None]:
    lf = row["leadflow"]

    def r(key: str, other: str) -> float | None:
        a, b = lf.get(key), row[other].get(key)
        return round(a / b, 3) if a and b else None

    return {"events_per_s_vs_quix": r("events_per_s", "quix"),
            "events_per_s_vs_rdkafka_limit": r("events_per_s", "rdkafka_limit"),
            "cpu_per_1k_vs_quix": r("cpu_s_per_1k", "quix"),
            "cpu_per_1k_vs_rdkafka_limit": r("cpu_s_per_1k", "rdkafka_limit")}


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    med: dict[str, Any] = {}
    for name in RUNNERS:
        med[name] = {k: _median([r[name].get(k) for r in rounds])
                     for k in ("events_per_s", "cpu_s_per_1k")}
    med["ratios"] = {k: _median([r["ratios"][k] for r in rounds])
                     for k in rounds[0]["ratios"]} if rounds else {}
    return med


def _median(values: list[Any]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(statistics.median(vals), 4) if vals else None


def table_rows(peer: dict[str, Any]) -> list[tuple[str, str]]:
    med, rows = peer["median"], []
    names = {"leadflow": "leadflow end to end (1 worker)",
             "quix": f"Quix Streams job, leadflow's processor, checkpoint every "
                     f"{peer['quix_commit_every'] or '5 s'}",
             "rdkafka_limit": "librdkafka passthrough limit (batches of 500)",
             "aiokafka_limit": "aiokafka limit (decode + encode)"}
    n = len(peer["rounds"])
    for name in RUNNERS:
        m = med[name]
        rate = f"{m['events_per_s']:,.0f}" if m["events_per_s"] else "-"
        rows.append((f"peer: {names[name]}, events/s | CPU-s per 1k (median of {n})",
                     f"{rate} | {m['cpu_s_per_1k']}"))
    rt = med["ratios"]
    rows.append(("peer: leadflow / Quix, events/s | CPU per event",
                 f"{rt.get('events_per_s_vs_quix')} | {rt.get('cpu_per_1k_vs_quix')}"))
    rows.append(("peer: leadflow / librdkafka limit, events/s | CPU per event",
                 f"{rt.get('events_per_s_vs_rdkafka_limit')} | "
                 f"{rt.get('cpu_per_1k_vs_rdkafka_limit')}"))
    return rows
