"""A seeded, realistic stream of lead events and sales outcomes for reliability tests.

Every timestamp lies in the last 40 hours, so no 48 h SLA falls due while a test runs and
the outputs depend only on the inputs: an offline replay must produce the same.
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
