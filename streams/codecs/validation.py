"""Business validation of decoded records: fits the schema, but is it acceptable?

``validate(kind, record, now_ms)`` raises ``ValidationError`` listing every problem. It reads
no clock: the caller passes ``now_ms``. Messages name fields and sizes, never values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.codecs.errors import ValidationError

MAX_ID_CHARS = 128
MAX_FUTURE_MS = 24 * 3600 * 1000  # occurred_at may be at most one day ahead of now
MIN_OCCURRED_AT_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_ATTRIBUTES = 64
MAX_ATTRIBUTE_KEY_CHARS = 128
MAX_ATTRIBUTE_VALUE_CHARS = 4096
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # ids are keys: no control characters
REASON_REQUIRED = frozenset({"REJECTED", "LOST", "RECYCLED"})

ID_FIELDS: Mapping[str, tuple[str, ...]] = {
    "LeadEvent": ("event_id", "lead_id"),
    "SalesOutcome": ("event_id", "lead_id"),
    "StageTransition": ("transition_id", "lead_id"),
    "QualifiedLead": ("handoff_id", "lead_id"),
    "MarketingFeedback": ("feedback_id", "lead_id"),
    "SlaReport": ("report_id",),
}
EVENT_TIME_FIELDS: Mapping[str, tuple[str, ...]] = {
    "LeadEvent": ("occurred_at",),
    "SalesOutcome": ("occurred_at",),
    "StageTransition": ("occurred_at",),
    "QualifiedLead": ("handed_off_at",),
    "MarketingFeedback": ("occurred_at",),
}
MAP_FIELDS: Mapping[str, tuple[str, ...]] = {
    "LeadEvent": ("attributes",),
    "QualifiedLead": ("profile",),
}


@dataclass(frozen=True)
class Limits:
    """Validation limits; the module constants are the defaults."""

    max_id_chars: int = MAX_ID_CHARS
    max_future_ms: int = MAX_FUTURE_MS
    min_occurred_at_ms: int = MIN_OCCURRED_AT_MS
    max_attributes: int = MAX_ATTRIBUTES
    max_attribute_key_chars: int = MAX_ATTRIBUTE_KEY_CHARS
    max_attribute_value_chars: int = MAX_ATTRIBUTE_VALUE_CHARS


DEFAULT_LIMITS = Limits()


def problems(
    kind: str, record: Mapping[str, Any], now_ms: int, limits: Limits = DEFAULT_LIMITS
) -> list[str]:
    """Every validation problem of ``record`` (empty when it is acceptable)."""
    out: list[str] = []
    for name in ID_FIELDS.get(kind, ()):
        value = record.get(name)
        if not isinstance(value, str) or not value.strip():
            out.append(f"{name} is empty")
        elif len(value) > limits.max_id_chars:
            out.append(f"{name} has {len(value)} chars, more than {limits.max_id_chars}")
        elif _CONTROL.search(value):
            out.append(f"{name} has control characters")
    for name in EVENT_TIME_FIELDS.get(kind, ()):
        ts = record.get(name)
        if not isinstance(ts, int):
            out.append(f"{name} is not epoch millis")
        elif ts > now_ms + limits.max_future_ms:
            # no wall-clock figure in the text: the same record gives the same dead letter
            # whenever it is processed (contract 1b: only failed_at differs)
            out.append(f"{name} is more than {limits.max_future_ms // 1000} s in the future")
        elif ts < limits.min_occurred_at_ms:
            out.append(f"{name} is before 2000-01-01")
    for name in MAP_FIELDS.get(kind, ()):
        out.extend(_map_problems(name, record.get(name), limits))
    if kind == "SalesOutcome":
        otype = record.get("type")
        reason = record.get("reason")
        if otype in REASON_REQUIRED and (not isinstance(reason, str) or not reason.strip()):
            out.append(f"{otype} outcome without a reason")
        amount = record.get("amount")
        if otype == "WON" and amount is not None:
            if not isinstance(amount, int | float) or not math.isfinite(amount):
                out.append("WON amount is not a finite number")
            elif amount < 0:
                out.append("WON amount is negative")
    return out


def _map_problems(name: str, value: Any, limits: Limits) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{name} is not a map"]
    if len(value) <= limits.max_attributes:
        kmax, vmax = limits.max_attribute_key_chars, limits.max_attribute_value_chars
        for k, v in value.items():
            if len(k) > kmax or not isinstance(v, str) or len(v) > vmax:
                break
        else:
            return []  # the common case in one pass; the passes below name the problems
    out = []
    if len(value) > limits.max_attributes:
        out.append(f"{name} has {len(value)} entries, more than {limits.max_attributes}")
    long_keys = sum(1 for k in value if len(k) > limits.max_attribute_key_chars)
    if long_keys:
        out.append(
            f"{name} has {long_keys} key(s) longer than {limits.max_attribute_key_chars} chars"
        )
    long_values = sorted(
        k for k, v in value.items()
        if isinstance(v, str) and len(v) > limits.max_attribute_value_chars
        and len(k) <= 32 and k.isidentifier()
    )
    n_long = sum(
        1 for v in value.values()
        if not isinstance(v, str) or len(v) > limits.max_attribute_value_chars
    )
    if n_long:
        # Name a key only when it looks like a field name (keys are schema-like, values
        # are personal data; an odd key could itself be data, so those stay unnamed).
        named = f" ({', '.join(long_values[:5])})" if long_values else ""
        out.append(
            f"{name} has {n_long} value(s) longer than {limits.max_attribute_value_chars}"
            f" chars{named}"
        )
    return out


def validate(
    kind: str, record: Mapping[str, Any], now_ms: int, limits: Limits = DEFAULT_LIMITS
) -> None:
    """Raise ``ValidationError`` with every problem when ``record`` is not acceptable."""
    found = problems(kind, record, now_ms, limits)
    if found:
        raise ValidationError([f"{kind}: {p}" for p in found])
