"""The compiled readers and writers agree with fastavro: same bytes, same records, and
whatever they are not sure of they leave to fastavro (the codecs then give fastavro's
record or error)."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.codecs import KINDS, AvroCodecs, CodecError
from streams.codecs.compiled import compile_reader, compile_writer

Strategies = Callable[[str], st.SearchStrategy[dict[str, Any]]]
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _fastavro_bytes(parsed: Any, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, parsed, record)
    return out.getvalue()


def test_every_schema_compiles(codecs: AvroCodecs) -> None:
    # a schema the compiler gave up on would silently lose the fast path
    for schema in codecs.catalog.by_fingerprint.values():
        assert compile_reader(schema.parsed) is not None, schema.kind
        assert compile_writer(schema.parsed) is not None, schema.kind


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(data=st.data())
def test_same_bytes_and_records_as_fastavro(
    kind: str, codecs: AvroCodecs, record_strategy: Strategies, data: st.DataObject
) -> None:
    parsed = codecs.catalog.get(kind).parsed
    record = data.draw(record_strategy(kind))
    expected = _fastavro_bytes(parsed, record)
    writer, reader = compile_writer(parsed), compile_reader(parsed)
    assert writer is not None and reader is not None
    try:
        body = writer(record)
    except Exception:
        body = None  # given up: allowed (e.g. an int where a double goes), never wrong bytes
    assert body is None or body == expected
    decoded, end = reader(b"xy" + expected, 2)
    assert end == len(expected) + 2
    assert decoded == schemaless_reader(io.BytesIO(expected), parsed, None)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(4)
    if op == 0:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        del b[rng.randrange(len(b)):]
    elif op == 2:
        i = rng.randrange(len(b))
        b[i] = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF])
    else:
        i = rng.randrange(len(b))
        b[i:i] = rng.randbytes(rng.randint(1, 8))
    return bytes(b)


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except CodecError as exc:
        return type(exc).__name__, str(exc)


def test_mutated_payloads_decode_as_with_fastavro_alone(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
    sales_outcome: Callable[..., dict[str, Any]],
) -> None:
    reference = AvroCodecs(codecs.catalog, compiled=False)
    rng = random.Random(17)
    valid = [
        codecs.encode("LeadEvent", lead_event()),
        codecs.encode("LeadEvent", lead_event(attributes={}, campaign_id=None, rep_id="r")),
        codecs.encode("SalesOutcome", sales_outcome(type="WON", amount=1234.5)),
        codecs.encode("SalesOutcome", sales_outcome(type="LOST", reason="price")),
    ]
    results: set[str] = set()
    for _ in range(4000):
        data = _mutate(rng, rng.choice(valid))
        got = _outcome(lambda: codecs.decode_lead_input(data))  # noqa: B023
        assert got == _outcome(lambda: reference.decode_lead_input(data)), data.hex()  # noqa: B023
        results.add(got[0])
    assert {"ok", "SchemaError", "DecodeError"} <= results  # the mutations reached every path


def test_records_that_do_not_fit_fail_as_with_fastavro_alone(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
) -> None:
    reference = AvroCodecs(codecs.catalog, compiled=False)
    cases = [
        lead_event(type="NOT_A_TYPE"),
        lead_event(occurred_at=1.5),
        lead_event(occurred_at=2**63),
        lead_event(occurred_at=True),
        lead_event(attributes={"k": 1}),
        lead_event(attributes=[("k", "v")]),
        lead_event(campaign_id=7),
        lead_event(source=b"web"),
        lead_event(event_id="\ud800"),
        {k: v for k, v in lead_event().items() if k != "rep_id"},  # default used
        {k: v for k, v in lead_event().items() if k != "lead_id"},  # no default
        lead_event(extra="ignored"),
    ]
    for record in cases:
        assert _outcome(lambda: codecs.encode("LeadEvent", record)) == _outcome(  # noqa: B023
            lambda: reference.encode("LeadEvent", record)), record  # noqa: B023
