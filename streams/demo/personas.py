"""Who the demo's leads are: personas with a profile generator each.

Good fit: VPs/Directors at 200-5000 employee companies in core territories, with BANT facts
they reveal on forms. Poor fit: students, competitors (the e-mail domains and companies the
default policy disqualifies), tiny companies. Pure: every draw comes from the given RNG.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CORE_COUNTRIES = ("US", "US", "US", "CA", "GB", "DE", "FR", "NL", "SE", "IE")
OTHER_COUNTRIES = ("BR", "IN", "JP", "AU", "MX", "SG", "ZA")
FIRST = ("ana", "ben", "carla", "dev", "elena", "farid", "grace", "hiro", "ines", "jamal",
         "kim", "luis", "maya", "nils", "olu", "priya", "quinn", "rosa", "sven", "tara",
         "uma", "victor", "wen", "xavier", "yara", "zoe")
LAST = ("adams", "berg", "chen", "diaz", "eriksen", "fischer", "garcia", "haddad", "ito",
        "jensen", "kumar", "lopez", "meyer", "nakamura", "okafor", "patel", "quist", "rossi",
        "schmidt", "tanaka", "usman", "vogel", "weber", "young", "zhang")
COMPANY_A = ("Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli",
             "Vandelay", "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Gringotts", "Oscorp")
COMPANY_B = ("Analytics", "Systems", "Retail", "Bank", "Logistics", "Software", "Health",
             "Foods", "Labs", "Capital", "Media", "Energy")
INDUSTRIES = ("software", "saas", "fintech", "financial services", "retail")
OTHER_INDUSTRIES = ("manufacturing", "education", "government", "nonprofit", "hospitality")
SENIOR_TITLES = ("VP Marketing", "VP Sales", "Director of Revenue Operations",
                 "Head of Growth", "Director of Demand Generation", "Chief Revenue Officer")
MANAGER_TITLES = ("Marketing Manager", "Sales Operations Manager", "CRM Manager")
JUNIOR_TITLES = ("Marketing Coordinator", "Analyst", "Sales Development Rep")
COMPETITORS = (("rivalcorp.com", "RivalCorp"), ("leadzilla.io", "Leadzilla"),
               ("pipedrift.com", "Pipedrift"))
TIMEFRAMES = ("this quarter", "next quarter", "6 months")


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    weight: float
    good_fit: bool
    # how far through the engagement funnel they tend to get (0..1, per step)
    engagement: float


PERSONAS: tuple[Persona, ...] = (
    Persona("champion", 24, True, 0.80),      # VP/Director at a target company, real need
    Persona("evaluator", 16, True, 0.55),     # manager at a mid-size company, researching
    Persona("browser", 18, False, 0.30),      # reads content, rarely goes further
    Persona("tiny", 9, False, 0.55),          # founder of a 3-person company
    Persona("student", 7, False, 0.50),
    Persona("competitor", 4, False, 0.60),
    Persona("badge", 14, False, 0.15),        # trade-show badge scan, mostly nothing else
    Persona("referral", 8, True, 0.50),       # a rep met them and confirmed the need
)
_WEIGHTS = tuple(p.weight for p in PERSONAS)


def pick_persona(rng: random.Random) -> Persona:
    return rng.choices(PERSONAS, weights=_WEIGHTS)[0]


def _company(rng: random.Random) -> tuple[str, str]:
    a, b = rng.choice(COMPANY_A), rng.choice(COMPANY_B)
    return f"{a} {b}", f"{a}{b}".lower() + rng.choice((".com", ".io", ".co"))


def profile(persona: Persona, rng: random.Random) -> dict[str, str]:
    """First-touch profile facts (what a form or badge scan captures)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company, domain = _company(rng)
    p: dict[str, str] = {}
    name = persona.name
    if name in ("champion", "referral"):
        p.update(title=rng.choice(SENIOR_TITLES), employees=str(rng.randint(200, 5000)),
                 country=rng.choice(CORE_COUNTRIES), industry=rng.choice(INDUSTRIES))
    elif name == "evaluator":
        p.update(title=rng.choice(MANAGER_TITLES + SENIOR_TITLES[:2]),
                 employees=str(rng.randint(50, 1500)),
                 country=rng.choice(CORE_COUNTRIES + OTHER_COUNTRIES[:2]),
                 industry=rng.choice(INDUSTRIES + OTHER_INDUSTRIES[:1]))
    elif name == "browser":
        p.update(title=rng.choice(JUNIOR_TITLES + MANAGER_TITLES),
                 employees=str(rng.randint(20, 3000)),
                 country=rng.choice(CORE_COUNTRIES + OTHER_COUNTRIES),
                 industry=rng.choice(INDUSTRIES + OTHER_INDUSTRIES))
    elif name == "tiny":
        p.update(title=rng.choice(("Founder", "Owner", "CEO")), employees=str(rng.randint(1, 9)),
                 country=rng.choice(CORE_COUNTRIES + OTHER_COUNTRIES),
                 industry=rng.choice(INDUSTRIES + OTHER_INDUSTRIES))
    elif name == "student":
        school = rng.choice(("stateu.edu", "techinst.edu", "uni-ox.ac.uk", "college.edu"))
        p.update(title=rng.choice(("Student", "MBA Student", "Marketing Intern")),
                 employees="1", country=rng.choice(CORE_COUNTRIES), industry="education")
        domain, company = school, school.split(".")[0].title()
    elif name == "competitor":
        domain, company = rng.choice(COMPETITORS)
        p.update(title=rng.choice(SENIOR_TITLES + MANAGER_TITLES),
                 employees=str(rng.randint(100, 800)), country=rng.choice(CORE_COUNTRIES),
                 industry="software")
    else:  # badge
        p.update(title=rng.choice(JUNIOR_TITLES + MANAGER_TITLES + SENIOR_TITLES[:2]),
                 employees=str(rng.randint(10, 5000)),
                 country=rng.choice(CORE_COUNTRIES + OTHER_COUNTRIES),
                 industry=rng.choice(INDUSTRIES + OTHER_INDUSTRIES))
    p["email"] = f"{first}.{last}@{domain}"
    p["company"] = company
    p["first_name"] = first.title()
    p["last_name"] = last.title()
    return p


def bant(persona: Persona, rng: random.Random) -> dict[str, str]:
    """The qualification facts a lead reveals on a demo/contact form."""
    if persona.name in ("champion", "referral"):
        out = {"need": "confirmed", "authority": "decision maker",
               "timeframe": rng.choice(TIMEFRAMES)}
        if rng.random() < 0.75:
            out["budget"] = rng.choice(("approved", "allocated", "yes"))
        return out
    if persona.name == "evaluator":
        out = {"need": rng.choice(("yes", "exploring")), "timeframe": rng.choice(
            (*TIMEFRAMES, "unknown"))}
        if rng.random() < 0.4:
            out["budget"] = "yes"
        if rng.random() < 0.3:
            out["authority"] = "yes"
        return out
    return {"need": rng.choice(("exploring", "no")), "timeframe": rng.choice(("unknown", "none"))}
