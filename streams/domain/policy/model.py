"""The compiled policy: frozen dataclasses the hot path reads, and the policy's identity.

Everything here is built once by the validator (regexes and globs already compiled), so
scoring, fit, criteria, routing and SLA code only ever read attributes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streams.domain.conditions import Condition, Test

if TYPE_CHECKING:
    from streams.domain.policy.accounts_section import AccountsPolicy

HOUR_MS = 3_600_000
HASH_CHARS = 8


@dataclass(slots=True, frozen=True)
class ScoreRule:
    name: str
    points: float
    event_types: frozenset[str] | None  # None = any type
    asset: re.Pattern[str] | None
    campaign: re.Pattern[str] | None

    def matches(self, asset_id: str | None, campaign_id: str | None) -> bool:
        if self.asset is not None and (asset_id is None or not self.asset.search(asset_id)):
            return False
        return self.campaign is None or (
            campaign_id is not None and self.campaign.search(campaign_id) is not None
        )


@dataclass(slots=True, frozen=True)
class Cap:
    max_count: int
    window_ms: int


@dataclass(slots=True, frozen=True)
class Scoring:
    points: Mapping[str, float]  # event type -> points (missing = 0)
    rules: tuple[ScoreRule, ...]
    rules_by_type: Mapping[str, tuple[ScoreRule, ...]]
    caps: Mapping[str, Cap]
    floor: float
    half_life_days: float
    half_life_ms: float


@dataclass(slots=True, frozen=True)
class ScoringModel:
    """A named scoring model (contract 4b, `models:`): its own points, rules, caps and
    half-life, scoring only the events its `applies_to` filters take (any filter; each is
    a points-less ScoreRule: event types, asset and campaign patterns, all must hold)."""

    name: str
    scoring: Scoring
    applies_to: tuple[ScoreRule, ...]
    mql_score: float  # its MQL threshold (default: stages.mql.score)

    def applies(self, event_type: str, asset_id: str | None, campaign_id: str | None) -> bool:
        for f in self.applies_to:
            if (f.event_types is None or event_type in f.event_types) and f.matches(
                    asset_id, campaign_id):
                return True
        return False


@dataclass(slots=True, frozen=True)
class FitRule:
    name: str
    when: Condition
    points: float
    reason: str = field(init=False, compare=False, repr=False)  # "fit:<name>", built once

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", f"fit:{self.name}")


@dataclass(slots=True, frozen=True)
class Fit:
    rules: tuple[FitRule, ...]
    thresholds: tuple[tuple[str, float], ...]  # (grade, min points) A, B, C; else D
    uses_events: bool


@dataclass(slots=True, frozen=True)
class Criterion:
    name: str
    when: Condition


@dataclass(slots=True, frozen=True)
class Stages:
    engaged_score: float
    mql_score: float
    mql_min_grade: str
    mql_min_criteria: int
    nurture_reset_score: bool


@dataclass(slots=True, frozen=True)
class DisqualifyRule:
    name: str
    when: Condition


@dataclass(slots=True, frozen=True)
class Referral:
    require_criteria: tuple[str, ...]
    when: Condition | None
    queue: str


@dataclass(slots=True, frozen=True)
class Queue:
    name: str
    when: Condition | None  # None: only used when named (default/escalation/referral)
    reps: tuple[str, ...]
    # `model:` the scoring models whose hand-offs it takes (None: any; "" = the default
    # score); with a model and no `when` it takes every lead that model qualifies
    models: frozenset[str] | None = None


@dataclass(slots=True, frozen=True)
class Routing:
    queues: tuple[Queue, ...]
    by_name: Mapping[str, Queue]
    default_queue: str


@dataclass(slots=True, frozen=True)
class Sla:
    default_hours: float
    hours: Mapping[str, float]  # queue -> follow-up hours
    escalation_queue: str
    report_window_ms: int
    min_handoffs: int | None
    max_handoffs: int | None
    min_acceptance_rate: float | None
    max_breach_rate: float | None
    score_bands: tuple[float, ...]  # ascending band edges, e.g. (50, 100)

    def due_ms(self, queue: str) -> int:
        return int(self.hours.get(queue, self.default_hours) * HOUR_MS)


@dataclass(slots=True, frozen=True)
class Policy:
    version: str  # identity: declared version + "+" + content hash (contract 4a)
    scoring: Scoring
    fit: Fit
    criteria: tuple[Criterion, ...]
    stages: Stages
    disqualify: tuple[DisqualifyRule, ...]
    referral: Referral
    routing: Routing
    sla: Sla
    source: str = ""
    disqualify_uses_events: bool = False
    criteria_names: tuple[str, ...] = field(default=())
    # criteria split: profile-only ones are counted once per profile change (state.pcrit)
    profile_criteria: tuple[Criterion, ...] = field(default=())
    event_criteria: tuple[Criterion, ...] = field(default=())
    # profile attributes read by fit, disqualify and criteria: a change re-evaluates them
    watched_attrs: frozenset[str] = field(default=frozenset())
    # every criterion in policy order: (name, its bit in state.pcrit, None) when profile-only,
    # (name, 0, test) when it reads history: `criteria.met` walks this once
    criteria_plan: tuple[tuple[str, int, Test | None], ...] = field(default=())
    # the `version` the file declares (`version` above adds the content hash)
    declared_version: str = ""
    # the optional `accounts` section (contract 4b); None: no account processing at all
    accounts: AccountsPolicy | None = None
    # scoring models (`models:`, contract 4b): scored on every event they apply to
    models: tuple[ScoringModel, ...] = field(default=())
    # the models whose score can make a lead MQL (`stages.mql.model` / `any_model`); empty:
    # only the default score does (today's rule, the engine's hot path)
    mql_models: tuple[ScoringModel, ...] = field(default=())
    mql_default: bool = True  # with mql_models: the default score qualifies too



def content_hash(text: str) -> str:
    """The short hash of a policy's text that makes its version unique."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
