"""Benchmark of the pure domain core: `step()` throughput and encoded state size.

    .venv/bin/python bench/core.py [--leads 100000] [--seed 7] [--policy policy/default.yaml]
                                   [--copy] [--gc] [--json FILE]
    .venv/bin/python bench/core.py --processor [--events 200000] [--repeat 3]

``--processor`` times leadflow's own per-event code end to end of the processor, the way the
worker runs it (``streams.engine.runner``) minus Kafka and asyncio: Avro-encoded records of
``bench/workload.py`` in batches of 500 -> ``LeadProcessor.decode`` (Avro decode,
validation, domain model) -> ``Batch.apply`` (state load = ``decode_state`` of the stored
bytes, ``step``, output Avro encode, bookkeeping) -> ``encode_state`` of every touched lead
(into a dict standing in for RocksDB). Reports microseconds of CPU per event, in total and
per stage (the stages are timed in a second, instrumented pass).

Default mode is `step(..., inplace=True)` (how the worker and backtest can call it) with the
cyclic GC paused while timing; `--copy` measures the default copying `step`, `--gc` keeps
the GC running.

Generates a realistic synthetic stream with a fixed seed (~10 events per lead: e-mail opens
and clicks, content, webinars, pricing visits, a few demos, badge scans, referrals,
unsubscribes, bounces, erasures, ~5% duplicates, and sales outcomes for leads that were
handed off), interleaved in time across leads, then times `step()` alone on one core
(generation excluded) and reports events per CPU-second (process time, robust to other work
on the machine) and per wall-second, plus the median and p99 encoded state size.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.domain import (
    LeadEvent,
    LeadState,
    QualifiedLead,
    SalesOutcome,
    encode_state,
    load_policy,
    step,
)

DAY = 86_400_000
T0 = 1_790_000_000_000

MIX = [  # (type, weight)
    ("EMAIL_OPENED", 30),
    ("EMAIL_CLICKED", 12),
    ("CONTENT_DOWNLOAD", 12),
    ("WEBINAR_REGISTERED", 6),
    ("WEBINAR_ATTENDED", 5),
    ("NEWSLETTER_SIGNUP", 4),
    ("FORM_SUBMITTED", 6),
    ("PRICING_PAGE_VISIT", 8),
    ("DEMO_REQUESTED", 2),
    ("DEMO_VIEWED", 3),
    ("TRADE_SHOW_SCAN", 3),
    ("MEETING_BOOKED", 1),
    ("PROFILE_UPDATED", 3),
    ("UNSUBSCRIBED", 1),
    ("EMAIL_BOUNCED", 1),
    ("REP_REFERRAL", 1),
    ("UNKNOWN", 1),
]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "BR", "IN", "JP"]
TITLES = ["VP Marketing", "Head of Sales", "Marketing Manager", "Engineer", "CTO",
          "Director of Ops", "Analyst", "Student", "Founder"]
CAMPAIGNS = [f"cmp-2026-{i:02d}" for i in range(40)]
ASSETS = ["pricing-guide", "gartner-mq", "ebook-1", "ebook-2", "case-study", "whitepaper"]


def profile(rng: random.Random, i: int) -> dict[str, str]:
    yn = ["yes", "no", "unknown"]
    domain = rng.choice(["acme.com", "globex.io", "initech.com", "umbrella.org",
                         "rivalcorp.com", "state.edu"]) if rng.random() < 0.3 else "example.com"
    return {
        "email": f"person{i}@{domain}",
        "company": f"Company {i % 5000}",
        "title": rng.choice(TITLES),
        "country": rng.choice(COUNTRIES),
        "employees": str(rng.choice([10, 50, 120, 300, 800, 2500, 12000])),
        "industry": rng.choice(["software", "retail", "fintech", "manufacturing"]),
        "budget": rng.choice(yn),
        "authority": rng.choice(yn),
        "need": rng.choice(yn),
        "timeframe": rng.choice(["Q1", "this quarter", "unknown", "none"]),
    }


def generate(n_leads: int, seed: int) -> list[LeadEvent]:
    rng = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    events: list[LeadEvent] = []
    for i in range(n_leads):
        lid = f"L-{i:07d}"
        n = max(1, int(rng.gauss(10, 3)))
        t = T0 + rng.randrange(0, 60 * DAY)
        kinds = rng.choices(types, weights, k=n)
        kinds[0] = "FORM_SUBMITTED"
        for j, k in enumerate(kinds):
            t += rng.randrange(60_000, 4 * DAY)
            attrs = profile(rng, i) if j == 0 else (
                {"title": rng.choice(TITLES)} if k == "PROFILE_UPDATED" else {})
            if k == "REP_REFERRAL":
                attrs = {"need": rng.choice(["yes", "no"])}
            ev = LeadEvent(
                event_id=f"{lid}-e{j}", lead_id=lid, type=k, occurred_at=t, source="bench",
                campaign_id=rng.choice(CAMPAIGNS) if rng.random() < 0.7 else None,
                asset_id=rng.choice(ASSETS) if k == "CONTENT_DOWNLOAD" else None,
                rep_id="rep-zed" if k in ("REP_REFERRAL", "TRADE_SHOW_SCAN") else None,
                attributes=attrs,
            )
            events.append(ev)
            if rng.random() < 0.05:
                events.append(ev)  # at-least-once delivery: a duplicate
        if rng.random() < 0.002:
            events.append(LeadEvent(f"{lid}-erase", lid, "ERASURE_REQUESTED", t + DAY, "bench",
                                    None, None, None, {}))
    events.sort(key=lambda e: e.occurred_at)
    return events


def outcomes_for(handoffs: list[QualifiedLead], seed: int) -> list[SalesOutcome]:
    rng = random.Random(seed + 1)
    out: list[SalesOutcome] = []
    for h in handoffs:
        t = h.handed_off_at + rng.randrange(3_600_000, 72 * 3_600_000)
        lid = h.lead_id
        r = rng.random()
        if r < 0.3:
            out.append(SalesOutcome(f"{lid}-o1", lid, "REJECTED", t, h.owner_rep_id, "no budget"))
            continue
        out.append(SalesOutcome(f"{lid}-o0", lid, "CONTACTED", t, h.owner_rep_id))
        out.append(SalesOutcome(f"{lid}-o1", lid, "ACCEPTED", t + 3_600_000, h.owner_rep_id))
        if r < 0.7:
            out.append(SalesOutcome(f"{lid}-o2", lid, "MEETING_HELD", t + 3 * DAY, None))
            if r < 0.5:
                out.append(SalesOutcome(f"{lid}-o3", lid, "WON", t + 20 * DAY, None, None,
                                        25_000.0))
    return out


def processor_run(events: int, seed: int, policy_path: str, repeat: int,
                  batch_size: int = 500) -> dict[str, object]:
    """leadflow's own per-event code, end to end of the processor (see the module doc)."""
    from bench.workload import generate as workload
    from streams.codecs import default_codecs
    from streams.domain import decode_state
    from streams.processor import Inbound, LeadProcessor

    policy = load_policy(policy_path)
    codecs = default_codecs()
    now = time.time_ns() // 1_000_000
    records = workload(events, max(1, events // 10), seed=seed, now_ms=now)
    inbound = [Inbound(t, "bench." + t, 0, i, k, v) for i, (t, k, v) in enumerate(records)]
    batches = [inbound[i:i + batch_size] for i in range(0, len(inbound), batch_size)]
    processor = LeadProcessor(policy, codecs, {})

    def one_pass(timed: bool) -> tuple[float, dict[str, float], int]:
        store: dict[bytes, bytes] = {}
        clock = time.process_time
        stages = {"decode": 0.0, "apply": 0.0, "state_decode": 0.0, "state_encode": 0.0}

        def load(lead_id: str, rec: Inbound) -> LeadState | None:
            raw = store.get(lead_id.encode())
            if raw is None:
                return None
            if not timed:
                return decode_state(raw)
            t = clock()
            s = decode_state(raw)
            stages["state_decode"] += clock() - t
            return s

        out = 0
        cpu0 = clock()
        for chunk in batches:
            batch = processor.batch(load, now)
            decode, apply = processor.decode, batch.apply
            if timed:
                t = clock()
                decoded = [decode(rec, now) for rec in chunk]
                t1 = clock()
                for rec, (lead_id, model) in zip(chunk, decoded, strict=True):
                    apply(rec, lead_id, model)
                t2 = clock()
                stages["decode"] += t1 - t
                stages["apply"] += t2 - t1
            else:
                for rec in chunk:
                    lead_id, model = decode(rec, now)
                    apply(rec, lead_id, model)
            result = batch.result
            t = clock()
            for lead_id, (state, _rec) in result.states.items():
                store[lead_id.encode()] = encode_state(state)
            if timed:
                stages["state_encode"] += clock() - t
            out += len(result.outbound)
        return clock() - cpu0, stages, out

    gc.collect()
    gc.freeze()
    best = float("inf")
    outputs = 0
    for _ in range(repeat):
        cpu, _, outputs = one_pass(timed=False)
        best = min(best, cpu)
    _, stages, _ = one_pass(timed=True)
    stages["apply"] -= stages["state_decode"]  # apply's load includes the state decode
    n = len(inbound)
    return {
        "mode": "processor", "events": n, "leads": max(1, events // 10),
        "outputs": outputs, "batch": batch_size,
        "us_per_event": round(best / n * 1e6, 2),
        "events_per_cpu_s": round(n / best),
        "stages_us_per_event": {k: round(v / n * 1e6, 2) for k, v in stages.items()},
        "python": sys.version.split()[0],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processor", action="store_true",
                    help="time the processor end to end (decode, apply, state codec)")
    ap.add_argument("--events", type=int, default=200_000,
                    help="--processor: workload events (over events/10 leads)")
    ap.add_argument("--repeat", type=int, default=3, help="--processor: best of N passes")
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--policy", default=str(Path(__file__).resolve().parent.parent
                                             / "policy" / "default.yaml"))
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--gc", action="store_true",
                    help="keep Python's cyclic garbage collector running while timing")
    ap.add_argument("--copy", action="store_true",
                    help="use step()'s default copying mode instead of inplace=True")
    args = ap.parse_args()
    if args.processor:
        figures = processor_run(args.events, args.seed, args.policy, args.repeat)
        for k, v in figures.items():
            print(f"{k:>20}: {v}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    policy = load_policy(args.policy)
    inplace = not args.copy

    events = generate(args.leads, args.seed)
    # The million pre-generated input events and the 100k live states held in one dict are
    # bench artefacts (a worker streams events and keeps states as bytes in RocksDB); the domain
    # makes no reference cycles, so by default the cyclic GC is paused while timing (`--gc`
    # keeps it running; reference counting frees everything either way).
    gc.collect()
    gc.freeze()
    if not args.gc:
        gc.disable()
    states: dict[str, LeadState] = {}
    handoffs: list[QualifiedLead] = []
    n_out = 0
    get = states.get
    start, cpu0 = time.perf_counter(), time.process_time()
    for ev in events:
        s, outs = step(get(ev.lead_id), ev, policy, ev.occurred_at, inplace=inplace)
        states[ev.lead_id] = s
        if outs:
            n_out += len(outs)
            for o in outs:
                if isinstance(o, QualifiedLead):
                    handoffs.append(o)
    t_events = time.perf_counter() - start
    cpu_events = time.process_time() - cpu0

    outcomes = outcomes_for(handoffs, args.seed)
    start, cpu0 = time.perf_counter(), time.process_time()
    for oc in outcomes:
        s, outs = step(get(oc.lead_id), oc, policy, oc.occurred_at, inplace=inplace)
        states[oc.lead_id] = s
        n_out += len(outs)
    t_outcomes = time.perf_counter() - start
    cpu_outcomes = time.process_time() - cpu0

    gc.enable()
    sizes = sorted(len(encode_state(s)) for s in states.values())
    total = len(events) + len(outcomes)
    figures = {
        "leads": args.leads,
        "lead_events": len(events),
        "sales_outcomes": len(outcomes),
        "outputs": n_out,
        "handoffs": len(handoffs),
        "lead_events_per_cpu_s": round(len(events) / cpu_events),
        "outcomes_per_cpu_s": round(len(outcomes) / cpu_outcomes) if outcomes else None,
        "all_per_cpu_s": round(total / (cpu_events + cpu_outcomes)),
        "all_per_wall_s": round(total / (t_events + t_outcomes)),
        "state_bytes_median": statistics.median(sizes),
        "state_bytes_p99": sizes[int(len(sizes) * 0.99) - 1],
        "state_bytes_max": sizes[-1],
        "mode": ("inplace" if inplace else "copy") + (", gc on" if args.gc else ", gc paused"),
        "python": sys.version.split()[0],
    }
    for k, v in figures.items():
        print(f"{k:>20}: {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
