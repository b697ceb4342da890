"""Checks for single values of a policy document; each adds a problem and returns None."""

from __future__ import annotations

import fnmatch
import math
import re
from typing import Any

from streams.domain.conditions import Problems
from streams.domain.models import EVENT_TYPE_INDEX

MAX_DAYS = 36_500.0  # a century: bounds every duration so nothing overflows


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
