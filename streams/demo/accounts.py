"""The demo's companies with buying groups (``leadflow demo --accounts``, contract 4b).

A share of the demo's leads are contacts of a few companies: several people per company
with titles that map to the buying-group roles of ``policy/accounts.yaml`` (economic buyer,
champion, technical evaluator, user), the same company, domain and firmographics, and for
most companies a CRM ``account_id`` (the others are grouped by their e-mail domain). How
far each contact goes through the funnel depends on the company's intent (hot, warm,
cold), so some companies qualify as accounts and others do not.

Pure and seeded, from its own RNG stream: the ordinary leads' draws are untouched, so
without ``--accounts`` the demo is what it always was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from streams.demo.personas import CORE_COUNTRIES, FIRST, INDUSTRIES, LAST, PERSONAS, Persona

GROUP_SHARE = 0.4  # at most this share of the demo's leads are buying-group contacts
DAY = 86_400_000

# Distinct from the ordinary leads' company names, so no ordinary lead joins an account
# by sharing its e-mail domain.
NAME_A = ("Altamira", "Brightwave", "Corvid", "Dunmore", "Everfield", "Foxglove", "Granite",
          "Halcyon", "Ironbark", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus",
          "Orchard", "Pinnacle", "Quarry", "Redwood", "Sablewood", "Tidewater")
NAME_B = ("Software", "Health", "Logistics", "Capital", "Retail", "Systems", "Payments",
          "Insurance", "Robotics", "Networks")
# Titles per buying-group role (policy/accounts.yaml's title patterns; a unit test checks
# each title maps to its role there).
ROLE_TITLES: dict[str, tuple[str, ...]] = {
    "economic_buyer": ("CFO", "VP Finance", "Chief Revenue Officer", "VP Sales", "COO"),
    "champion": ("Head of Marketing Operations", "Director of Demand Generation",
                 "Director of Revenue Operations", "Head of Growth"),
    "technical_evaluator": ("Solutions Architect", "IT Manager", "Data Engineer", "CTO",
                            "Security Lead"),
    "user": ("Marketing Manager", "Sales Operations Specialist", "CRM Analyst",
             "Marketing Coordinator"),
}
# Who tends to be in a buying group (a champion and users more often than the CFO).
ROLE_WEIGHTS = {"economic_buyer": 2, "champion": 3, "technical_evaluator": 3, "user": 4}
_PERSONA = {p.name: p for p in PERSONAS}
# (intent, weight, persona per role): how engaged the company's contacts are
INTENTS: tuple[tuple[str, float, dict[str, str]], ...] = (
    ("hot", 5, {"economic_buyer": "champion", "champion": "champion",
                "technical_evaluator": "evaluator", "user": "evaluator"}),
    ("warm", 3, {"economic_buyer": "evaluator", "champion": "evaluator",
                 "technical_evaluator": "browser", "user": "browser"}),
    ("cold", 2, {"economic_buyer": "browser", "champion": "browser",
                 "technical_evaluator": "browser", "user": "browser"}),
)


@dataclass(frozen=True, slots=True)
class Contact:
    """One buying-group contact: the lead index it takes, its persona and profile."""

    index: int
    role: str
    persona: Persona
    profile: dict[str, str]
    start: int  # first touch (epoch ms)


@dataclass(frozen=True, slots=True)
class Company:
    account: str  # the account id the policy will derive (account_id, else the domain)
    name: str
    domain: str
    intent: str
    contacts: tuple[Contact, ...]


def plan(seed: int, leads: int, start: int, days: int) -> list[Company]:
    """The companies and their contacts; contacts take the last lead indices (so the
    ordinary leads keep theirs). At most ``GROUP_SHARE`` of ``leads``; none below 6."""
    rng = random.Random(f"leadflow-demo:{seed}:accounts")
    budget = int(leads * GROUP_SHARE) if leads >= 6 else 0
    names = [(a, b) for a in NAME_A for b in NAME_B]
    rng.shuffle(names)
    companies: list[Company] = []
    index = leads - budget
    roles = list(ROLE_WEIGHTS)
    weights = list(ROLE_WEIGHTS.values())
    while budget >= 3 and names:
        a, b = names.pop()
        size = min(rng.randint(3, 6), budget)
        budget -= size
        domain = f"{a}{b}".lower() + rng.choice((".com", ".io"))
        intent, _, personas = rng.choices(INTENTS, weights=[w for _, w, _ in INTENTS])[0]
        firmo = {"employees": str(rng.randint(200, 8000)), "country":
                 rng.choice(CORE_COUNTRIES), "industry": rng.choice(INDUSTRIES)}
        crm_id = f"ACC-{seed}-{len(companies) + 1:04d}" if rng.random() < 0.7 else None
        # a buying group spreads its first touches over a week or so
        t0 = start + int(rng.random() ** 1.3 * max(days - 8, 1) * DAY)
        members = ["champion", "economic_buyer"][: 1 + (intent != "cold")]
        members += rng.choices(roles, weights=weights, k=size - len(members))
        contacts = []
        for role in members:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            prof = dict(firmo, title=rng.choice(ROLE_TITLES[role]),
                        email=f"{first}.{last}@{domain}", company=f"{a} {b}",
                        first_name=first.title(), last_name=last.title())
            if crm_id is not None:
                prof["account_id"] = crm_id
            contacts.append(Contact(index, role, _PERSONA[personas[role]], prof,
                                    t0 + int(rng.uniform(0, 7) * DAY)))
            index += 1
        companies.append(Company(crm_id or domain, f"{a} {b}", domain, intent,
                                 tuple(contacts)))
    return companies
