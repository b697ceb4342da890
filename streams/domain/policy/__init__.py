"""The policy file: load, validate (every problem, with path and file:line), compile.

`load_policy(path)` / `parse_policy(text, source_name)` return a frozen `Policy` or raise
`PolicyError` listing *every* problem found (the first `MAX_LISTED`, then a count of the
rest). Nothing else escapes: a garbage file gives a `PolicyError`, never a traceback.

Any file is answered in bounded time and memory: a file above `MAX_POLICY_BYTES` is refused
unread, and a document whose YAML aliases would expand to more than `MAX_NODES` nodes (an
alias bomb) is refused before anything walks it (its expanded size is counted with each
distinct node counted once, so counting is as cheap as the file).

`Policy.version` is the policy's identity (contract 4a): the declared `version` plus "+" and
the first 8 hex digits of the SHA-256 of the file's text (`2026.11-1+3f2a9c1d`), so two
different files never share a version; `Policy.declared_version` keeps the declared one.

Conditions use the small vocabulary documented in `streams/domain/conditions.py` (and in
the comments of policy/default.yaml); regexes and globs are compiled once here so the hot
path never parses anything.

Top-level sections: version, scoring, fit, criteria, stages, disqualify, referral, routing,
sla, and optionally models (models_section.py). See policy/default.yaml for a commented
example of each, and policy/product-lines.yaml for models.
"""

from streams.domain.policy.fields import MAX_DAYS
from streams.domain.policy.load import MAX_NODES, MAX_POLICY_BYTES, load_policy, parse_policy
from streams.domain.policy.model import (
    HASH_CHARS,
    HOUR_MS,
    Cap,
    Criterion,
    DisqualifyRule,
    Fit,
    FitRule,
    Policy,
    Queue,
    Referral,
    Routing,
    ScoreRule,
    Scoring,
    ScoringModel,
    Sla,
    Stages,
    content_hash,
)
from streams.domain.policy.problems import MAX_LISTED, PolicyError, Problem
from streams.domain.policy.validate import policy_from_dict

__all__ = [
    "HASH_CHARS",
    "HOUR_MS",
    "MAX_DAYS",
    "MAX_LISTED",
    "MAX_NODES",
    "MAX_POLICY_BYTES",
    "Cap",
    "Criterion",
    "DisqualifyRule",
    "Fit",
    "FitRule",
    "Policy",
    "PolicyError",
    "Problem",
    "Queue",
    "Referral",
    "Routing",
    "ScoreRule",
    "Scoring",
    "ScoringModel",
    "Sla",
    "Stages",
    "content_hash",
    "load_policy",
    "parse_policy",
    "policy_from_dict",
]
