"""Input records for the seed stories, shared by the integration and reliability tests."""

from __future__ import annotations

from typing import Any

from tests.support.kafka_io import HOUR, lead_event, outcome

BANT = {
    "email": "vp@acme.example", "company": "Acme", "title": "VP Marketing", "country": "US",
    "employees": "500", "industry": "software", "budget": "yes", "authority": "yes",
    "need": "yes", "timeframe": "this quarter",
}


def seed_story(lead: str, t: int) -> list[dict[str, Any]]:
    """Content + webinar + pricing page with a BANT profile: ENGAGED, then MQL."""
    return [
        lead_event(f"{lead}-e1", lead, "CONTENT_DOWNLOAD", t, attributes=BANT,
                   campaign_id="c-ebook", asset_id="ebook-roi"),
        lead_event(f"{lead}-e2", lead, "WEBINAR_ATTENDED", t + 1000, campaign_id="c-webinar"),
        lead_event(f"{lead}-e3", lead, "PRICING_PAGE_VISIT", t + 2000),
    ]


def sales_to_won(lead: str, t: int) -> list[dict[str, Any]]:
    return [
        outcome(f"{lead}-o1", lead, "ACCEPTED", t + 3 * HOUR, rep_id="rep-dan"),
        outcome(f"{lead}-o2", lead, "MEETING_HELD", t + 4 * HOUR, rep_id="rep-dan"),
        outcome(f"{lead}-o3", lead, "OPPORTUNITY_CREATED", t + 5 * HOUR, rep_id="rep-dan"),
        outcome(f"{lead}-o4", lead, "WON", t + 6 * HOUR, rep_id="rep-dan", amount=42_000.0),
    ]
