"""Every record kind survives encode → decode, with values generated from its schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.codecs import KINDS, AvroCodecs, DecodeError, SchemaError
from streams.codecs.wire import SINGLE_OBJECT_MAGIC

Strategies = Callable[[str], st.SearchStrategy[dict[str, Any]]]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(codecs: AvroCodecs, record_strategy: Strategies, kind: str,
                    data: st.DataObject) -> None:
    record = data.draw(record_strategy(kind))
    encoded = codecs.encode(kind, record)
    assert encoded[:2] == SINGLE_OBJECT_MAGIC
    assert encoded[2:10] == codecs.catalog.get(kind).fingerprint
    assert codecs.decode(kind, encoded) == record
    assert codecs.decode_any(encoded) == (kind, record)


def test_decode_lead_input_tells_inputs_apart(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
    sales_outcome: Callable[..., dict[str, Any]],
) -> None:
    ev, out = lead_event(), sales_outcome()
    assert codecs.decode_lead_input(codecs.encode("LeadEvent", ev)) == ("LeadEvent", ev)
    assert codecs.decode_lead_input(codecs.encode("SalesOutcome", out)) == ("SalesOutcome", out)


def test_timestamps_are_ints(codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]) -> None:
    decoded = codecs.decode("LeadEvent", codecs.encode("LeadEvent", lead_event()))
    assert type(decoded["occurred_at"]) is int


def test_wrong_kind_is_a_schema_error(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]
) -> None:
    data = codecs.encode("LeadEvent", lead_event())
    with pytest.raises(SchemaError):
        codecs.decode("SalesOutcome", data)
    dl = codecs.encode("DeadLetter", {
        "topic": "t", "partition": 0, "offset": 1, "key": None, "value": None,
        "error_type": "DECODE", "error": "x", "failed_at": 1})
    with pytest.raises(SchemaError):
        codecs.decode_lead_input(dl)


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "NOT_A_TYPE"},
        {"occurred_at": "yesterday"},
        {"attributes": {"email": 5}},
        {"event_id": None},
    ],
)
def test_encoding_a_bad_record_is_a_schema_error(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]], bad: dict[str, Any]
) -> None:
    with pytest.raises(SchemaError) as info:
        codecs.encode("LeadEvent", lead_event(**bad))
    assert "example.com" not in str(info.value)


def test_encoding_a_record_missing_a_required_field_fails(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]
) -> None:
    record = lead_event()
    del record["lead_id"]
    with pytest.raises(SchemaError):
        codecs.encode("LeadEvent", record)


def test_unknown_kind(codecs: AvroCodecs) -> None:
    with pytest.raises(KeyError):
        codecs.encode("Nope", {})


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", DecodeError),
        (b"\xc3\x01\x00", DecodeError),
        (b"\x00\x00\x00\x00\x01hello", DecodeError),
        (b"\xc3\x01" + b"\xff" * 8 + b"body", DecodeError),
    ],
)
def test_bad_headers(codecs: AvroCodecs, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        codecs.decode("LeadEvent", data)
    assert info.value.error_type == "DECODE"  # type: ignore[attr-defined]


def test_trailing_bytes_and_truncation_are_schema_errors(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]
) -> None:
    data = codecs.encode("LeadEvent", lead_event())
    with pytest.raises(SchemaError, match="trailing"):
        codecs.decode("LeadEvent", data + b"\x00")
    with pytest.raises(SchemaError):
        codecs.decode("LeadEvent", data[:-3])
