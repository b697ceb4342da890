"""leadflow end-to-end benchmark suite: limit, end to end, latency, recovery, memory, core,
scaling. Prints one table and writes ``bench/results/<timestamp>.json``.

    .venv/bin/python bench/run.py                       # what `make bench` runs (1M events)
    .venv/bin/python bench/run.py --events 200000 --recovery-leads 200000 --scaling-events 50000
    .venv/bin/python bench/run.py --only e2e,limit --profile 20
    .venv/bin/python bench/run.py --only peer --events 50000 --rounds 2   # vs Quix, librdkafka

Every run uses its own topic prefix, app id, data dir (under .local/bench/) and web ports
6200-6299, so it never touches a developer's worker or another run. Needs the local broker
(deploy/kafka/kafka.sh start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402

from bench.workload import generate, one_event_per_lead  # noqa: E402
from streams.admin import create_topics  # noqa: E402
from streams.codecs import default_codecs  # noqa: E402
from streams.settings import Settings  # noqa: E402
from tests.support.worker import WorkerProcess  # noqa: E402

BROKER = "127.0.0.1:9092"
BENCH_DIR = ROOT / ".local" / "bench"
RESULTS = ROOT / "bench" / "results"
GOALS = {
    "e2e_events_per_s": 20_000,
    "ratio_to_limit": 0.5,
    "latency_p99_ms": 50.0,
    "recovery_s": 60.0,
    "failover_s": 15.0,
    "rss_mb_1m": 1536.0,
}
_port = iter(range(6200, 6300))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- machine ---------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem_kb = int(m.group(1)) if m else 0
    kafka = "unknown"
    libs = ROOT / ".local" / "kafka" / "libs"
    for jar in sorted(libs.glob("kafka-server-[0-9]*.jar")) if libs.is_dir() else []:
        kafka = jar.stem.removeprefix("kafka-server-")
    import aiokafka
    import fastavro
    import faust
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "kafka": kafka, "faust": faust.__version__, "aiokafka": aiokafka.__version__,
        "fastavro": fastavro.__version__,
        "note": "shared 2-core machine: other engineers' test runs compete for the CPU",
    }


# -- helpers ---------------------------------------------------------------------------

POLICY: str | None = None  # --policy: the workers' LEADFLOW_POLICY (default: the shipped one)


class Run:
    """One isolated set of topics + app id + data dir."""

    def __init__(self, stamp: str, tag: str, partitions: int) -> None:
        self.prefix = f"bench-{stamp}-{tag}."
        self.app_id = f"bench-{stamp}-{tag}"
        self.partitions = partitions
        self.dir = BENCH_DIR / stamp / tag
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings = Settings.from_env(self.env())

    def env(self, worker: int = 0) -> dict[str, str]:
        env = {
            "LEADFLOW_BROKER": f"kafka://{BROKER}",
            "LEADFLOW_TOPIC_PREFIX": self.prefix,
            "LEADFLOW_APP_ID": self.app_id,
            "LEADFLOW_PARTITIONS": str(self.partitions),
            "LEADFLOW_DATA_DIR": str(self.dir / f"data{worker}"),
            "LEADFLOW_LOG_LEVEL": "WARNING",
        }
        if POLICY:
            env["LEADFLOW_POLICY"] = POLICY
        return env

    def create(self, extra: tuple[str, ...] = ()) -> None:
        create_topics(self.settings)
        if extra:
            admin = KafkaAdminClient(bootstrap_servers=BROKER)
            admin.create_topics([NewTopic(self.prefix + t, self.partitions, 1) for t in extra])
            admin.close()

    def topic(self, logical: str) -> str:
        return self.settings.topic(logical)

    def worker(self, n: int = 0, app_id: str | None = None,
               data: str | None = None) -> WorkerProcess:
        env = self.env(n)
        env["LEADFLOW_WEB_PORT"] = str(next(_port))
        if app_id is not None:  # a fresh consumer group (and state) on the same topics
            env["LEADFLOW_APP_ID"] = app_id
        if data is not None:
            env["LEADFLOW_DATA_DIR"] = str(self.dir / data)
        w = WorkerProcess(env, self.dir / f"worker{n}.log")
        STARTED.append(w)
        return w


STARTED: list[WorkerProcess] = []  # every worker this run made: killed at exit, whatever happens


async def preload(run: Run, records: list[tuple[str, bytes, bytes]]) -> float:
    """Produce every record (acks=all) before anything consumes; returns seconds."""
    producer = AIOKafkaProducer(bootstrap_servers=BROKER, acks="all", linger_ms=20,
                                max_batch_size=512 * 1024)
    await producer.start()
    t0 = time.perf_counter()
    try:
        topics = {"events": run.topic("events"), "outcomes": run.topic("outcomes")}
        chunk = 20_000
        for i in range(0, len(records), chunk):
            futs = [await producer.send(topics[t], v, key=k) for t, k, v in records[i:i + chunk]]
            await asyncio.gather(*futs)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


def metric_sum(text: str, name: str = "leadflow_events_total") -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def rss_mb(pid: int) -> float:
    try:
        m = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
        return int(m.group(1)) / 1024 if m else 0.0
    except OSError:
        return 0.0


_admin: KafkaAdminClient | None = None


def committed(group: str, topics: tuple[str, ...]) -> int:
    """Sum of the group's committed offsets on ``topics``: records the worker has processed
    *and* acknowledged (Faust commits only after the batch's effects are in Kafka)."""
    global _admin
    if _admin is None:
        _admin = KafkaAdminClient(bootstrap_servers=BROKER)
    offsets = _admin.list_group_offsets({group: None}).get(group, {})
    return sum(om.offset for tp, om in offsets.items() if tp.topic in topics and om.offset > 0)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def processed(workers: list[WorkerProcess]) -> float:
    """Events processed: ``leadflow_events_total`` from every worker's /metrics, or, when
    /metrics cannot be read, the consumer group's committed input offsets."""
    total = 0.0
    try:
        for w in workers:
            total += metric_sum(w.get_text("/metrics", timeout=5.0))
        return total
    except Exception:
        env = workers[0].env
        pre = env["LEADFLOW_TOPIC_PREFIX"]
        return float(committed(env["LEADFLOW_APP_ID"],
                               (pre + "leads.events", pre + "sales.outcomes")))


def wait_processed(workers: list[WorkerProcess], n: int, timeout: float,
                   interval: float = 0.25) -> dict[str, Any]:
    """Poll /metrics until ``n`` events are counted; rate between the first sample that saw
    any processing and the first that saw them all (polling error <= one interval)."""
    first: tuple[float, float] | None = None
    cpu0: list[float] = []
    t_end = time.monotonic() + timeout
    series = []
    last_log = 0.0
    while time.monotonic() < t_end:
        for w in workers:
            if w.proc is not None and w.proc.poll() is not None:
                raise RuntimeError(f"worker died:\n{w.tail()}")
        now, c = time.monotonic(), processed(workers)
        series.append((now, c))
        if c > 0 and first is None:
            first = (now, c)
            cpu0 = [cpu_s(w.proc.pid) for w in workers if w.proc]
        if c >= n:
            assert first is not None
            dt = now - first[0]
            rate = (c - first[1]) / dt if dt > 0 else float("nan")
            cpu = [cpu_s(w.proc.pid) - c0 for w, c0 in zip(workers, cpu0, strict=False)
                   if w.proc]
            return {"events": int(c), "seconds": round(dt, 2), "events_per_s": round(rate),
                    # CPU the worker(s) got while processing: on a shared machine this
                    # separates "slow" from "starved"
                    "worker_cpu_s": [round(x, 1) for x in cpu],
                    "worker_cpu_util": [round(x / dt, 2) for x in cpu] if dt > 0 else None,
                    "events_per_cpu_s": round((c - first[1]) / sum(cpu)) if sum(cpu) else None,
                    "rss_mb": [round(rss_mb(w.proc.pid), 1) for w in workers if w.proc]}
        if now - last_log > 15:
            last_log = now
            log(f"  processed {int(c):,}/{n:,}")
        time.sleep(interval)
    raise RuntimeError(f"only {processed(workers):,.0f}/{n:,} processed after {timeout}s")


# -- limit -----------------------------------------------------------------------------

async def limit_loop(run: Run, n: int, group: str | None = None) -> dict[str, Any]:
    """Bare consume -> decode -> encode -> produce with aiokafka, acks awaited per batch
    (like the worker), offsets committed per batch, on the same input topics."""
    codecs = default_codecs()
    out_topic = run.prefix + "limit-out"
    consumer = AIOKafkaConsumer(run.topic("events"), run.topic("outcomes"),
                                bootstrap_servers=BROKER,
                                group_id=group or run.app_id + "-limit",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=BROKER, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    count = 0
    t0: float | None = None
    decode, encode = codecs.decode_lead_input, codecs.encode
    try:
        while count < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if not batches:
                continue
            if t0 is None:
                t0 = time.perf_counter()
            futs = []
            for msgs in batches.values():
                for msg in msgs:
                    kind, rec = decode(msg.value)
                    futs.append(await producer.send(out_topic, encode(kind, rec), key=msg.key))
                count += len(msgs)
            await asyncio.gather(*futs)
            await consumer.commit()
        assert t0 is not None
        dt = time.perf_counter() - t0
    finally:
        await producer.stop()
        await consumer.stop()
    return {"events": count, "seconds": round(dt, 2), "events_per_s": round(count / dt)}


# -- latency ---------------------------------------------------------------------------

async def probe_clients(run: Run, offset_reset: str
                        ) -> tuple[AIOKafkaConsumer, AIOKafkaProducer]:
    """A reader of the run's transitions and a writer of its events, both started (the
    latency and failover probes)."""
    consumer = AIOKafkaConsumer(run.topic("transitions"), bootstrap_servers=BROKER,
                                auto_offset_reset=offset_reset, enable_auto_commit=False,
                                fetch_max_wait_ms=5, group_id=None)
    producer = AIOKafkaProducer(bootstrap_servers=BROKER, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    return consumer, producer


def demo_requested(codecs: Any, lead_id: str, campaign: str) -> bytes:
    """A new lead's DEMO_REQUESTED now (40 points: RAW -> ENGAGED), encoded."""
    return codecs.encode("LeadEvent", {
        "event_id": lead_id + "-e0", "lead_id": lead_id, "type": "DEMO_REQUESTED",
        "occurred_at": time.time_ns() // 1_000_000, "source": "bench",
        "campaign_id": campaign, "asset_id": None, "rep_id": None,
        "attributes": {"country": "US"}})


async def latency_probe(run: Run, rate: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Fresh leads, one DEMO_REQUESTED each (40 points: RAW -> ENGAGED), at ``rate``/s;
    latency = producer.send() called -> the lead's StageTransition consumed here."""
    codecs = default_codecs()
    consumer, producer = await probe_clients(run, "earliest")
    sent: dict[bytes, float] = {}
    lat: list[tuple[float, float]] = []  # (sent at, latency s)

    async def consume() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for msgs in batches.values():
                for msg in msgs:
                    t = sent.pop(msg.key, None)
                    if t is not None:
                        lat.append((t, now - t))

    reader = asyncio.ensure_future(consume())
    await asyncio.sleep(1.0)
    topic = run.topic("events")
    t_start = time.perf_counter()
    tick = 0.01
    per_tick = rate * tick
    i = 0
    owed = 0.0
    try:
        while (now := time.perf_counter()) - t_start < seconds:
            due = (now - t_start) / tick * per_tick
            while i < due:
                lid = f"LAT-{run.app_id}-{i}"
                value = demo_requested(codecs, lid, "cmp-lat")
                key = lid.encode()
                sent[key] = time.perf_counter()
                await producer.send(topic, value, key=key)
                i += 1
            owed = due
            await asyncio.sleep(tick)
        await asyncio.sleep(3.0)  # let the tail arrive
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        await producer.stop()
        await consumer.stop()
    del owed
    steady = sorted(v for t, v in lat if t - t_start >= warmup)
    if not steady:
        return {"error": "no transitions seen"}

    def pct(p: float) -> float:
        return round(steady[min(len(steady) - 1, int(len(steady) * p))] * 1000, 1)

    return {"rate_per_s": rate, "seconds": seconds, "warmup_s": warmup, "sent": i,
            "measured": len(steady), "missing": len(sent),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "p999_ms": pct(0.999),
            "max_ms": round(steady[-1] * 1000, 1)}


# -- profile ---------------------------------------------------------------------------

def start_profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        log("py-spy not installed (pip install py-spy): no profile")
        return None
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--duration", str(seconds),
                             "--rate", "200", "--format", "raw", "--nonblocking",
                             "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Collapsed stacks -> share of samples per function (self and inclusive)."""
    if not path.exists():
        return {"error": "no profile written (py-spy needs ptrace permission)"}
    self_c: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n_s = line.rpartition(" ")
        n = int(n_s)
        total += n
        frames = [re.sub(r" \((?:/[^)]*/)?([^/)]+)\)", r" (\1)", f) for f in stack.split(";")]
        self_c[frames[-1]] = self_c.get(frames[-1], 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n

    cats: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, n_s = line.rpartition(" ")
        cat = categorize(stack)
        cats[cat] = cats.get(cat, 0) + int(n_s)

    def share(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1))
                for k, v in sorted(d.items(), key=lambda x: -x[1])[:top]]

    return {"samples": total, "by_stage_pct": share(cats), "self_pct": share(self_c),
            "inclusive_pct": share(incl)}


def categorize(stack: str) -> str:
    """Which part of the hot path a collapsed py-spy stack belongs to."""
    if "run_batch" in stack:
        if "LeadProcessor.process" in stack:
            for needle, name in (("load (", "state load (RocksDB get + decode_state)"),
                                 ("_decode (", "Avro decode + validate"),
                                 ("step (", "domain step()"),
                                 ("_encode (", "output Avro encode")):
                if needle in stack:
                    return "pipeline: " + name
            return "pipeline: processor bookkeeping (metrics, lists)"
        for needle, name in (("deliver_all", "deliver outputs (producer.send, acks)"),
                             ("encode_state", "encode_state"),
                             ("KpiStore", "KPI aggregate update")):
            if needle in stack:
                return "pipeline: " + name
        if any(k in stack for k in ("__setitem__", "at_event", "__contains__", "__delitem__")):
            return "pipeline: table writes (RocksDB + changelog send)"
        return "pipeline: other"
    if "aiokafka/producer" in stack or "ProducerBuffer" in stack:
        return "engine: producer (sender, changelog buffer)"
    if "Fetcher" in stack or "_drain_messages" in stack or "aiokafka/consumer" in stack:
        return "engine: consumer fetch/drain"
    if any(k in stack for k in ("on_message", "_c_aiter", "_passive_drainer", "take_events",
                                "Stream.ack", "Event.ack", "Consumer.ack")):
        return "engine: per-event stream delivery (on_message, drainer, take buffer, acks)"
    if "_on_published" in stack or "set_persisted_offset" in stack:
        return "engine: changelog ack callbacks"
    if "aiohttp" in stack:
        return "web"
    if stack.rsplit(";", 1)[-1].startswith(("EpollSelector.select", "select")):
        return "event loop: waiting in select"
    return "other (event loop, timers, commit, misc)"


# -- the suite -------------------------------------------------------------------------

def bench_e2e(stamp: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    n, leads = args.events, args.events // 10
    run = Run(stamp, "e2e", args.partitions)
    run.create(extra=("limit-out", "quix-out"))
    log(f"e2e: generating {n:,} events over {leads:,} leads")
    records = generate(n, leads, seed=args.seed)
    log("e2e: preloading")
    out["preload_s"] = round(asyncio.run(preload(run, records)), 1)
    del records
    if "limit" in args.only:
        log("limit: bare aiokafka consume -> decode -> encode -> produce")
        out["limit"] = asyncio.run(limit_loop(run, n))
        log(f"limit: {out['limit']}")
    if "peer" in args.only:
        from bench.peer import bench_peer

        bench_peer(run, args, out, log)
    if "e2e" not in args.only:
        return
    w = run.worker()
    w.start().wait_ready(timeout=120)
    prof = None
    if args.profile:
        # start the profile once the worker is busy
        time.sleep(2.0)
        prof = start_profile(w.proc.pid, args.profile,  # type: ignore[union-attr]
                             run.dir / "profile.txt")
    out["e2e"] = wait_processed([w], n, timeout=args.timeout)
    out["e2e"]["leads"] = leads
    log(f"e2e: {out['e2e']}")
    if prof is not None:
        prof.wait()
        out["profile"] = summarize_profile(run.dir / "profile.txt")
    time.sleep(1.0)
    out.setdefault("memory", {})[f"rss_mb_{leads}_leads"] = round(
        rss_mb(w.proc.pid), 1)  # type: ignore[union-attr]
    if "limit" in out and out["e2e"].get("events_per_s"):
        out["ratio_to_limit"] = round(out["e2e"]["events_per_s"]
                                      / out["limit"]["events_per_s"], 3)
    if "recovery" in args.only:
        out.setdefault("recovery", {})[f"{leads}_leads"] = recover(run, w)
    else:
        w.stop()


def recover(run: Run, w: WorkerProcess) -> dict[str, Any]:
    """kill -9, restart on the same data dir; then kill -9, remove the data dir, restart
    (full changelog restore). Seconds from start to /health/ready."""
    res: dict[str, Any] = {}
    w.kill()
    w2 = run.worker()
    w2.start()
    res["kill9_restart_ready_s"] = round(w2.wait_ready(timeout=600), 2)
    time.sleep(1.0)
    res["rss_mb_after_restart"] = round(rss_mb(w2.proc.pid), 1)  # type: ignore[union-attr]
    w2.kill()
    shutil.rmtree(run.dir / "data0", ignore_errors=True)
    res["changelog_records"] = changelog_records(run)
    w3 = run.worker()
    w3.env["LEADFLOW_LOG_LEVEL"] = "INFO"  # for the bulk restore's one summary line
    logged = w3.log_path.stat().st_size if w3.log_path.exists() else 0
    w3.start()
    res["kill9_wiped_datadir_ready_s"] = round(w3.wait_ready(timeout=900), 2)
    with open(w3.log_path, "rb") as f:
        f.seek(logged)
        lines = f.read().decode(errors="replace")
    # streams.engine.restore: "bulk changelog restore: N records into P partitions in S s"
    for n, s in re.findall(r"bulk changelog restore: (\d+) records into \d+ partitions in "
                           r"([\d.]+) s", lines):
        res["bulk_restored_records"] = res.get("bulk_restored_records", 0) + int(n)
        res["bulk_restore_s"] = round(res.get("bulk_restore_s", 0.0) + float(s), 2)
    if res.get("bulk_restore_s"):
        res["bulk_restore_records_per_s"] = round(res["bulk_restored_records"]
                                                  / res["bulk_restore_s"])
    time.sleep(1.0)
    res["rss_mb_after_full_restore"] = round(rss_mb(w3.proc.pid), 1)  # type: ignore[union-attr]
    w3.stop()
    log(f"recovery: {res}")
    return res


def changelog_records(run: Run) -> int:
    """Records in the run's changelog topics (end minus start offsets: what a full restore
    reads)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=BROKER)
    tps = [TopicPartition(t, p) for t in consumer.topics()
           if t.startswith(run.app_id + "-") and t.endswith("-changelog")
           for p in consumer.partitions_for_topic(t) or ()]
    ends, starts = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
    consumer.close()
    return sum(ends[tp] - starts[tp] for tp in tps)


def bench_recovery(stamp: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    m = args.recovery_leads
    run = Run(stamp, "recovery", args.partitions)
    run.create()
    log(f"recovery: filling state with {m:,} leads (one event each)")
    asyncio.run(preload(run, one_event_per_lead(m)))
    w = run.worker()
    w.start().wait_ready(timeout=120)
    fill = wait_processed([w], m, timeout=args.timeout)
    time.sleep(1.0)
    out.setdefault("memory", {})[f"rss_mb_{m}_leads"] = round(
        rss_mb(w.proc.pid), 1)  # type: ignore[union-attr]
    res = recover(run, w)
    res["fill_events_per_s"] = fill["events_per_s"]
    out.setdefault("recovery", {})[f"{m}_leads"] = res


async def probe_transitions(run: Run, partitions: int, after: float,
                            timeout: float) -> float:
    """One fresh lead per input partition, one DEMO_REQUESTED each, sent at once; seconds
    from ``after`` (a perf_counter time) until every one's StageTransition is read."""
    from streams.engine.memory import partition_of

    codecs = default_codecs()
    consumer, producer = await probe_clients(run, "latest")
    try:
        await consumer.seek_to_end()
        keys: dict[int, bytes] = {}
        i = 0
        while len(keys) < partitions:  # a key that lands on each partition
            key = f"FAILOVER-{run.app_id}-{i}".encode()
            keys.setdefault(partition_of(key, partitions), key)
            i += 1
        for key in keys.values():
            await producer.send_and_wait(
                run.topic("events"), demo_requested(codecs, key.decode(), "cmp-failover"),
                key=key)
        waiting = set(keys.values())
        t_end = time.perf_counter() + timeout
        while waiting and time.perf_counter() < t_end:
            for msgs in (await consumer.getmany(timeout_ms=100)).values():
                for msg in msgs:
                    waiting.discard(msg.key)
        if waiting:
            raise RuntimeError(f"{len(waiting)} probe lead(s) not processed in {timeout} s")
        return time.perf_counter() - after
    finally:
        await producer.stop()
        await consumer.stop()


def bench_failover(stamp: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    """Two workers of one group with a standby replica each way; the state holds
    ``--failover-leads`` leads; one worker is killed (SIGKILL): seconds until a fresh lead
    on every partition has its transition, i.e. the survivor owns and serves them all
    (the group notices the death after the session timeout, LEADFLOW_SESSION_TIMEOUT)."""
    m = args.failover_leads
    run = Run(stamp, "failover", args.partitions)
    run.create()
    log(f"failover: filling state with {m:,} leads (one event each), two workers, "
        "standby replicas 1")
    asyncio.run(preload(run, one_event_per_lead(m)))
    workers = [run.worker(0), run.worker(1)]
    for w in workers:
        w.env["LEADFLOW_STANDBY_REPLICAS"] = "1"
        w.env["LEADFLOW_LOG_LEVEL"] = "INFO"  # the bulk restore's summary line, if any
        w.start()
    for w in workers:
        w.wait_ready(timeout=300)
    fill = wait_processed(workers, m, timeout=args.timeout)
    # the standbys read the changelogs behind the actives: let them finish
    time.sleep(args.failover_settle)
    survivor = workers[1]
    logged = survivor.log_path.stat().st_size
    t0 = time.perf_counter()
    workers[0].kill()
    try:
        seconds = asyncio.run(probe_transitions(run, args.partitions, t0, timeout=600))
    finally:
        for w in workers:
            w.stop()
    with open(survivor.log_path, "rb") as f:
        f.seek(logged)
        lines = f.read().decode(errors="replace")
    restored = sum(int(n) for n in re.findall(r"bulk changelog restore: (\d+) records",
                                                lines))
    session = float(workers[0].env.get("LEADFLOW_SESSION_TIMEOUT", "10"))
    res = {"leads": m, "fill_events_per_s": fill["events_per_s"],
           "settle_s": args.failover_settle, "session_timeout_s": session,
           "sigkill_to_all_partitions_served_s": round(seconds, 2),
           "after_session_timeout_s": round(seconds - session, 2),
           "bulk_restored_records_on_survivor": restored}
    out["failover"] = res
    log(f"failover: {res}")


def bench_latency(stamp: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    run = Run(stamp, "latency", args.partitions)
    run.create()
    w = run.worker()
    w.start().wait_ready(timeout=120)
    time.sleep(2.0)
    try:
        out["latency"] = asyncio.run(latency_probe(run, args.latency_rate,
                                                   args.latency_seconds, warmup=3.0))
    finally:
        w.stop()
    log(f"latency: {out['latency']}")


def bench_scaling(stamp: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    n = args.scaling_events
    records = generate(n, max(1, n // 10), seed=args.seed + 1)
    res = []
    for parts in (1, 2, 4):
        for nw in (1, 2):
            run = Run(stamp, f"scale-p{parts}-w{nw}", parts)
            run.create()
            asyncio.run(preload(run, records))
            workers = [run.worker(i) for i in range(nw)]
            for wk in workers:
                wk.start()
            for wk in workers:
                wk.wait_ready(timeout=180)
            try:
                r = wait_processed(workers, n, timeout=args.timeout)
            finally:
                for wk in workers:
                    wk.stop()
            row = {"partitions": parts, "workers": nw, "events": n,
                   "events_per_s": r["events_per_s"], "seconds": r["seconds"]}
            log(f"scaling: {row}")
            res.append(row)
    out["scaling"] = res


def bench_core(args: argparse.Namespace, out: dict[str, Any]) -> None:
    tmp = BENCH_DIR / "core.json"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "core.py"), "--leads",
                    str(args.core_leads), "--json", str(tmp)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    out["core"] = json.loads(tmp.read_text())


def verdict(measured: float | None, goal: float, higher_better: bool) -> str:
    if measured is None:
        return "not run"
    ok = measured >= goal if higher_better else measured < goal
    return "met" if ok else "MISSED"


def table(out: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []

    def add(name: str, value: Any, goal: str = "", status: str = "") -> None:
        rows.append((name, "-" if value is None else str(value), goal, status))

    lim = out.get("limit", {}).get("events_per_s")
    e2e = out.get("e2e", {}).get("events_per_s")
    add("limit (aiokafka consume-decode-encode-produce), events/s",
        f"{lim:,}" if lim else None)
    add(f"leadflow end to end, {out.get('e2e', {}).get('events', 0):,} events, events/s",
        f"{e2e:,}" if e2e else None, ">= 20,000",
        verdict(e2e, GOALS["e2e_events_per_s"], True))
    ratio = out.get("ratio_to_limit")
    add("leadflow / limit", f"{ratio:.0%}" if ratio else None, ">= 50%",
        verdict(ratio, GOALS["ratio_to_limit"], True))
    lat = out.get("latency", {})
    if "p50_ms" in lat:
        add(f"latency p50 / p99 / p99.9 at {lat['rate_per_s']:,}/s, ms",
            f"{lat['p50_ms']} / {lat['p99_ms']} / {lat['p999_ms']}", "p99 < 50",
            verdict(lat["p99_ms"], GOALS["latency_p99_ms"], False))
    for k, r in sorted(out.get("recovery", {}).items()):
        add(f"recovery {k.replace('_', ' ')}: kill -9 -> ready, s",
            r["kill9_restart_ready_s"], "< 60 (1M)",
            verdict(r["kill9_restart_ready_s"], GOALS["recovery_s"], False))
        add(f"recovery {k.replace('_', ' ')}: data dir wiped -> ready, s",
            r["kill9_wiped_datadir_ready_s"], "< 60 (1M)",
            verdict(r["kill9_wiped_datadir_ready_s"], GOALS["recovery_s"], False))
        if r.get("bulk_restore_records_per_s"):
            add(f"recovery {k.replace('_', ' ')}: bulk restore, records/s "
                f"({r['bulk_restored_records']:,} of {r.get('changelog_records', 0):,} "
                f"in {r['bulk_restore_s']} s)", f"{r['bulk_restore_records_per_s']:,}", "", "")
    fo = out.get("failover")
    if fo:
        add(f"failover with a standby, {fo['leads']:,} leads: SIGKILL -> every partition "
            f"served, s (session timeout {fo['session_timeout_s']:g} s)",
            fo["sigkill_to_all_partitions_served_s"], "< 15",
            verdict(fo["sigkill_to_all_partitions_served_s"], GOALS["failover_s"], False))
    for k, v in sorted(out.get("memory", {}).items(), key=lambda x: int(x[0].split("_")[2])):
        add(f"worker RSS at {int(k.split('_')[2]):,} leads, MB", v, "< 1536 (1M)",
            verdict(v, GOALS["rss_mb_1m"], False))
    core = out.get("core", {})
    if core:
        rate = core.get("all_per_s") or core.get("all_per_wall_s") or core.get("all_per_cpu_s")
        add("core: pure step() events/s (bench/core.py)", f"{rate:,}" if rate else None)
    if "peer" in out:
        from bench.peer import table_rows

        for name, value in table_rows(out["peer"]):
            add(name, value)
    for r in out.get("scaling", []):
        add(f"scaling {r['partitions']} partition(s), {r['workers']} worker(s), events/s",
            f"{r['events_per_s']:,}")
    w = [max(len(r[i]) for r in [*rows, ("figure", "measured", "goal", "")]) for i in range(4)]
    lines = [f"{'figure':<{w[0]}}  {'measured':>{w[1]}}  {'goal':<{w[2]}}  status",
             "-" * (sum(w) + 12)]
    lines += [f"{a:<{w[0]}}  {b:>{w[1]}}  {c:<{w[2]}}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000,
                    help="end-to-end events (over events/10 leads)")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--failover-leads", type=int, default=1_000_000,
                    help="leads in the state for --only failover (standby takeover)")
    ap.add_argument("--failover-settle", type=float, default=10.0,
                    help="seconds between the fill and the kill, for the standbys")
    ap.add_argument("--recovery-leads", type=int, default=1_000_000,
                    help="leads in state for the recovery/memory run (0: skip; the e2e "
                         "worker's events/10 leads are always measured too)")
    ap.add_argument("--latency-rate", type=int, default=2000)
    ap.add_argument("--latency-seconds", type=float, default=30.0)
    ap.add_argument("--scaling-events", type=int, default=100_000)
    ap.add_argument("--core-leads", type=int, default=100_000)
    ap.add_argument("--profile", type=int, default=20,
                    help="seconds of py-spy profile of the e2e worker (0: none)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--policy", default=None,
                    help="policy file for the workers (e.g. policy/product-lines.yaml)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="peer: interleaved rounds (medians are reported)")
    ap.add_argument("--quix-commit-every", type=int, default=500,
                    help="peer: the Quix job checkpoints every N inputs (0: every 5 s)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--only", default="limit,e2e,latency,recovery,memory,core,scaling")
    ap.add_argument("--label", default="", help="free text stored in the JSON")
    ap.add_argument("--show", metavar="JSON", help="print the table of a results file, run nothing")
    args = ap.parse_args()
    if args.show:
        print(table(json.loads(Path(args.show).read_text())))
        return 0
    args.only = set(args.only.split(","))
    global POLICY
    POLICY = str(Path(args.policy).resolve()) if args.policy else None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out: dict[str, Any] = {"started": stamp, "label": args.label,
                           "argv": sys.argv[1:], "machine": machine(),
                           "load_avg_start": os.getloadavg()}
    path = RESULTS / f"{stamp}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        if args.only & {"limit", "e2e", "peer"}:
            bench_e2e(stamp, args, out)
        if "latency" in args.only:
            bench_latency(stamp, args, out)
        if args.only & {"recovery", "memory"} and args.recovery_leads:
            bench_recovery(stamp, args, out)
        if "failover" in args.only:
            bench_failover(stamp, args, out)
        if "core" in args.only:
            bench_core(args, out)
        if "scaling" in args.only:
            bench_scaling(stamp, args, out)
    finally:
        for w in STARTED:
            with contextlib.suppress(Exception):
                w.kill()
        out["load_avg_end"] = os.getloadavg()
        out["wall_s"] = round(time.monotonic() - t0, 1)
        path.write_text(json.dumps(out, indent=2) + "\n")
        print(table(out))
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
