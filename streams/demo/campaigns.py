"""The demo's marketing calendar: campaigns, their channel and assets, and who they attract.

Campaign quality differs on purpose (the summary's "top campaigns by conversion" should say
something): the analyst report and the pricing guide draw buyers, the paid-social e-book draws
browsers and students.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    channel: str  # source of its events
    first_event: str  # the event type of a first touch through this campaign
    asset_id: str | None
    weight: float
    # persona name -> affinity multiplier (who this campaign tends to attract)
    affinity: tuple[tuple[str, float], ...] = ()

    def attracts(self, persona: str) -> float:
        for name, w in self.affinity:
            if name == persona:
                return w
        return 1.0


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("cmp-analyst-report", "web", "CONTENT_DOWNLOAD", "gartner-mq-2026", 10,
             (("champion", 2.0), ("evaluator", 1.5), ("student", 0.3), ("tiny", 0.5))),
    Campaign("cmp-pricing-guide", "web", "CONTENT_DOWNLOAD", "pricing-roi-guide", 8,
             (("champion", 1.8), ("tiny", 1.5), ("browser", 0.5))),
    Campaign("cmp-webinar-revops", "webinar", "WEBINAR_REGISTERED", "webinar-revops-101", 12,
             (("evaluator", 1.6), ("student", 1.5))),
    Campaign("cmp-ebook-ai-pipeline", "paid-social", "CONTENT_DOWNLOAD", "ebook-ai-pipeline",
             16, (("browser", 2.0), ("student", 2.5), ("champion", 0.6))),
    Campaign("cmp-newsletter", "email", "NEWSLETTER_SIGNUP", None, 10,
             (("browser", 1.8), ("competitor", 2.5))),
    Campaign("cmp-search-demo", "paid-search", "DEMO_REQUESTED", "landing-demo", 6,
             (("champion", 1.5), ("tiny", 2.0), ("competitor", 1.5), ("browser", 0.2))),
)
TRADE_SHOW = Campaign("cmp-tradeshow-saastr", "badge-scanner", "TRADE_SHOW_SCAN", None, 0)
REFERRAL = Campaign("cmp-rep-referral", "referral-form", "REP_REFERRAL", None, 0)
NURTURE_EMAIL = "cmp-nurture-email"
NURTURE_ASSETS = ("case-study-globex", "forrester-wave-2026", "pricing-calculator",
                  "whitepaper-scoring")
# reps who scan badges at the show and refer leads they met
FIELD_REPS = ("rep-ana", "rep-dan", "rep-jon", "rep-kai", "rep-eve")


def pick_campaign(persona: str, rng: random.Random) -> Campaign:
    weights = [c.weight * c.attracts(persona) for c in CAMPAIGNS]
    return rng.choices(CAMPAIGNS, weights=weights)[0]
