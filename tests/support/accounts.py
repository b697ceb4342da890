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


TITLES = ("CFO", "CEO", "VP Sales", "CTO", "Solutions Architect", "Senior Engineer",
          "IT Security Lead", "Head of Operations", "Director of Marketing",
          "Marketing Manager", "Data Analyst", "Sales Coordinator", "Intern")
ACTIONS = (("CONTENT_DOWNLOAD", 4), ("WEBINAR_ATTENDED", 3), ("PRICING_PAGE_VISIT", 3),
           ("EMAIL_OPENED", 6), ("DEMO_REQUESTED", 1), ("FORM_SUBMITTED", 2))


def companies(n: int, t: int, seed: int = 1, span: int = 72 * 3_600_000
              ) -> list[dict[str, Any]]:
    """``n`` companies of 3-6 contacts each (titles that map to roles, and some that do
    not), each contact doing 2-6 things at random moments within ``span`` of ``t``; in
    event-time order, as upstream systems write."""
    import random

    rng = random.Random(seed)
    names, weights = zip(*ACTIONS, strict=True)
    out: list[dict[str, Any]] = []
    for c in range(n):
        company = f"co{c:03d}"
        for k in range(rng.randrange(3, 7)):
            lead = f"{company}-p{k}"
            profile = {"email": f"p{k}@{company}.example", "title": rng.choice(TITLES),
                       "country": rng.choice(["US", "US", "DE", "CA"]),
                       "employees": str(rng.choice([300, 1500, 8000])),
                       "industry": "software", "company": company}
            times = sorted(t + rng.randrange(span) for _ in range(rng.randrange(2, 7)))
            for i, at in enumerate(times):
                out.append(lead_event(f"{lead}-e{i}", lead,
                                      rng.choices(names, weights)[0], at,
                                      attributes=profile if i == 0 else None,
                                      campaign_id="c-abm"))
    out.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
    return out


def with_companies(records: list[tuple[str, Any]], seed: int = 1, per_company: int = 5
                   ) -> list[tuple[str, Any]]:
    """A workload (``tests.support.workload.history``) whose leads work for companies:
    each lead's profile gets an e-mail at one of ``len(leads) / per_company`` company
    domains and a title that maps to a buying-group role (or none); the rest (times,
    types, outcomes, malformed records) stays as it is."""
    import random

    rng = random.Random(seed)
    leads = sorted({rec["lead_id"] for _, rec in records if "attributes" in rec
                    and isinstance(rec.get("attributes"), dict)
                    and "email" in rec["attributes"]})
    n = max(1, len(leads) // per_company)
    company = {lead: f"co{rng.randrange(n):05d}" for lead in leads}
    out = []
    for logical, rec in records:
        attrs = rec.get("attributes")
        if isinstance(attrs, dict) and "email" in attrs and rec["lead_id"] in company:
            c = company[rec["lead_id"]]
            rec = dict(rec, attributes=dict(attrs, email=f"{rec['lead_id'].lower()}@{c}.example",
                                            title=rng.choice(TITLES), company=c))
        out.append((logical, rec))
    return out


def wait_accounts_caught_up(settings: Any, timeout: float = 120.0) -> None:
    """Until the account agent has committed every record of the signals topic (it
    commits a record only once it and everything before it is applied)."""
    import time

    from kafka import KafkaConsumer, TopicPartition

    from streams.engine.accounts import signal_topic

    deadline = time.monotonic() + timeout
    topic = signal_topic(settings.app_id)
    while True:
        consumer = KafkaConsumer(bootstrap_servers=settings.broker_hosts,
                                 group_id=settings.app_id, enable_auto_commit=False)
        try:
            parts = [TopicPartition(topic, p) for p in range(settings.partitions)]
            ends = consumer.end_offsets(parts)
            if all((consumer.committed(tp) or 0) >= end for tp, end in ends.items()):
                return
        finally:
            consumer.close()
        assert time.monotonic() < deadline, "the account agent did not catch up"
        time.sleep(0.5)
