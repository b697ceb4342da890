"""Confluent wire format over an injectable resolver; Faust codec registration."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from faust.serializers import codecs as faust_codecs

from streams.codecs import (
    LEAD_INPUT_CODEC,
    AvroCodecs,
    ConfluentFormat,
    DecodeError,
    InMemoryResolver,
    SchemaCatalog,
    SchemaError,
    UnknownSchemaId,
    make_codecs,
    register_faust_codecs,
)


@pytest.fixture
def confluent() -> tuple[AvroCodecs, InMemoryResolver]:
    catalog = SchemaCatalog.load()
    resolver = InMemoryResolver()
    return AvroCodecs(catalog, ConfluentFormat(catalog, resolver)), resolver


def test_confluent_round_trip(
    confluent: tuple[AvroCodecs, InMemoryResolver], lead_event: Callable[..., dict[str, Any]]
) -> None:
    codecs, resolver = confluent
    data = codecs.encode("LeadEvent", lead_event())
    assert data[0] == 0
    (sid,) = struct.unpack(">I", data[1:5])
    assert resolver.subjects["leadflow.LeadEvent"] == [sid]
    assert codecs.decode("LeadEvent", data) == lead_event()
    assert codecs.encode("LeadEvent", lead_event()) == data  # id cached, same bytes


def test_confluent_reads_an_older_writer_schema_from_the_registry(
    confluent: tuple[AvroCodecs, InMemoryResolver], lead_event: Callable[..., dict[str, Any]]
) -> None:
    codecs, resolver = confluent
    v1 = codecs.catalog.history["LeadEvent"][0]
    # another producer registered v1 and wrote with it
    producer = AvroCodecs(codecs.catalog, ConfluentFormat(codecs.catalog, resolver))
    old = lead_event()
    del old["rep_id"]
    data = producer.encode_with(v1, old)
    fresh = AvroCodecs(codecs.catalog, ConfluentFormat(codecs.catalog, resolver))
    assert fresh.decode_lead_input(data) == ("LeadEvent", dict(old, rep_id=None))


def test_confluent_unknown_id_and_bad_magic(
    confluent: tuple[AvroCodecs, InMemoryResolver]
) -> None:
    codecs, _ = confluent
    with pytest.raises(DecodeError, match="unknown schema id 99"):
        codecs.decode("LeadEvent", b"\x00\x00\x00\x00\x63\x00")
    with pytest.raises(DecodeError):
        codecs.decode("LeadEvent", b"\xc3\x01" + b"\x00" * 12)
    with pytest.raises(DecodeError):
        codecs.decode("LeadEvent", b"\x00\x00")


def test_confluent_foreign_schema_is_rejected(
    confluent: tuple[AvroCodecs, InMemoryResolver]
) -> None:
    codecs, resolver = confluent
    sid = resolver.register("x", '{"type":"record","name":"Other","fields":[]}')
    with pytest.raises(DecodeError, match="not a leadflow record"):
        codecs.decode("LeadEvent", b"\x00" + struct.pack(">I", sid))
    sid = resolver.register("y", "not json")
    with pytest.raises(DecodeError):
        codecs.decode("LeadEvent", b"\x00" + struct.pack(">I", sid))


def test_resolver_failures_other_than_unknown_id_propagate() -> None:
    class Down:
        def register(self, subject: str, schema_text: str) -> int:
            raise ConnectionError("registry down")

        def schema_text(self, schema_id: int) -> str:
            raise ConnectionError("registry down")

    catalog = SchemaCatalog.load()
    codecs = AvroCodecs(catalog, ConfluentFormat(catalog, Down()))
    with pytest.raises(ConnectionError):
        codecs.decode("LeadEvent", b"\x00\x00\x00\x00\x01\x00")


def test_in_memory_resolver() -> None:
    r = InMemoryResolver()
    assert r.register("a", "{}") == r.register("b", "{}") == 1
    assert r.register("a", "[]") == 2
    with pytest.raises(UnknownSchemaId):
        r.schema_text(3)


def test_make_codecs() -> None:
    assert make_codecs().wire_format.name == "single-object"
    assert make_codecs("http://registry:8081", InMemoryResolver()).wire_format.name == "confluent"
    with pytest.raises(ValueError, match="resolver"):
        make_codecs("http://registry:8081")


def test_faust_codecs_registered(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
    sales_outcome: Callable[..., dict[str, Any]],
) -> None:
    made = register_faust_codecs(codecs)
    assert set(made) == {
        "avro-leadevent", "avro-salesoutcome", "avro-stagetransition", "avro-qualifiedlead",
        "avro-marketingfeedback", "avro-slareport", "avro-deadletter", LEAD_INPUT_CODEC,
    }
    ev = lead_event()
    data = faust_codecs.dumps("avro-leadevent", ev)
    assert data == codecs.encode("LeadEvent", ev)
    assert faust_codecs.loads("avro-leadevent", data) == ev
    out = sales_outcome()
    wrapped = faust_codecs.loads(LEAD_INPUT_CODEC, codecs.encode("SalesOutcome", out))
    assert wrapped == {"kind": "SalesOutcome", "record": out}
    assert faust_codecs.dumps(LEAD_INPUT_CODEC, wrapped) == codecs.encode("SalesOutcome", out)
    with pytest.raises(SchemaError):
        faust_codecs.dumps(LEAD_INPUT_CODEC, {"kind": "DeadLetter", "record": {}})
    with pytest.raises(DecodeError):
        faust_codecs.loads("avro-leadevent", b"junk")
