"""The demo's synthetic history: a seeded, time-ordered stream of lead events and outcomes.

``generate(seed, leads, now_ms, policy)`` is pure: the same arguments give the same records.
Each lead walks a funnel with drop-off (first touch through a campaign, nurture touches,
then, for some, a contact form with BANT facts, a demo request, a meeting); trade-show
badges are scanned on one show day; reps refer leads with a confirmed need. To make sales
realistic the generator asks the domain core (same ``step`` as the worker, same policy) when
each lead is handed off, and sales outcomes follow hours later in simulated time: accepted or
rejected with a reason, contacted, meeting held, opportunity, won with an amount or lost with
a reason; some hand-offs are never followed up, so SLAs are missed. About 1% of events are
sent twice (same event_id) and a few malformed records are mixed in (garbage bytes, an unknown
schema, a missing lead id, a far-future timestamp).

Simulated time spans ``days`` (14) ending at ``now_ms``; nothing is in the future.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.demo.accounts import Company, Contact, plan
from streams.demo.campaigns import (
    FIELD_REPS,
    NURTURE_ASSETS,
    NURTURE_EMAIL,
    REFERRAL,
    TRADE_SHOW,
    pick_campaign,
)
from streams.demo.personas import Persona, bant, pick_persona, profile
from streams.domain import LeadEvent, LeadState, Policy, QualifiedLead, step

MINUTE = 60_000
HOUR = 3_600_000
DAY = 24 * HOUR

REJECT_REASONS = ("no budget", "not a decision maker", "bad timing", "already a customer",
                  "wrong contact details")
LOST_REASONS = ("chose a competitor", "no decision", "price", "project postponed")
MALFORMED_KINDS = ("garbage", "unknown_schema", "missing_lead_id", "future_timestamp")
FUTURE_YEARS = 100  # how far ahead the far-future malformed record is


@dataclass(frozen=True, slots=True)
class DemoRecord:
    """One record to publish: a LeadEvent, a SalesOutcome or a malformed payload."""

    at: int  # simulated time (the stream's order)
    logical: str  # "events" or "outcomes"
    kind: str  # "LeadEvent", "SalesOutcome" or "malformed"
    key: bytes | None
    record: dict[str, Any] | None = None
    raw: bytes | None = None  # for malformed records: the bytes sent as they are
    note: str = ""  # for malformed records: what is wrong with it

    def value(self, codecs: Any) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.record is not None
        kind = "LeadEvent" if self.kind == "malformed" else self.kind  # well-formed Avro
        return bytes(codecs.encode(kind, self.record))


@dataclass
class Demo:
    seed: int
    now_ms: int
    records: list[DemoRecord]
    personas: dict[str, int] = field(default_factory=dict)
    expected_handoffs: int = 0
    duplicates: int = 0
    malformed: int = 0
    companies: list[Company] = field(default_factory=list)  # with --accounts

    @property
    def lead_ids(self) -> list[str]:
        return sorted({r.record["lead_id"] for r in self.records
                       if r.record is not None and r.record.get("lead_id")})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.kind] = out.get(r.kind, 0) + 1
        return out


def lead_id_of(seed: int, i: int) -> str:
    return f"L{seed}-{i + 1:05d}"


class _Lead:
    """Builds one lead's events; times only move forward."""

    def __init__(self, lead_id: str, persona: Persona, rng: random.Random, t: int) -> None:
        self.lead_id = lead_id
        self.persona = persona
        self.rng = rng
        self.t = t
        self.n = 0
        self.events: list[dict[str, Any]] = []

    def wait(self, mean_hours: float, min_minutes: float = 5) -> None:
        gap = self.rng.expovariate(1.0 / mean_hours) * HOUR
        self.t += int(max(gap, min_minutes * MINUTE))

    def emit(self, type_: str, source: str, *, campaign: str | None = None,
             asset: str | None = None, rep: str | None = None,
             attributes: dict[str, str] | None = None) -> None:
        self.n += 1
        self.events.append({
            "event_id": f"ev-{self.lead_id}-{self.n}", "lead_id": self.lead_id,
            "type": type_, "occurred_at": self.t, "source": source, "campaign_id": campaign,
            "asset_id": asset, "rep_id": rep, "attributes": attributes or {},
        })


def _lead_events(lead: _Lead, show_day: int, end: int,
                 prof: dict[str, str] | None = None) -> None:
    """``prof``: a buying-group contact's profile (else the persona draws one)."""
    rng, persona = lead.rng, lead.persona
    if prof is None:
        prof = profile(persona, rng)
    eng = persona.engagement
    if persona.name == "badge":
        lead.t = show_day + rng.randint(0, 9 * HOUR)
        lead.emit("TRADE_SHOW_SCAN", TRADE_SHOW.channel, campaign=TRADE_SHOW.campaign_id,
                  rep=rng.choice(FIELD_REPS), attributes=prof)
        if rng.random() < 0.35:
            lead.wait(30)
            lead.emit("EMAIL_OPENED", "email", campaign=NURTURE_EMAIL)
            if rng.random() < 0.4:
                lead.wait(20)
                lead.emit("CONTENT_DOWNLOAD", "web", campaign=NURTURE_EMAIL,
                          asset=rng.choice(NURTURE_ASSETS))
        return
    if persona.name == "referral":
        for _ in range(rng.randint(0, 2)):
            lead.emit("EMAIL_OPENED", "email", campaign=NURTURE_EMAIL, attributes=prof)
            lead.wait(24)
        attrs = dict(prof)
        attrs.update(bant(persona, rng))
        lead.emit("REP_REFERRAL", REFERRAL.channel, campaign=REFERRAL.campaign_id,
                  rep=rng.choice(FIELD_REPS), attributes=attrs)
        return
    camp = pick_campaign(persona.name, rng)
    lead.emit(camp.first_event, camp.channel, campaign=camp.campaign_id, asset=camp.asset_id,
              attributes=prof)
    if camp.first_event == "WEBINAR_REGISTERED" and rng.random() < 0.6:
        lead.wait(30)
        lead.emit("WEBINAR_ATTENDED", "webinar", campaign=camp.campaign_id,
                  asset=camp.asset_id)
    # nurture touches, with drop-off at every step
    for _ in range(6):
        if rng.random() > eng:
            break
        lead.wait(20)
        kind = rng.choices(("EMAIL_OPENED", "EMAIL_CLICKED", "CONTENT_DOWNLOAD",
                            "PRICING_PAGE_VISIT", "WEBINAR_ATTENDED"),
                           weights=(5, 3, 3, 2 if persona.good_fit else 1, 1))[0]
        src = "email" if kind.startswith("EMAIL") else "web"
        asset = rng.choice(NURTURE_ASSETS) if kind == "CONTENT_DOWNLOAD" else None
        lead.emit(kind, src, campaign=NURTURE_EMAIL if src == "email" else camp.campaign_id,
                  asset=asset)
    if rng.random() < 0.04:
        lead.wait(12)
        lead.emit("PROFILE_UPDATED", "crm", attributes={"title": prof["title"],
                                                        "phone": "verified"})
    # the hot part of the funnel: a contact form with BANT facts, a demo, a meeting
    if rng.random() < eng * 0.8:
        lead.wait(24)
        lead.emit("FORM_SUBMITTED", "web", campaign=camp.campaign_id, asset="contact-form",
                  attributes=bant(persona, rng))
        if rng.random() < 0.75:
            lead.wait(2)
            lead.emit("DEMO_REQUESTED", "web", campaign=camp.campaign_id)
            if rng.random() < 0.6:
                lead.wait(30)
                lead.emit("DEMO_VIEWED", "web", campaign=camp.campaign_id,
                          asset="product-tour")
            if rng.random() < 0.35:
                lead.wait(10)
                lead.emit("MEETING_BOOKED", "calendar", campaign=camp.campaign_id)
    r = rng.random()
    if r < 0.03:
        lead.wait(48)
        lead.emit("UNSUBSCRIBED", "email", campaign=NURTURE_EMAIL)
    elif r < 0.05:
        lead.wait(48)
        lead.emit("EMAIL_BOUNCED", "email", campaign=NURTURE_EMAIL)
    elif r < 0.055:
        lead.wait(72)
        lead.emit("ERASURE_REQUESTED", "privacy-portal")


def _outcomes(lead: _Lead, ho: QualifiedLead, end: int) -> list[dict[str, Any]]:
    """Sales' side of one hand-off: what the rep does, hours later."""
    rng = lead.rng
    rep = ho.owner_rep_id or "rep-max"
    out: list[dict[str, Any]] = []
    n = 0
    strong = lead.persona.name in ("champion", "referral")

    def add(type_: str, at: int, reason: str | None = None, amount: float | None = None
            ) -> bool:
        nonlocal n
        if at > end:
            return False
        n += 1
        out.append({"event_id": f"so-{lead.lead_id}-{n}", "lead_id": lead.lead_id,
                    "type": type_, "occurred_at": at, "rep_id": rep, "reason": reason,
                    "amount": amount})
        return True

    def hours(lo: float, hi: float) -> int:
        return int(rng.uniform(lo, hi) * HOUR)

    t = ho.handed_off_at
    r = rng.random()
    if r < 0.14:  # nobody follows up: the SLA is missed; the escalation manager may call
        if rng.random() < 0.5:
            return out
        rep = "mgr-olga"
        t = ho.sla_due_at + hours(2, 20)
    elif r < 0.24:  # followed up, but late
        t = ho.sla_due_at + hours(1, 30)
    else:
        t += hours(0.5, 36)
    if rng.random() < (0.12 if strong else 0.3):
        add("REJECTED", t, rng.choice(REJECT_REASONS))
        return out
    if not add("ACCEPTED", t):
        return out
    t += hours(0.5, 20)
    if not add("CONTACTED", t):
        return out
    if rng.random() > (0.7 if strong else 0.45):
        if rng.random() < 0.5:
            add("RECYCLED", t + hours(24, 96), "not ready yet")
        return out
    t += hours(12, 48)
    if not add("MEETING_HELD", t):
        return out
    if rng.random() > (0.75 if strong else 0.5):
        add("LOST", t + hours(12, 48), rng.choice(LOST_REASONS))
        return out
    t += hours(6, 36)
    if not add("OPPORTUNITY_CREATED", t):
        return out
    t += hours(24, 72)
    if rng.random() < (0.5 if strong else 0.3):
        amount = round(rng.lognormvariate(10.3, 0.6), -2)  # ~30k median deal
        add("WON", t, amount=float(amount))
    else:
        add("LOST", t, rng.choice(LOST_REASONS))
    return out


def _first_handoff(events: list[dict[str, Any]], policy: Policy, now: int
                   ) -> QualifiedLead | None:
    state: LeadState | None = None
    for rec in events:
        state, outs = step(state, LeadEvent.from_record(rec), policy, now)
        for o in outs:
            if isinstance(o, QualifiedLead):
                return o
    return None


def _malformed(kind: str, rng: random.Random, seed: int, n: int, at: int, now: int
               ) -> DemoRecord:
    lead = lead_id_of(seed, rng.randrange(10_000))
    if kind == "garbage":
        return DemoRecord(at, "events", "malformed", lead.encode(),
                          raw=rng.randbytes(rng.randint(3, 40)), note="garbage bytes")
    if kind == "unknown_schema":  # single-object header, fingerprint of no known schema
        body = b"\xc3\x01" + struct.pack("<Q", rng.getrandbits(64)) + rng.randbytes(12)
        return DemoRecord(at, "events", "malformed", lead.encode(), raw=body,
                          note="unknown schema fingerprint")
    rec = {"event_id": f"bad-{seed}-{n}", "lead_id": lead, "type": "CONTENT_DOWNLOAD",
           "occurred_at": at, "source": "web", "campaign_id": None, "asset_id": None,
           "rep_id": None, "attributes": {}}
    if kind == "missing_lead_id":
        rec["lead_id"] = ""
        return DemoRecord(at, "events", "malformed", None, record=rec, note="missing lead id")
    # Far enough ahead to stay invalid for any wall clock near a pinned --now-ms: a month
    # ahead would turn valid (and move its partition's stream time a month on, firing every
    # open deadline) once the wall clock is a month past the pinned now.
    rec["occurred_at"] = now + FUTURE_YEARS * 365 * DAY
    return DemoRecord(at, "events", "malformed", lead.encode(), record=rec,
                      note=f"timestamp {FUTURE_YEARS} years in the future")




def generate(seed: int, leads: int, now_ms: int, policy: Policy, days: int = 14,
             duplicate_rate: float = 0.01, malformed_rate: float = 0.005,
             accounts: bool = False) -> Demo:
    """The demo history for ``leads`` leads, ordered by simulated time, ending at now.
    ``accounts``: the last leads (up to 40%) are contacts of companies with buying groups
    (``streams.demo.accounts``); the other leads are the same as without it."""
    if leads < 1:
        raise ValueError("the demo needs at least one lead")
    start = now_ms - days * DAY
    end = now_ms
    master = random.Random(f"leadflow-demo:{seed}")
    show_day = start + int(days * 0.35) * DAY + 8 * HOUR
    raw: list[tuple[int, int, DemoRecord]] = []
    demo = Demo(seed=seed, now_ms=now_ms, records=[])
    contacts: dict[int, Contact] = {}
    if accounts:
        demo.companies = plan(seed, leads, start, days)
        contacts = {c.index: c for co in demo.companies for c in co.contacts}
    seq = 0
    for i in range(leads):
        rng = random.Random(f"leadflow-demo:{seed}:{i}")
        lead_id = lead_id_of(seed, i)
        contact = contacts.get(i)
        if contact is None:
            persona = pick_persona(rng)
            t0 = start + int(rng.random() ** 1.3 * (days - 1) * DAY)  # more early starters
        else:
            persona, t0 = contact.persona, contact.start
        demo.personas[persona.name] = demo.personas.get(persona.name, 0) + 1
        lead = _Lead(lead_id, persona, rng, t0)
        _lead_events(lead, show_day, end, None if contact is None else contact.profile)
        events = [e for e in lead.events if e["occurred_at"] <= end]
        for rec in events:
            seq += 1
            raw.append((rec["occurred_at"], seq, DemoRecord(
                rec["occurred_at"], "events", "LeadEvent", lead_id.encode(), record=rec)))
            if rng.random() < duplicate_rate:
                seq += 1
                demo.duplicates += 1
                at = min(end, rec["occurred_at"] + rng.randint(1, 600) * 1000)
                raw.append((at, seq, DemoRecord(at, "events", "LeadEvent", lead_id.encode(),
                                                record=dict(rec))))
        ho = _first_handoff(events, policy, now_ms)
        if ho is not None:
            demo.expected_handoffs += 1
            for rec in _outcomes(lead, ho, end):
                seq += 1
                raw.append((rec["occurred_at"], seq, DemoRecord(
                    rec["occurred_at"], "outcomes", "SalesOutcome", lead_id.encode(),
                    record=rec)))
    n_bad = max(len(MALFORMED_KINDS), round(len(raw) * malformed_rate))
    for k in range(n_bad):
        at = start + int(master.random() * days * DAY)
        seq += 1
        bad = _malformed(MALFORMED_KINDS[k % len(MALFORMED_KINDS)], master, seed, k, at,
                         now_ms)
        raw.append((at, seq, bad))
        demo.malformed += 1
    raw.sort(key=lambda x: (x[0], x[1]))
    demo.records = [r for _, _, r in raw]
    return demo


def export(demo: Demo, out_dir: str | Path) -> tuple[Path, Path]:
    """Write events.jsonl and outcomes.jsonl (well-formed records only, in stream order)."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    ev, so = d / "events.jsonl", d / "outcomes.jsonl"
    with ev.open("w", encoding="utf-8") as fe, so.open("w", encoding="utf-8") as fo:
        for r in demo.records:
            if r.kind == "LeadEvent":
                fe.write(json.dumps(r.record, separators=(",", ":")) + "\n")
            elif r.kind == "SalesOutcome":
                fo.write(json.dumps(r.record, separators=(",", ":")) + "\n")
    return ev, so


def iter_kinds(records: Iterable[DemoRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r.kind] = out.get(r.kind, 0) + 1
    return out
