"""Business validation and dead letters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streams.codecs import (
    AvroCodecs,
    DecodeError,
    Limits,
    SchemaError,
    ValidationError,
    dead_letter,
    problems,
    validate,
)
from streams.codecs.validation import MIN_OCCURRED_AT_MS

NOW = 1_764_000_500_000
DAY = 86_400_000
Factory = Callable[..., dict[str, Any]]


def test_valid_records_pass(lead_event: Factory, sales_outcome: Factory) -> None:
    validate("LeadEvent", lead_event(), NOW)
    validate("SalesOutcome", sales_outcome(), NOW)
    validate("SalesOutcome", sales_outcome(type="WON", amount=0.0), NOW)
    validate("SalesOutcome", sales_outcome(type="WON", amount=None), NOW)
    validate("SalesOutcome", sales_outcome(type="LOST", reason="budget"), NOW)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"lead_id": ""}, "lead_id is empty"),
        ({"lead_id": "   "}, "lead_id is empty"),
        ({"event_id": ""}, "event_id is empty"),
        ({"event_id": "e" * 129}, "event_id has 129 chars"),
        ({"lead_id": "l" * 129}, "lead_id has 129 chars"),
        ({"occurred_at": NOW + DAY + 1}, "in the future"),
        ({"occurred_at": MIN_OCCURRED_AT_MS - 1}, "before 2000"),
        ({"attributes": {f"k{i}": "v" for i in range(65)}}, "65 entries"),
        ({"attributes": {"email": "x" * 4097}}, "value(s) longer than 4096"),
        ({"attributes": {"k" * 129: "v"}}, "key(s) longer than 128"),
    ],
)
def test_lead_event_problems(lead_event: Factory, overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate("LeadEvent", lead_event(**overrides), NOW)
    assert fragment in str(info.value)
    assert info.value.error_type == "VALIDATION"
    assert "example.com" not in str(info.value)


def test_limits_at_the_edge_pass(lead_event: Factory) -> None:
    validate("LeadEvent", lead_event(
        event_id="e" * 128, occurred_at=NOW + DAY, attributes={
            **{f"k{i}": "v" for i in range(63)}, "k" * 128: "x" * 4096}), NOW)
    validate("LeadEvent", lead_event(occurred_at=MIN_OCCURRED_AT_MS), NOW)


@pytest.mark.parametrize("otype", ["REJECTED", "LOST", "RECYCLED"])
@pytest.mark.parametrize("reason", [None, "", "  "])
def test_outcomes_need_a_reason(sales_outcome: Factory, otype: str, reason: str | None) -> None:
    with pytest.raises(ValidationError, match="without a reason"):
        validate("SalesOutcome", sales_outcome(type=otype, reason=reason), NOW)


@pytest.mark.parametrize("amount", [-0.01, float("nan"), float("-inf")])
def test_won_amount(sales_outcome: Factory, amount: float) -> None:
    with pytest.raises(ValidationError, match="WON amount"):
        validate("SalesOutcome", sales_outcome(type="WON", amount=amount), NOW)


def test_every_problem_is_listed(lead_event: Factory) -> None:
    found = problems("LeadEvent", lead_event(lead_id="", event_id="", occurred_at=0), NOW)
    assert len(found) == 3


def test_limits_are_overridable(lead_event: Factory) -> None:
    with pytest.raises(ValidationError):
        validate("LeadEvent", lead_event(), NOW, Limits(max_attributes=2))


def test_decode_valid(codecs: AvroCodecs, lead_event: Factory) -> None:
    data = codecs.encode("LeadEvent", lead_event(lead_id=""))
    with pytest.raises(ValidationError):
        codecs.decode_valid("LeadEvent", data, NOW)
    good = codecs.encode("LeadEvent", lead_event())
    assert codecs.decode_valid("LeadEvent", good, NOW) == lead_event()


def test_output_records_are_checked_too() -> None:
    assert problems("StageTransition", {"transition_id": "", "lead_id": "L", "occurred_at": 1},
                    NOW) == ["transition_id is empty", "occurred_at is before 2000-01-01"]
    assert problems("DeadLetter", {}, NOW) == []


# -- dead letters ---------------------------------------------------------------------------


def test_dead_letter_from_each_error_class(codecs: AvroCodecs, lead_event: Factory) -> None:
    value = codecs.encode("LeadEvent", lead_event(lead_id=""))
    cases: list[tuple[Exception, str]] = [
        (DecodeError("unknown schema fingerprint 00"), "DECODE"),
        (SchemaError("payload body does not fit"), "SCHEMA"),
        (ValidationError(["LeadEvent: lead_id is empty"]), "VALIDATION"),
        (RuntimeError("boom"), "PROCESSING"),
    ]
    for error, etype in cases:
        dl = dead_letter("leads.events", 3, 42, b"L-1", value, error, NOW)
        assert dl["error_type"] == etype
        assert dl["value"] == value and dl["key"] == b"L-1"
        assert (dl["topic"], dl["partition"], dl["offset"], dl["failed_at"]) == (
            "leads.events", 3, 42, NOW)
        # it is itself a valid DeadLetter record
        assert codecs.decode("DeadLetter", codecs.encode("DeadLetter", dl)) == dl


def test_dead_letter_message_is_short_and_has_no_personal_data() -> None:
    dl = dead_letter("t", 0, 0, None, None, KeyError("ann.example@example.com"), NOW)
    assert "example.com" not in dl["error"] and dl["error"].startswith("KeyError")
    dl = dead_letter("t", 0, 0, None, None,
                     ValueError("bad value 'Ann Example, CEO' for bob@corp.io " + "x" * 5000),
                     NOW)
    assert "Ann" not in dl["error"] and "corp.io" not in dl["error"]
    assert len(dl["error"]) <= 500
    dl = dead_letter("t", 0, 0, None, None, "plain text", NOW, error_type="PROCESSING")
    assert dl["error"] == "plain text" and dl["error_type"] == "PROCESSING"
    with pytest.raises(ValueError):
        dead_letter("t", 0, 0, None, None, "x", NOW, error_type="NOPE")  # type: ignore[arg-type]


def test_real_decode_failures_make_clean_dead_letters(
    codecs: AvroCodecs, lead_event: Factory
) -> None:
    value = codecs.encode("LeadEvent", lead_event(attributes={"email": "é" * 10}))
    broken = value[:-5] + b"\xff\xfe\xfd\xfc\xfb"  # invalid UTF-8 inside the attribute value
    with pytest.raises(SchemaError) as info:
        codecs.decode("LeadEvent", broken)
    dl = dead_letter("leads.events", 0, 7, None, broken, info.value, NOW)
    assert dl["error_type"] == "SCHEMA"
    assert "é" not in dl["error"]
