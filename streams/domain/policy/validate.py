"""Validating a parsed policy document and compiling it: every problem, with its path.

Sections are checked by sections.py and handoff.py; this module assembles the `Policy`
and turns the problems found into a `PolicyError` whose lines carry file:line marks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from streams.domain.conditions import Problems, Test
from streams.domain.policy.accounts_section import accounts_section
from streams.domain.policy.fields import _mapping, _unknown
from streams.domain.policy.handoff import _referral, _routing, _sla
from streams.domain.policy.model import Criterion, Policy, content_hash
from streams.domain.policy.models_section import check_queue_models, models_section, mql_models
from streams.domain.policy.problems import MAX_LISTED, PolicyError, Problem
from streams.domain.policy.sections import _criteria, _disqualify, _fit, _scoring, _stages

_PATH_RX = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _parse_path(path: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for m in _PATH_RX.finditer(path):
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    return tuple(parts)


def policy_from_dict(data: object, source_name: str = "<policy>",
                     marks: dict[tuple[Any, ...], int] | None = None,
                     extra: list[Problem] | None = None, *, digest: str | None = None
                     ) -> Policy:
    """Validate an already-parsed document. Raises PolicyError with every problem.

    `digest` is the content hash appended to the declared version (`parse_policy` passes
    the hash of the file's text); without it, the hash of the document's canonical JSON."""
    problems = Problems(limit=MAX_LISTED)
    if digest is None:
        digest = content_hash(json.dumps(data, sort_keys=True, default=repr))
    try:
        policy = _build(data, problems, source_name, digest)
    except PolicyError:
        raise
    except Exception as exc:  # belt and braces: never anything but PolicyError
        problems.add("", f"internal validator error: {type(exc).__name__}: {exc}")
        policy = None
    found = list(extra or [])
    total = len(found) + problems.count
    for path, msg in problems.items[:max(0, MAX_LISTED - len(found))]:
        loc = None
        if marks:
            parts = _parse_path(path)
            while parts and parts not in marks:
                parts = parts[:-1]
            if parts in marks:
                loc = f"{source_name}:{marks[parts]}"
        found.append(Problem(path, loc, msg))
    if found or policy is None:
        if not found:
            found.append(Problem("", source_name, "invalid policy"))
        raise PolicyError(found, source_name, total)
    return policy


_TOP = {"version", "scoring", "fit", "criteria", "stages", "disqualify", "referral", "routing",
        "sla", "accounts", "models"}


def _build(data: object, problems: Problems, source: str, digest: str) -> Policy | None:
    doc = _mapping(data, "", problems)
    if doc is None:
        if not problems.items:
            problems.add("", "the policy must be a mapping of sections")
        return None
    _unknown(doc, _TOP, "", problems)
    version = doc.get("version")
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not version.strip():
        problems.add("version", "must be a non-empty text, e.g. \"2026.11-1\"")
    scoring = _scoring(doc.get("scoring"), problems)
    fit = _fit(doc.get("fit"), problems)
    criteria = _criteria(doc.get("criteria"), problems)
    stages = _stages(doc.get("stages"), problems)
    disqualify = _disqualify(doc.get("disqualify"), problems)
    routing = _routing(doc.get("routing"), problems)
    crit_names = tuple(c.name for c in criteria) if criteria is not None else None
    referral = _referral(doc.get("referral"), problems, crit_names, routing)
    sla = _sla(doc.get("sla"), problems, routing)
    accounts = accounts_section(doc.get("accounts"), problems,
                                None if routing is None else frozenset(routing.by_name))
    models = models_section(doc.get("models"), problems, stages)
    mql = mql_models(doc.get("stages"), models, problems) if models is not None else None
    check_queue_models(routing, doc.get("routing"), models, problems)
    if (stages is not None and crit_names is not None
            and stages.mql_min_criteria > len(crit_names)):
        problems.add("stages.mql.min_criteria",
                     f"needs {stages.mql_min_criteria} criteria but only "
                     f"{len(crit_names)} are defined")
    if problems.items:
        return None
    assert scoring and fit and criteria is not None and stages and disqualify is not None
    assert referral and routing and sla and isinstance(version, str)
    assert models is not None and mql is not None
    return Policy(
        version=f"{version}+{digest}",
        declared_version=version,
        scoring=scoring,
        fit=fit,
        criteria=criteria,
        stages=stages,
        disqualify=disqualify,
        referral=referral,
        routing=routing,
        sla=sla,
        source=source,
        disqualify_uses_events=any(r.when.uses_events for r in disqualify),
        criteria_names=tuple(c.name for c in criteria),
        profile_criteria=tuple(c for c in criteria if not c.when.uses_events),
        event_criteria=tuple(c for c in criteria if c.when.uses_events),
        watched_attrs=frozenset().union(
            *(r.when.attrs for r in fit.rules), *(r.when.attrs for r in disqualify),
            *(c.when.attrs for c in criteria)),
        criteria_plan=_criteria_plan(criteria),
        accounts=accounts,
        models=models,
        mql_models=mql[0],
        mql_default=mql[1],
    )


def _criteria_plan(criteria: tuple[Criterion, ...]) -> tuple[tuple[str, int, Test | None], ...]:
    plan: list[tuple[str, int, Test | None]] = []
    bit = 0  # profile-only criteria are numbered in policy order, as in `profile_criteria`
    for c in criteria:
        if c.when.uses_events:
            plan.append((c.name, 0, c.when.test))
        else:
            plan.append((c.name, bit, None))
            bit += 1
    return tuple(plan)
