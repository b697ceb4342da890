"""The condition vocabulary of the policy file, compiled once into plain closures.

A condition is a small YAML mapping, never code (nothing is ever `eval`-ed):

Profile attributes (values are strings; comparisons of text ignore case):
  {attribute: country, equals: "US"}          exact text
  {attribute: country, in: [US, CA]}          one of
  {attribute: country, not_in: [US, CA]}      none of (a missing attribute counts as not in)
  {attribute: email, matches: "regex"}        regex search (Python syntax, case-insensitive)
  {attribute: title, matches_any: [r1, r2]}   any regex matches
  {attribute: email, domain_in: [a.com]}      e-mail domain (after the @) is one of
  {attribute: employees, gte: 200}            numeric compare: gte, gt, lte, lt
                                              (several may be combined: gte + lt = range)
  {attribute: budget, present: true}          attribute set and non-empty (false: absent)

Lead history (event time; "now" is the lead's latest event time):
  {event: DEMO_VIEWED}                        at least one ever
  {event: DEMO_VIEWED, within_days: 30}       at least one in the last 30 days
  {event: WEBINAR_ATTENDED, count_gte: 2}     at least 2 ever
  {event: WEBINAR_ATTENDED, count_gte: 2, within_days: 90}   at least 2 in 90 days
  ("within_days" looks at the lead's recent history, the last 32 events.)

Combinators:
  {all: [cond, ...]}   every one holds (an empty list holds)
  {any: [cond, ...]}   at least one holds (an empty list never holds)
  {not: cond}          negation
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from streams.domain.models import EVENT_TYPE_INDEX

DAY_MS = 86_400_000


class Subject(Protocol):
    """What a condition reads: the lead's profile and history (LeadState satisfies it)."""

    profile: dict[str, str]
    history: list[tuple[int, int]]
    counts: dict[int, int]
    clock: int


Test = Callable[[Subject], bool]


@dataclass(slots=True, frozen=True)
class Condition:
    test: Test
    uses_events: bool  # re-evaluate on every event, not only on profile change
    text: str  # compact human form, for explanations
    attrs: frozenset[str] = frozenset()  # profile attributes it reads


class Problems:
    """Collects validation problems; `add` never raises. With a `limit`, only the first
    `limit` are kept (a file with 700k unknown keys must not hold 700k messages); `count`
    counts them all."""

    def __init__(self, limit: int | None = None) -> None:
        self.items: list[tuple[str, str]] = []  # (path, message)
        self.count = 0
        self._limit = limit

    def add(self, path: str, message: str) -> None:
        self.count += 1
        if self._limit is None or len(self.items) < self._limit:
            self.items.append((path, message))


ATTRIBUTE_OPS = frozenset(
    {"equals", "in", "not_in", "matches", "matches_any", "domain_in", "gte", "gt", "lte",
     "lt", "present"}
)
EVENT_OPS = frozenset({"within_days", "count_gte"})


def _num(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        f = float(v)
        return f if f == f and f not in (float("inf"), float("-inf")) else None
    return None


def _text(v: object, path: str, problems: Problems) -> str | None:
    if isinstance(v, bool):
        problems.add(path, "is a YAML boolean (yes/no/true/false); quote it, e.g. \"yes\"")
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return str(v)
    problems.add(path, f"must be text, got {type(v).__name__}")
    return None


def _regex(v: object, path: str, problems: Problems) -> re.Pattern[str] | None:
    if not isinstance(v, str):
        problems.add(path, f"must be a regular expression string, got {type(v).__name__}")
        return None
    try:
        return re.compile(v, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        problems.add(path, f"invalid regular expression: {exc}")
        return None


def _text_list(v: object, path: str, problems: Problems) -> list[str] | None:
    if not isinstance(v, list):
        problems.add(path, "must be a list")
        return None
    out: list[str] = []
    ok = True
    for i, item in enumerate(v):
        t = _text(item, f"{path}[{i}]", problems)
        if t is None:
            ok = False
        else:
            out.append(t)
    return out if ok else None


def compile_condition(raw: object, path: str, problems: Problems) -> Condition | None:
    """Compile one condition; on problems, record them all and return None."""
    if not isinstance(raw, dict):
        problems.add(path, "a condition must be a mapping (attribute/event/all/any/not)")
        return None
    keys = set(raw)
    for comb in ("all", "any"):
        if comb in raw:
            if len(keys) != 1:
                problems.add(path, f"'{comb}' must be the only key of its condition")
                return None
            items = raw[comb]
            if not isinstance(items, list):
                problems.add(f"{path}.{comb}", "must be a list of conditions")
                return None
            parts = [compile_condition(c, f"{path}.{comb}[{i}]", problems)
                     for i, c in enumerate(items)]
            good = [p for p in parts if p is not None]
            if len(good) != len(parts):
                return None
            tests = tuple(p.test for p in good)
            uses = any(p.uses_events for p in good)
            text = f"{comb}(" + ", ".join(p.text for p in good) + ")"
            attrs = frozenset().union(*(p.attrs for p in good))
            return _combine(comb, tests, uses, text, attrs)
    if "not" in raw:
        if len(keys) != 1:
            problems.add(path, "'not' must be the only key of its condition")
            return None
        inner = compile_condition(raw["not"], f"{path}.not", problems)
        if inner is None:
            return None
        it = inner.test
        return Condition(lambda s: not it(s), inner.uses_events, f"not({inner.text})",
                         inner.attrs)
    if "attribute" in raw:
        return _compile_attribute(raw, path, problems)
    if "event" in raw:
        return _compile_event(raw, path, problems)
    problems.add(path, "unknown condition: expected one of attribute, event, all, any, not "
                       f"(got keys {sorted(map(str, keys))})")
    return None


def _combine(comb: str, tests: tuple[Test, ...], uses: bool, text: str,
             attrs: frozenset[str]) -> Condition:
    if comb == "all":

        def all_of(s: Subject) -> bool:
            for t in tests:  # noqa: SIM110 (a plain loop is faster than all() + generator)
                if not t(s):
                    return False
            return True

        return Condition(all_of, uses, text, attrs)

    def any_of(s: Subject) -> bool:
        for t in tests:  # noqa: SIM110 (a plain loop is faster than any() + generator)
            if t(s):
                return True
        return False

    return Condition(any_of, uses, text, attrs)


def _compile_attribute(raw: dict[Any, Any], path: str, problems: Problems) -> Condition | None:
    attr = raw["attribute"]
    if not isinstance(attr, str) or not attr:
        problems.add(f"{path}.attribute", "must be a non-empty attribute name")
        return None
    ops = [k for k in raw if k != "attribute"]
    bad = [k for k in ops if k not in ATTRIBUTE_OPS]
    for k in bad:
        problems.add(f"{path}.{k}", f"unknown operator; use one of {sorted(ATTRIBUTE_OPS)}")
    if bad:
        return None
    if not ops:
        problems.add(path, f"attribute condition needs an operator: {sorted(ATTRIBUTE_OPS)}")
        return None
    tests: list[Test] = []
    ok = True
    for op in ops:
        v = raw[op]
        p = f"{path}.{op}"
        t = _attribute_test(attr, op, v, p, problems)
        if t is None:
            ok = False
        else:
            tests.append(t)
    if not ok:
        return None
    text = f"{attr} " + " ".join(f"{op} {raw[op]!r}" for op in ops)
    if len(tests) == 1:
        return Condition(tests[0], False, text, frozenset({attr}))
    return _combine("all", tuple(tests), False, text, frozenset({attr}))  # e.g. gte + lt


def _to_float(v: str | None) -> float | None:
    if not v:
        return None
    try:
        f = float(v)
    except ValueError:
        try:
            f = float(v.replace(",", "").strip())
        except ValueError:
            return None
    return f if f == f else None


def _attribute_test(attr: str, op: str, v: object, p: str, problems: Problems) -> Test | None:
    if op == "equals":
        t = _text(v, p, problems)
        if t is None:
            return None
        want = t.casefold()
        return lambda s: (s.profile.get(attr) or "").casefold() == want
    if op in ("in", "not_in", "domain_in"):
        items = _text_list(v, p, problems)
        if items is None:
            return None
        allowed = frozenset(x.casefold() for x in items)
        if op == "in":
            return lambda s: (s.profile.get(attr) or "").casefold() in allowed
        if op == "not_in":
            return lambda s: (s.profile.get(attr) or "").casefold() not in allowed
        return lambda s: (s.profile.get(attr) or "").rpartition("@")[2].casefold() in allowed
    if op == "matches":
        rx = _regex(v, p, problems)
        if rx is None:
            return None
        search = rx.search
        return lambda s: search(s.profile.get(attr) or "") is not None
    if op == "matches_any":
        if not isinstance(v, list) or not v:
            problems.add(p, "must be a non-empty list of regular expressions")
            return None
        rxs = [_regex(x, f"{p}[{i}]", problems) for i, x in enumerate(v)]
        good = [r for r in rxs if r is not None]
        if len(good) != len(rxs):
            return None
        # one alternation, compiled once
        try:
            combined = re.compile("|".join(f"(?:{r.pattern})" for r in good), re.IGNORECASE)
        except (re.error, RecursionError, OverflowError, ValueError) as exc:
            problems.add(p, f"invalid regular expressions: {exc}")
            return None
        search = combined.search
        return lambda s: search(s.profile.get(attr) or "") is not None
    if op in ("gte", "gt", "lte", "lt"):
        n = _num(v)
        if n is None:
            problems.add(p, "must be a finite number")
            return None
        if op == "gte":
            return lambda s: (x := _to_float(s.profile.get(attr))) is not None and x >= n
        if op == "gt":
            return lambda s: (x := _to_float(s.profile.get(attr))) is not None and x > n
        if op == "lte":
            return lambda s: (x := _to_float(s.profile.get(attr))) is not None and x <= n
        return lambda s: (x := _to_float(s.profile.get(attr))) is not None and x < n
    # present
    if not isinstance(v, bool):
        problems.add(p, "must be true or false")
        return None
    if v:
        return lambda s: bool(s.profile.get(attr))
    return lambda s: not s.profile.get(attr)


def _compile_event(raw: dict[Any, Any], path: str, problems: Problems) -> Condition | None:
    etype = raw["event"]
    ok = True
    if not isinstance(etype, str) or etype not in EVENT_TYPE_INDEX:
        problems.add(f"{path}.event", f"unknown event type {etype!r}")
        ok = False
    for k in raw:
        if k != "event" and k not in EVENT_OPS:
            problems.add(f"{path}.{k}", f"unknown event operator; use {sorted(EVENT_OPS)}")
            ok = False
    within: float | None = None
    if "within_days" in raw:
        within = _num(raw["within_days"])
        if within is None or within <= 0 or within > 36_500:
            problems.add(f"{path}.within_days", "must be a positive number of days (<= 36500)")
            ok = False
    count = 1
    if "count_gte" in raw:
        c = raw["count_gte"]
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            problems.add(f"{path}.count_gte", "must be a whole number >= 1")
            ok = False
        else:
            count = c
    if not ok:
        return None
    ti = EVENT_TYPE_INDEX[etype]
    text = f"{etype}" + (f" x{count}" if count > 1 else "") + (
        f" within {within:g}d" if within is not None else "")
    if within is None:
        return Condition(lambda s: s.counts.get(ti, 0) >= count, True, text)
    span = int(within * DAY_MS)

    def recent(s: Subject) -> bool:
        if s.counts.get(ti, 0) < count:  # never happened often enough at all
            return False
        since = s.clock - span
        n = 0
        for t_i, t in s.history:
            if t_i == ti and t >= since:
                n += 1
                if n >= count:
                    return True
        return False

    return Condition(recent, True, text)
