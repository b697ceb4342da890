"""Input records for account stories: a company's buying group, shared by the engine unit
tests and the broker tests."""

from __future__ import annotations

from typing import Any

from tests.support.kafka_io import lead_event

GROUP = (("cfo", "CFO", 1), ("dir", "Director of Operations", 2),
         ("arch", "Solutions Architect", 3), ("mgr", "Operations Manager", 4))


def buying_group(company: str, t: int, prefix: str = "") -> list[dict[str, Any]]:
    """Four contacts of ``company`` (e-mail domain ``<company>.example``), each engaged
    (~55 points: content, webinar, pricing page): the account qualifies (policy
    accounts.yaml: 120 points, 3 engaged contacts, 2 roles, grade B) once the third one
    has engaged."""
    out: list[dict[str, Any]] = []
    for who, title, i in GROUP:
        lead = f"{prefix}{company}-{who}"
        profile = {"email": f"{who}@{company}.example", "title": title, "country": "US",
                   "employees": "1500", "industry": "software", "company": company}
        base = t + i * 60_000
        out += [
            lead_event(f"{lead}-a1", lead, "CONTENT_DOWNLOAD", base, attributes=profile,
                       campaign_id="c-abm", asset_id="ebook-roi"),
            lead_event(f"{lead}-a2", lead, "WEBINAR_ATTENDED", base + 1000,
                       campaign_id="c-abm"),
            lead_event(f"{lead}-a3", lead, "PRICING_PAGE_VISIT", base + 2000),
        ]
    return out


def erase(lead: str, t: int) -> dict[str, Any]:
    return lead_event(f"{lead}-erase", lead, "ERASURE_REQUESTED", t)
