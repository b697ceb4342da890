"""Seeded, realistic streams of lead events and sales outcomes for reliability tests.

``generate``: every timestamp in the last 40 hours, so no 48 h SLA falls due (the older
tests). ``history``: three weeks of event time with deadlines falling due inside it, for
the live-equals-replay scenarios (contract 1b, issue 13 item 6).
"""

from __future__ import annotations

import random
from typing import Any

from tests.support.kafka_io import HOUR, lead_event, outcome
from tests.support.stories import BANT

ENGAGEMENT = ["EMAIL_OPENED", "EMAIL_CLICKED", "CONTENT_DOWNLOAD", "NEWSLETTER_SIGNUP",
              "WEBINAR_REGISTERED", "WEBINAR_ATTENDED", "FORM_SUBMITTED",
              "PRICING_PAGE_VISIT", "DEMO_REQUESTED", "DEMO_VIEWED", "TRADE_SHOW_SCAN"]
WEIGHTS = [30, 10, 14, 5, 5, 6, 5, 8, 4, 3, 4]
CAMPAIGNS = ["c-ebook", "c-webinar", "c-summit", "c-newsletter", "c-paid-search"]
OUTCOMES = [("ACCEPTED", None), ("CONTACTED", None), ("MEETING_HELD", None),
            ("REJECTED", "no budget"), ("OPPORTUNITY_CREATED", None), ("WON", None),
            ("LOST", "chose competitor")]


def generate(n_events: int, n_leads: int, now: int, seed: int = 7
             ) -> list[tuple[str, dict[str, Any]]]:
    """[(logical topic, record)] in send order: ~90% lead events, ~10% outcomes."""
    rng = random.Random(seed)
    start = now - 40 * HOUR
    span = 38 * HOUR
    out: list[tuple[str, dict[str, Any]]] = []
    profiles: dict[str, dict[str, str]] = {}
    for i in range(n_events):
        lead = f"L{rng.randrange(n_leads):06d}"
        t = start + span * i // n_events
        if lead not in profiles:
            good = rng.random() < 0.4
            profiles[lead] = dict(BANT, email=f"{lead.lower()}@example.com") if good else {
                "email": f"{lead.lower()}@example.org", "employees": str(rng.choice([5, 20, 80])),
                "country": rng.choice(["US", "DE", "BR"]), "title": "Analyst"}
            attrs = profiles[lead]
        else:
            attrs = {}
        if rng.random() < 0.1:
            otype, reason = rng.choice(OUTCOMES)
            out.append(("outcomes", outcome(f"o{i}", lead, otype, t, rep_id="rep-1",
                                            reason=reason,
                                            amount=10_000.0 if otype == "WON" else None)))
        else:
            etype = rng.choices(ENGAGEMENT, WEIGHTS)[0]
            out.append(("events", lead_event(f"e{i}", lead, etype, t, attributes=attrs,
                                             campaign_id=rng.choice(CAMPAIGNS))))
    return out


# -- three weeks of history: SLA deadlines fall due inside it ------------------------------

DAY = 24 * HOUR
SLA_HOURS = 48  # policy/default.yaml sla.follow_up_hours.default (escalation: 24)
# A qualifier's sales story after its hand-off at h: (weight, [(offset from h, outcome)]).
# Offsets are relative to the 48 h deadline where it matters (contact at, before or after it).
FATES: list[tuple[int, list[tuple[int, str]]]] = [
    (20, []),  # never contacted: breach at 48 h, escalation, escalation breach at 72 h
    (20, [(-30, "CONTACTED"), (-10, "MEETING_HELD")]),  # contacted in time
    (10, [(-40, "ACCEPTED"), (-20, "OPPORTUNITY_CREATED"), (40, "WON")]),
    (8, [(-44, "REJECTED")]),
    (5, [(-36, "ACCEPTED"), (-5, "LOST")]),
    (3, [(0, "CONTACTED")]),  # exactly at the deadline: in time
    (15, [(6, "CONTACTED")]),  # late: breach + escalation, escalation then contacted
    (10, [(30, "CONTACTED")]),  # after the escalation's own deadline too
    (4, [(12, "ACCEPTED"), (60, "WON")]),
    (5, [(20, "REJECTED")]),
]
REASONS = {"REJECTED": "no budget", "LOST": "chose competitor"}


def history(n_records: int, now: int, seed: int = 13
            ) -> list[tuple[str, dict[str, Any]]]:
    """[(logical topic, record)] in send order, ~`n_records` of them (at least that many):
    about three weeks of event time ending an hour before `now`, in time order across
    both topics (as upstream systems write), so 48 h and 24 h SLA deadlines fall due inside
    it. Leads that qualify and are never contacted, contacted in time, at the deadline,
    late, after the escalation's deadline too, accepted/rejected/won/lost; browsing leads
    (some qualify on their own and are never followed up); outcomes for leads never seen
    (dead-lettered "unknown lead"); ~1% duplicates (an upstream retry, right after the
    original); a few malformed records (a missing reason, an occurred_at 30 days ahead,
    bytes that are not Avro: see `encode_input`)."""
    rng = random.Random(seed)
    end = now - HOUR
    start = end - 22 * DAY
    timed: list[tuple[int, int, str, dict[str, Any]]] = []  # (send time, seq, topic, rec)

    def add(t: int, logical: str, rec: dict[str, Any]) -> None:
        timed.append((t, len(timed), logical, rec))

    def event(lead: str, etype: str, t: int, attrs: dict[str, str] | None = None) -> None:
        add(t, "events", lead_event(f"{lead}-e{len(timed)}", lead, etype, t,
                                    attributes=attrs, campaign_id=rng.choice(CAMPAIGNS)))

    def sale(lead: str, otype: str, t: int) -> None:
        add(t, "outcomes", outcome(f"{lead}-o{len(timed)}", lead, otype, t,
                                   rep_id=rng.choice(["rep-dan", "rep-eve", "mgr-olga"]),
                                   reason=REASONS.get(otype),
                                   amount=25_000.0 if otype == "WON" else None))

    n = 0
    while len(timed) < n_records:
        n += 1
        lead = f"L{n:06d}"
        if rng.random() < 0.3:  # a qualifier: MQL at its third event, then its sales story
            t0 = rng.randrange(start, end - 7 * DAY)
            attrs = dict(BANT, email=f"{lead.lower()}@example.com")
            h = t0 + rng.randrange(1, 6 * HOUR)
            event(lead, "CONTENT_DOWNLOAD", t0, attrs)
            event(lead, "WEBINAR_ATTENDED", t0 + (h - t0) // 2)
            event(lead, "PRICING_PAGE_VISIT", h)  # hand-off at h, due h + 48 h
            fate = rng.choices([f for _, f in FATES], [w for w, _ in FATES])[0]
            for hours, otype in fate:
                jitter = 0 if hours == 0 else rng.randrange(-HOUR // 2, HOUR // 2)
                sale(lead, otype, h + (SLA_HOURS + hours) * HOUR + jitter)
            for _ in range(rng.randrange(0, 4)):  # engagement goes on meanwhile
                event(lead, rng.choices(ENGAGEMENT, WEIGHTS)[0], h + rng.randrange(7 * DAY))
        else:  # browsing: a few to many events over up to ten days
            t0 = rng.randrange(start, end - DAY)
            good = rng.random() < 0.12  # may qualify on its own, never followed up
            attrs = dict(BANT, email=f"{lead.lower()}@example.com") if good else {
                "email": f"{lead.lower()}@example.org", "employees": str(rng.choice([5, 20, 80])),
                "country": rng.choice(["US", "DE", "BR"]), "title": "Analyst"}
            times = sorted(rng.randrange(t0, min(end, t0 + 10 * DAY))
                           for _ in range(rng.randrange(2, 16)))
            for i, t in enumerate(times):
                event(lead, rng.choices(ENGAGEMENT, WEIGHTS)[0], t, attrs if i == 0 else None)
        if rng.random() < 0.04:  # an outcome for a lead nobody has seen
            sale(f"U{n:06d}", rng.choice(["ACCEPTED", "CONTACTED", "WON"]),
                 rng.randrange(start, end))
    for i in range(9):  # malformed, spread over the history
        t = start + (i + 1) * (end - start) // 10
        lead = f"L{rng.randrange(1, n + 1):06d}"
        if i % 3 == 0:
            rec = outcome(f"bad-{i}", lead, "REJECTED", t)  # no reason: VALIDATION
            add(t, "outcomes", rec)
        elif i % 3 == 1:
            add(t, "events", lead_event(f"bad-{i}", lead, "EMAIL_OPENED", now + 30 * DAY))
        else:
            add(t, "events" if i % 2 else "outcomes", {"lead_id": lead, RAW: b"\x00garbage"})
    timed.sort()
    out: list[tuple[str, dict[str, Any]]] = []
    for _, _, logical, rec in timed:
        out.append((logical, rec))
        if RAW not in rec and rng.random() < 0.01:  # an upstream retry: the same record
            out.append((logical, dict(rec)))
    return out


RAW = "__raw_value__"  # a workload record that is these bytes on the wire, not Avro


def encode_input(codecs: Any, logical: str, rec: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of a workload record as the producer sends it."""
    key = rec["lead_id"].encode()
    if RAW in rec:
        return key, rec[RAW]
    return key, codecs.encode("LeadEvent" if logical == "events" else "SalesOutcome", rec)
