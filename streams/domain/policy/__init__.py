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
sla. See policy/default.yaml for a commented example of each.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streams.domain.conditions import DAY_MS, Condition, Problems, Test, compile_condition
from streams.domain.models import EVENT_TYPE_INDEX, GRADES, LEAD_EVENT_TYPES

HOUR_MS = 3_600_000
MAX_DAYS = 36_500.0  # a century: bounds every duration so nothing overflows
# The shipped policy is ~8 KB; 256 KB parses in well under a second even with the pure-Python
# YAML reader on a busy machine, and nothing larger is a policy anyone wrote by hand.
MAX_POLICY_BYTES = 256 * 1024
# YAML nodes after alias expansion: the shipped policy has ~600; validators walk the
# expanded document, so this bounds their work too.
MAX_NODES = 100_000
MAX_LISTED = 50  # problems listed one per line; the rest are counted
HASH_CHARS = 8

# libyaml when present: the same nodes and marks, several times faster.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(slots=True, frozen=True)
class Problem:
    path: str
    location: str | None  # "file:line" when known
    message: str

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.path or '<root>'}{where}: {self.message}"


class PolicyError(Exception):
    """The policy is refused. `problems` lists the first `MAX_LISTED` problems found, `total`
    counts them all; `lines()` is what every command prints."""

    def __init__(self, problems: list[Problem], source: str = "", total: int | None = None
                 ) -> None:
        self.total = max(len(problems), total or 0)
        self.problems = problems[:MAX_LISTED]
        self.source = source
        super().__init__("\n".join(self.lines()))

    @property
    def more(self) -> int:
        """Problems found but not listed."""
        return self.total - len(self.problems)

    def lines(self) -> list[str]:
        """A head line, one line per listed problem (path, file:line, message), and
        "and N more problem(s)" when the list is capped."""
        head = f"{self.source or '<policy>'}: invalid policy, {self.total} problem(s)"
        out = [head, *(f"  {p}" for p in self.problems)]
        if self.more:
            out.append(f"  and {self.more:,} more problem(s)")
        return out


# ---------------------------------------------------------------- compiled policy


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


# ---------------------------------------------------------------- loading


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_POLICY_BYTES + 1)  # never more: a 10 GB file costs nothing
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError([Problem("", str(p), f"the file is larger than "
                                       f"{MAX_POLICY_BYTES // 1024} KB; a policy is a few KB")],
                              str(p))
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem("", str(p), f"cannot read policy file: {exc}")],
                          str(p)) from None
    return parse_policy(text, str(p))


def content_hash(text: str) -> str:
    """The short hash of a policy's text that makes its version unique."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]


def parse_policy(text: str, source_name: str = "<policy>") -> Policy:
    """Parse YAML text into a validated Policy, or raise PolicyError (and nothing else)."""
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError([Problem("", source_name, f"the policy is larger than "
                                   f"{MAX_POLICY_BYTES // 1024} KB; a policy is a few KB")],
                          source_name)
    marks: dict[tuple[Any, ...], int] = {}
    dup: list[Problem] = []
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise PolicyError([Problem("", f"{source_name}:1", "the policy file is empty")],
                                  source_name)
            size = _expanded_size(node, MAX_NODES)
            if size > MAX_NODES:
                raise PolicyError([Problem("", source_name, f"YAML aliases expand the policy "
                                           f"beyond {MAX_NODES:,} nodes (an alias bomb?)")],
                                  source_name)
            _collect_marks(node, (), marks, dup, source_name)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except PolicyError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{source_name}:{mark.line + 1}" if mark is not None else source_name
        raise PolicyError([Problem("", loc, f"not valid YAML: {exc}")], source_name) from None
    except RecursionError:
        raise PolicyError([Problem("", source_name, "YAML nested too deeply")],
                          source_name) from None
    try:
        return policy_from_dict(data, source_name, marks, dup, digest=content_hash(text))
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError([Problem("", source_name, "policy nested too deeply")],
                          source_name) from None


_CYCLE = MAX_NODES * 1_000  # the size of a node that contains itself: always too big


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes in the document once every alias is expanded, counting each distinct node once
    (memoised by identity): an alias bomb of 9 levels x 9 aliases costs ~90 steps, not 9^9.
    A recursive alias counts as infinitely large. Iterative: no recursion limit to hit."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = _children(node)
        if done:
            total = 1 + sum(sizes.get(id(k), _CYCLE) for k in kids)
            sizes[key] = min(total, _CYCLE)
            continue
        if key in sizes:
            continue
        sizes[key] = _CYCLE  # "in progress": a child that reaches it again is a cycle
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _collect_marks(node: yaml.Node, path: tuple[Any, ...], marks: dict[tuple[Any, ...], int],
                   dup: list[Problem], source: str) -> None:
    marks.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for knode, vnode in node.value:
            key = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if key is None:
                continue
            if key in seen:
                dup.append(Problem(_fmt_path((*path, key)),
                                   f"{source}:{knode.start_mark.line + 1}",
                                   "duplicate key (the later one would silently win)"))
            seen.add(key)
            _collect_marks(vnode, (*path, key), marks, dup, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_marks(item, (*path, i), marks, dup, source)


def _fmt_path(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


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


# ---------------------------------------------------------------- validation helpers


def _mapping(v: object, path: str, problems: Problems, required: bool = True
             ) -> dict[str, Any] | None:
    if v is None and not required:
        return {}
    if not isinstance(v, dict):
        problems.add(path, "missing" if v is None else f"must be a mapping, got "
                     f"{type(v).__name__}")
        return None
    bad = [k for k in v if not isinstance(k, str)]
    for k in bad:
        problems.add(f"{path}.{k}", "keys must be text")
    return v if not bad else None


def _unknown(d: dict[str, Any], allowed: set[str], path: str, problems: Problems) -> None:
    for k in d:
        if k not in allowed:
            problems.add(_join(path, k), f"unknown key; expected one of {sorted(allowed)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _number(v: object, path: str, problems: Problems, *, minimum: float | None = None,
            positive: bool = False, integer: bool = False,
            maximum: float | None = None) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        problems.add(path, "missing" if v is None else f"must be a finite number, got {v!r}")
        return None
    if integer and not isinstance(v, int):
        problems.add(path, "must be a whole number")
        return None
    if positive and v <= 0:
        problems.add(path, "must be > 0")
        return None
    if minimum is not None and v < minimum:
        problems.add(path, f"must be >= {minimum:g}")
        return None
    if maximum is not None and v > maximum:
        problems.add(path, f"must be <= {maximum:g}")
        return None
    return float(v)


def _name(v: object, path: str, problems: Problems) -> str | None:
    if not isinstance(v, str) or not v.strip():
        problems.add(path, "must be a non-empty name")
        return None
    return v


def _names(v: object, path: str, problems: Problems, *, allow_empty: bool = True
           ) -> tuple[str, ...] | None:
    if not isinstance(v, list):
        problems.add(path, "must be a list")
        return None
    out = [_name(x, f"{path}[{i}]", problems) for i, x in enumerate(v)]
    if any(x is None for x in out):
        return None
    if not allow_empty and not out:
        problems.add(path, "must not be empty")
        return None
    return tuple(x for x in out if x is not None)


# ---------------------------------------------------------------- sections

_TOP = {"version", "scoring", "fit", "criteria", "stages", "disqualify", "referral", "routing",
        "sla"}


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
    if (stages is not None and crit_names is not None
            and stages.mql_min_criteria > len(crit_names)):
        problems.add("stages.mql.min_criteria",
                     f"needs {stages.mql_min_criteria} criteria but only "
                     f"{len(crit_names)} are defined")
    if problems.items:
        return None
    assert scoring and fit and criteria is not None and stages and disqualify is not None
    assert referral and routing and sla and isinstance(version, str)
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


def _event_type(v: object, path: str, problems: Problems) -> str | None:
    if not isinstance(v, str) or v not in EVENT_TYPE_INDEX:
        problems.add(path, f"unknown event type {v!r}")
        return None
    return v


def _glob_or_regex(d: dict[str, Any], key: str, path: str, problems: Problems
                   ) -> tuple[bool, re.Pattern[str] | None]:
    glob, rx = d.get(key), d.get(f"{key}_regex")
    if glob is not None and rx is not None:
        problems.add(_join(path, key), f"use either '{key}' (glob) or '{key}_regex', not both")
        return False, None
    try:
        if glob is not None:
            if not isinstance(glob, str) or not glob:
                problems.add(_join(path, key), "must be a glob pattern such as 'pricing-*'")
                return False, None
            return True, re.compile(fnmatch.translate(glob), re.IGNORECASE)
        if rx is not None:
            if not isinstance(rx, str) or not rx:
                problems.add(_join(path, f"{key}_regex"), "must be a regular expression")
                return False, None
            return True, re.compile(rx, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        problems.add(_join(path, key if glob is not None else f"{key}_regex"),
                     f"invalid pattern: {exc}")
        return False, None
    return True, None


def _scoring(v: object, problems: Problems) -> Scoring | None:
    d = _mapping(v, "scoring", problems)
    if d is None:
        return None
    _unknown(d, {"half_life_days", "floor", "points", "rules", "caps"}, "scoring", problems)
    ok = True
    half = _number(d.get("half_life_days"), "scoring.half_life_days", problems, positive=True,
                   maximum=MAX_DAYS)
    floor = _number(d.get("floor", 0), "scoring.floor", problems)
    points: dict[str, float] = {}
    pd = _mapping(d.get("points"), "scoring.points", problems)
    if pd is None:
        ok = False
    else:
        for k, pv in pd.items():
            p = f"scoring.points.{k}"
            et = _event_type(k, p, problems)
            n = _number(pv, p, problems)
            if et is None or n is None:
                ok = False
            else:
                points[et] = n
    rules: list[ScoreRule] = []
    rl = d.get("rules", [])
    if not isinstance(rl, list):
        problems.add("scoring.rules", "must be a list")
        ok = False
        rl = []
    names: set[str] = set()
    for i, r in enumerate(rl):
        p = f"scoring.rules[{i}]"
        rd = _mapping(r, p, problems)
        if rd is None:
            ok = False
            continue
        _unknown(rd, {"name", "points", "events", "asset", "asset_regex", "campaign",
                      "campaign_regex"}, p, problems)
        name = _name(rd.get("name"), f"{p}.name", problems)
        if name is not None and (name in names or name in EVENT_TYPE_INDEX):
            problems.add(f"{p}.name", f"duplicate rule name {name!r}")
            name = None
        if name is not None:
            names.add(name)
        pts = _number(rd.get("points"), f"{p}.points", problems)
        types: frozenset[str] | None = None
        if "events" in rd:
            tl = rd["events"]
            if not isinstance(tl, list) or not tl:
                problems.add(f"{p}.events", "must be a non-empty list of event types")
                ok = False
            else:
                ts = [_event_type(t, f"{p}.events[{j}]", problems) for j, t in enumerate(tl)]
                if any(t is None for t in ts):
                    ok = False
                else:
                    types = frozenset(t for t in ts if t is not None)
        aok, asset = _glob_or_regex(rd, "asset", p, problems)
        cok, camp = _glob_or_regex(rd, "campaign", p, problems)
        if aok and cok and asset is None and camp is None:
            problems.add(p, "a scoring rule needs an asset/asset_regex or "
                            "campaign/campaign_regex pattern")
            ok = False
        if name is None or pts is None or not aok or not cok:
            ok = False
            continue
        rules.append(ScoreRule(name, pts, types, asset, camp))
    caps: dict[str, Cap] = {}
    cd = _mapping(d.get("caps"), "scoring.caps", problems, required=False)
    if cd is None:
        ok = False
    else:
        for k, cv in cd.items():
            p = f"scoring.caps.{k}"
            et = _event_type(k, p, problems)
            cm = _mapping(cv, p, problems)
            if et is None or cm is None:
                ok = False
                continue
            _unknown(cm, {"max", "per_days"}, p, problems)
            mx = _number(cm.get("max"), f"{p}.max", problems, minimum=0, integer=True)
            per = _number(cm.get("per_days"), f"{p}.per_days", problems, positive=True,
                          maximum=MAX_DAYS)
            if mx is None or per is None:
                ok = False
                continue
            caps[et] = Cap(int(mx), max(1, int(per * DAY_MS)))
    if not ok or half is None or floor is None:
        return None
    by_type = {
        t: tuple(r for r in rules if r.event_types is None or t in r.event_types)
        for t in LEAD_EVENT_TYPES
    }
    return Scoring(points, tuple(rules), by_type, caps, floor, half, half * DAY_MS)


def _named_conditions(v: object, path: str, problems: Problems, *, with_points: bool
                      ) -> list[tuple[str, Condition, float]] | None:
    if not isinstance(v, list):
        problems.add(path, "missing" if v is None else "must be a list of rules")
        return None
    out: list[tuple[str, Condition, float]] = []
    ok = True
    names: set[str] = set()
    for i, r in enumerate(v):
        p = f"{path}[{i}]"
        rd = _mapping(r, p, problems)
        if rd is None:
            ok = False
            continue
        _unknown(rd, {"name", "when", "points"} if with_points else {"name", "when"}, p,
                 problems)
        name = _name(rd.get("name"), f"{p}.name", problems)
        if name is not None and name in names:
            problems.add(f"{p}.name", f"duplicate name {name!r}")
            name = None
        if name is not None:
            names.add(name)
        cond = compile_condition(rd.get("when"), f"{p}.when", problems)
        pts = _number(rd.get("points"), f"{p}.points", problems) if with_points else 0.0
        if name is None or cond is None or pts is None:
            ok = False
            continue
        out.append((name, cond, pts))
    return out if ok else None


def _fit(v: object, problems: Problems) -> Fit | None:
    d = _mapping(v, "fit", problems)
    if d is None:
        return None
    _unknown(d, {"rules", "grades"}, "fit", problems)
    rules = _named_conditions(d.get("rules"), "fit.rules", problems, with_points=True)
    gd = _mapping(d.get("grades"), "fit.grades", problems)
    thresholds: list[tuple[str, float]] = []
    if gd is not None:
        for k in gd:
            if k not in ("A", "B", "C"):
                problems.add(f"fit.grades.{k}", "grades are A, B and C (below C is D)")
        prev: float | None = None
        for g in ("A", "B", "C"):
            n = _number(gd.get(g), f"fit.grades.{g}", problems)
            if n is None:
                continue
            if prev is not None and n > prev:
                problems.add(f"fit.grades.{g}", "thresholds must not increase from A to C")
            prev = n
            thresholds.append((g, n))
    if rules is None or gd is None or len(thresholds) != 3:
        return None
    return Fit(tuple(FitRule(n, c, p) for n, c, p in rules), tuple(thresholds),
               any(c.uses_events for _, c, _ in rules))


def _criteria(v: object, problems: Problems) -> tuple[Criterion, ...] | None:
    d = _mapping(v, "criteria", problems)
    if d is None:
        return None
    out: list[Criterion] = []
    ok = True
    for k, cv in d.items():
        cond = compile_condition(cv, f"criteria.{k}", problems)
        if cond is None:
            ok = False
        else:
            out.append(Criterion(k, cond))
    return tuple(out) if ok else None


def _stages(v: object, problems: Problems) -> Stages | None:
    d = _mapping(v, "stages", problems)
    if d is None:
        return None
    _unknown(d, {"engaged", "mql", "nurture"}, "stages", problems)
    ed = _mapping(d.get("engaged"), "stages.engaged", problems)
    md = _mapping(d.get("mql"), "stages.mql", problems)
    nd = _mapping(d.get("nurture"), "stages.nurture", problems, required=False)
    engaged = mql = grade = crit = None
    reset = True
    if ed is not None:
        _unknown(ed, {"score"}, "stages.engaged", problems)
        engaged = _number(ed.get("score"), "stages.engaged.score", problems)
    if md is not None:
        _unknown(md, {"score", "min_grade", "min_criteria"}, "stages.mql", problems)
        mql = _number(md.get("score"), "stages.mql.score", problems)
        g = md.get("min_grade")
        if g not in GRADES:
            problems.add("stages.mql.min_grade", "must be one of A, B, C, D")
        else:
            grade = g
        crit = _number(md.get("min_criteria", 0), "stages.mql.min_criteria", problems,
                       minimum=0, integer=True)
    if nd is not None:
        _unknown(nd, {"reset_score"}, "stages.nurture", problems)
        r = nd.get("reset_score", True)
        if not isinstance(r, bool):
            problems.add("stages.nurture.reset_score", "must be true or false")
        else:
            reset = r
    if engaged is not None and mql is not None and engaged > mql:
        problems.add("stages.engaged.score", "must not be above stages.mql.score")
    if engaged is None or mql is None or grade is None or crit is None:
        return None
    return Stages(engaged, mql, grade, int(crit), reset)


def _disqualify(v: object, problems: Problems) -> tuple[DisqualifyRule, ...] | None:
    if v is None:
        return ()
    rules = _named_conditions(v, "disqualify", problems, with_points=False)
    if rules is None:
        return None
    return tuple(DisqualifyRule(n, c) for n, c, _ in rules)


def _referral(v: object, problems: Problems, crit: tuple[str, ...] | None,
              routing: Routing | None) -> Referral | None:
    d = _mapping(v, "referral", problems)
    if d is None:
        return None
    _unknown(d, {"require_criteria", "when", "queue"}, "referral", problems)
    req = _names(d.get("require_criteria", []), "referral.require_criteria", problems)
    if req is not None and crit is not None:
        for i, c in enumerate(req):
            if c not in crit:
                problems.add(f"referral.require_criteria[{i}]", f"unknown criterion {c!r}")
    cond = None
    if d.get("when") is not None:
        cond = compile_condition(d["when"], "referral.when", problems)
    queue = _name(d.get("queue"), "referral.queue", problems)
    if queue is not None and routing is not None and queue not in routing.by_name:
        problems.add("referral.queue", f"unknown queue {queue!r} (declare it under routing)")
    if req is None or queue is None or (d.get("when") is not None and cond is None):
        return None
    return Referral(req, cond, queue)


def _routing(v: object, problems: Problems) -> Routing | None:
    d = _mapping(v, "routing", problems)
    if d is None:
        return None
    _unknown(d, {"queues", "default_queue"}, "routing", problems)
    ql = d.get("queues")
    if not isinstance(ql, list) or not ql:
        problems.add("routing.queues", "must be a non-empty list of queues")
        return None
    queues: list[Queue] = []
    ok = True
    for i, q in enumerate(ql):
        p = f"routing.queues[{i}]"
        qd = _mapping(q, p, problems)
        if qd is None:
            ok = False
            continue
        _unknown(qd, {"name", "when", "reps"}, p, problems)
        name = _name(qd.get("name"), f"{p}.name", problems)
        if name is not None and any(x.name == name for x in queues):
            problems.add(f"{p}.name", f"duplicate queue {name!r}")
            name = None
        cond = None
        if qd.get("when") is not None:
            cond = compile_condition(qd["when"], f"{p}.when", problems)
        reps = _names(qd.get("reps", []), f"{p}.reps", problems)
        if reps is not None and len(set(reps)) != len(reps):
            problems.add(f"{p}.reps", "duplicate rep")
            reps = None
        if name is None or reps is None or (qd.get("when") is not None and cond is None):
            ok = False
            continue
        queues.append(Queue(name, cond, reps))
    default = _name(d.get("default_queue"), "routing.default_queue", problems)
    by_name = {q.name: q for q in queues}
    if ok and default is not None and default not in by_name:
        problems.add("routing.default_queue", f"unknown queue {default!r}")
        return None
    if not ok or default is None:
        return None
    return Routing(tuple(queues), by_name, default)


def _sla(v: object, problems: Problems, routing: Routing | None) -> Sla | None:
    d = _mapping(v, "sla", problems)
    if d is None:
        return None
    _unknown(d, {"follow_up_hours", "escalation_queue", "report_window_hours", "targets",
                 "score_bands"}, "sla", problems)
    hours: dict[str, float] = {}
    default: float | None = None
    hd = _mapping(d.get("follow_up_hours"), "sla.follow_up_hours", problems)
    if hd is not None:
        for k, hv in hd.items():
            n = _number(hv, f"sla.follow_up_hours.{k}", problems, positive=True,
                        maximum=MAX_DAYS * 24)
            if n is None:
                continue
            if k == "default":
                default = n
            else:
                if routing is not None and k not in routing.by_name:
                    problems.add(f"sla.follow_up_hours.{k}", f"unknown queue {k!r}")
                hours[k] = n
        if default is None and "default" not in hd:
            problems.add("sla.follow_up_hours.default", "missing")
    esc = _name(d.get("escalation_queue"), "sla.escalation_queue", problems)
    if esc is not None and routing is not None and esc not in routing.by_name:
        problems.add("sla.escalation_queue", f"unknown queue {esc!r} (declare it under routing)")
    win = _number(d.get("report_window_hours", 24), "sla.report_window_hours", problems,
                  positive=True, maximum=MAX_DAYS * 24)
    td = _mapping(d.get("targets"), "sla.targets", problems, required=False)
    min_h = max_h = None
    min_acc = max_br = None
    if td is not None:
        _unknown(td, {"min_handoffs", "max_handoffs", "min_acceptance_rate",
                      "max_breach_rate"}, "sla.targets", problems)
        if "min_handoffs" in td:
            n = _number(td["min_handoffs"], "sla.targets.min_handoffs", problems, minimum=0,
                        integer=True)
            min_h = None if n is None else int(n)
        if "max_handoffs" in td:
            n = _number(td["max_handoffs"], "sla.targets.max_handoffs", problems, minimum=0,
                        integer=True)
            max_h = None if n is None else int(n)
        if min_h is not None and max_h is not None and min_h > max_h:
            problems.add("sla.targets.max_handoffs", "must be >= min_handoffs")
        for key in ("min_acceptance_rate", "max_breach_rate"):
            if key in td:
                n = _number(td[key], f"sla.targets.{key}", problems, minimum=0)
                if n is not None and n > 1:
                    problems.add(f"sla.targets.{key}", "a rate is between 0 and 1")
                    n = None
                if key == "min_acceptance_rate":
                    min_acc = n
                else:
                    max_br = n
    bands: tuple[float, ...] = (50.0, 100.0)
    if "score_bands" in d:
        bl = d["score_bands"]
        if not isinstance(bl, list) or not bl:
            problems.add("sla.score_bands", "must be a non-empty list of ascending numbers")
        else:
            nums = [_number(x, f"sla.score_bands[{i}]", problems) for i, x in enumerate(bl)]
            if all(n is not None for n in nums):
                b = tuple(n for n in nums if n is not None)
                if list(b) != sorted(set(b)):
                    problems.add("sla.score_bands", "must be strictly ascending")
                else:
                    bands = b
    if default is None or esc is None or win is None or hd is None or td is None:
        return None
    return Sla(default, hours, esc, int(win * HOUR_MS), min_h, max_h, min_acc, max_br, bands)
