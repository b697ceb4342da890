"""A seeded, realistic lead-event mix for the end-to-end benchmarks, already Avro-encoded.

    from bench.workload import generate
    records = generate(n_events=1_000_000, n_leads=100_000, seed=7)
    # [(logical_topic, key_bytes, value_bytes), ...] in event-time order

Shaped like a funnel: many e-mail opens/clicks and content downloads, fewer webinars,
pricing visits and demos, some badge scans and rep referrals, a few unsubscribes/bounces.
About 40% of leads carry a BANT profile on their first event. About 10% of all records are
sales outcomes, appended after the leads most likely to have been handed off (demo/pricing
activity with a BANT profile). Timestamps spread over the 14 days before ``now``; every
record is keyed by its lead id, so per-lead order holds on any partition count.

(``streams/demo`` will be the product's realistic generator; this one has no dependency on
it so the benchmark is reproducible from this file alone.)
"""

from __future__ import annotations

import random
import time
from typing import Any

from streams.codecs import default_codecs

DAY = 86_400_000
HOUR = 3_600_000

MIX = [  # (type, weight): a marketing funnel
    ("EMAIL_OPENED", 30),
    ("EMAIL_CLICKED", 12),
    ("CONTENT_DOWNLOAD", 14),
    ("NEWSLETTER_SIGNUP", 4),
    ("WEBINAR_REGISTERED", 6),
    ("WEBINAR_ATTENDED", 4),
    ("FORM_SUBMITTED", 5),
    ("PRICING_PAGE_VISIT", 7),
    ("DEMO_REQUESTED", 2),
    ("DEMO_VIEWED", 3),
    ("TRADE_SHOW_SCAN", 4),
    ("REP_REFERRAL", 1),
    ("MEETING_BOOKED", 1),
    ("PROFILE_UPDATED", 3),
    ("UNSUBSCRIBED", 1),
    ("EMAIL_BOUNCED", 1),
]
TYPES = [t for t, _ in MIX]
WEIGHTS = [w for _, w in MIX]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "NL", "BR", "IN", "JP"]
TITLES = ["VP Marketing", "Head of Sales", "Marketing Manager", "Engineer", "CTO",
          "Director of Operations", "Analyst", "Founder", "IT Manager"]
CAMPAIGNS = [f"cmp-2026-{i:02d}" for i in range(40)]
ASSETS = ["pricing-guide", "gartner-mq", "ebook-1", "ebook-2", "case-study", "whitepaper"]
REPS = [f"rep-{i}" for i in range(12)]


def _profile(rng: random.Random, i: int, bant: bool) -> dict[str, str]:
    p = {
        "email": f"person{i}@company{i % 7000}.com",
        "company": f"Company {i % 7000}",
        "title": rng.choice(TITLES),
        "country": rng.choice(COUNTRIES),
        "employees": str(rng.choice([10, 50, 120, 300, 800, 2500, 12000])),
        "industry": rng.choice(["software", "retail", "fintech", "manufacturing"]),
    }
    if bant:
        p.update(budget=rng.choice(["approved", "yes", "unknown"]),
                 authority=rng.choice(["yes", "no"]),
                 need=rng.choice(["yes", "yes", "no"]),
                 timeframe=rng.choice(["this quarter", "Q1", "unknown"]))
    return p


def lead_records(n_events: int, n_leads: int, seed: int = 7,
                 now_ms: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    """``(kind, record)`` pairs (kind LeadEvent or SalesOutcome), sorted by event time."""
    rng = random.Random(seed)
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    start = now - 14 * DAY
    n_outcomes_goal = n_events // 10
    n_lead_events = n_events - n_outcomes_goal
    per_lead = n_lead_events / n_leads
    out: list[tuple[int, str, dict[str, Any]]] = []
    hot: list[tuple[str, int]] = []
    made = 0
    for i in range(n_leads):
        lid = f"L-{seed}-{i:07d}"
        # spread the remaining budget evenly so the total is exactly n_lead_events
        n = int(per_lead * (i + 1)) - int(per_lead * i)
        if n <= 0:
            continue
        bant = rng.random() < 0.4
        t = start + rng.randrange(0, 7 * DAY)
        step_max = max(60_000, (now - t) // (n + 1))
        kinds = rng.choices(TYPES, WEIGHTS, k=n)
        kinds[0] = rng.choice(["FORM_SUBMITTED", "CONTENT_DOWNLOAD", "TRADE_SHOW_SCAN",
                               "WEBINAR_REGISTERED"])
        is_hot = False
        for j, k in enumerate(kinds):
            t += rng.randrange(1_000, step_max)
            if j == 0:
                attrs = _profile(rng, i, bant)
            elif k == "PROFILE_UPDATED":
                attrs = {"title": rng.choice(TITLES)}
            elif k == "REP_REFERRAL":
                attrs = {"need": rng.choice(["yes", "no"])}
            else:
                attrs = {}
            is_hot = is_hot or k in ("DEMO_REQUESTED", "PRICING_PAGE_VISIT", "REP_REFERRAL")
            out.append((t, "LeadEvent", {
                "event_id": f"{lid}-e{j}", "lead_id": lid, "type": k, "occurred_at": t,
                "source": "bench",
                "campaign_id": rng.choice(CAMPAIGNS) if rng.random() < 0.7 else None,
                "asset_id": rng.choice(ASSETS) if k == "CONTENT_DOWNLOAD" else None,
                "rep_id": rng.choice(REPS) if k in ("REP_REFERRAL", "TRADE_SHOW_SCAN") else None,
                "attributes": attrs,
            }))
            made += 1
        if is_hot and bant:
            hot.append((lid, t))
    # sales outcomes after the hand-offs: ~10% of all records
    n_out = 0
    rng.shuffle(hot)
    pool = hot or [(f"L-{seed}-{i:07d}", now - DAY) for i in range(min(n_leads, 10))]
    k = 0
    while n_out < n_outcomes_goal:
        lid, t = pool[k % len(pool)]
        round_ = k // len(pool)
        k += 1
        t = min(now - 1000, t + rng.randrange(HOUR, 48 * HOUR))
        rep = rng.choice(REPS)
        r = rng.random()
        if r < 0.25:
            seq = [("REJECTED", "no budget", None)]
        else:
            seq = [("CONTACTED", None, None), ("ACCEPTED", None, None),
                   ("MEETING_HELD", None, None)]
            if r < 0.45:
                seq.append(("WON", None, 25_000.0))
            elif r < 0.6:
                seq.append(("LOST", "went with a competitor", None))
        for m, (typ, reason, amount) in enumerate(seq):
            if n_out >= n_outcomes_goal:
                break
            out.append((t + m * HOUR, "SalesOutcome", {
                "event_id": f"{lid}-o{round_}-{m}", "lead_id": lid, "type": typ,
                "occurred_at": min(now - 1000, t + m * HOUR), "rep_id": rep,
                "reason": reason, "amount": amount,
            }))
            n_out += 1
    out.sort(key=lambda x: x[0])
    return [(kind, rec) for _, kind, rec in out]


def generate(n_events: int, n_leads: int, seed: int = 7,
             now_ms: int | None = None) -> list[tuple[str, bytes, bytes]]:
    """``(logical topic, key, Avro single-object value)`` in event-time order."""
    codecs = default_codecs()
    enc = codecs.encode
    return [("events" if kind == "LeadEvent" else "outcomes", rec["lead_id"].encode(),
             enc(kind, rec)) for kind, rec in lead_records(n_events, n_leads, seed, now_ms)]


def one_event_per_lead(n_leads: int, seed: int = 11,
                       now_ms: int | None = None) -> list[tuple[str, bytes, bytes]]:
    """One profiled FORM_SUBMITTED per lead: fills the state table with ``n_leads`` leads
    cheaply (recovery and memory benchmarks)."""
    codecs = default_codecs()
    rng = random.Random(seed)
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    out = []
    for i in range(n_leads):
        lid = f"R-{seed}-{i:07d}"
        rec = {"event_id": f"{lid}-e0", "lead_id": lid, "type": "FORM_SUBMITTED",
               "occurred_at": now - rng.randrange(0, 14 * DAY), "source": "bench",
               "campaign_id": rng.choice(CAMPAIGNS), "asset_id": None, "rep_id": None,
               "attributes": _profile(rng, i, rng.random() < 0.4)}
        out.append(("events", lid.encode(), codecs.encode("LeadEvent", rec)))
    return out
