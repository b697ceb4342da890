"""Confluent wire format over an injectable resolver; Faust codec registration."""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from faust.serializers import codecs as faust_codecs

from streams.codecs import (
    LEAD_INPUT_CODEC,
    AvroCodecs,
    ConfluentFormat,
    DecodeError,
    HttpSchemaRegistry,
    InMemoryResolver,
    LoadedSchema,
    SchemaCatalog,
    SchemaError,
    SchemaRegistryError,
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
    http = make_codecs("http://registry:8081")
    assert isinstance(http.wire_format, ConfluentFormat)
    assert isinstance(http.wire_format.resolver, HttpSchemaRegistry)
    with pytest.raises(ValueError):
        make_codecs("registry:8081")


def test_unknown_enum_symbol_without_default_is_a_schema_error(
    confluent: tuple[AvroCodecs, InMemoryResolver], sales_outcome: Callable[..., dict[str, Any]]
) -> None:
    """A producer on a newer SalesOutcome with a symbol this reader lacks (no enum default)."""
    codecs, resolver = confluent
    newer = json.loads(json.dumps(codecs.catalog.get("SalesOutcome").json))
    newer["fields"][2]["type"]["symbols"].append("CHURNED")
    loaded = LoadedSchema.from_json(newer, version="future")
    producer = AvroCodecs(codecs.catalog, ConfluentFormat(codecs.catalog, resolver))
    ok = producer.encode_with(loaded, sales_outcome(type="WON", amount=1.0))
    assert codecs.decode("SalesOutcome", ok)["type"] == "WON"
    bad = producer.encode_with(loaded, sales_outcome(type="CHURNED"))
    with pytest.raises(SchemaError):
        codecs.decode("SalesOutcome", bad)


class _FakeRegistry(BaseHTTPRequestHandler):
    schemas: ClassVar[dict[int, str]] = {}
    requests: ClassVar[list[tuple[str, str, str | None]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, self.headers.get("Authorization")))
        if self.path.startswith("/subjects/") and self.path.endswith("/versions"):
            sid = next((i for i, t in self.schemas.items() if t == body["schema"]), None)
            if sid is None:
                sid = len(self.schemas) + 1
                self.schemas[sid] = body["schema"]
            self._answer(200, {"id": sid})
        else:
            self._answer(500, {"error_code": 50001, "message": "boom"})

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, self.headers.get("Authorization")))
        sid = int(self.path.rsplit("/", 1)[-1])
        if sid in self.schemas:
            self._answer(200, {"schema": self.schemas[sid]})
        else:
            self._answer(404, {"error_code": 40403, "message": "Schema not found"})


def test_http_schema_registry_against_a_fake_server(
    lead_event: Callable[..., dict[str, Any]]
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        registry = HttpSchemaRegistry(url, username="u", password="p", timeout_s=5)
        codecs = make_codecs(url, registry)
        data = codecs.encode("LeadEvent", lead_event())
        assert data[:5] == b"\x00\x00\x00\x00\x01"
        reader = make_codecs(url, HttpSchemaRegistry(url))
        assert reader.decode_lead_input(data) == ("LeadEvent", lead_event())
        with pytest.raises(DecodeError, match="unknown schema id 7"):
            reader.decode("LeadEvent", b"\x00\x00\x00\x00\x07\x00")
        paths = [(m, p) for m, p, _ in _FakeRegistry.requests]
        assert ("POST", "/subjects/leadflow.LeadEvent/versions") in paths
        assert ("GET", "/schemas/ids/1") in paths
        assert _FakeRegistry.requests[0][2] == "Basic dTpw"
        with pytest.raises(SchemaRegistryError, match="HTTP 500"):
            HttpSchemaRegistry(url, auto_register=False).register("s", "{}")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(SchemaRegistryError):
        HttpSchemaRegistry(url, timeout_s=0.5).schema_text(1)


def test_faust_codecs_registered(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
    sales_outcome: Callable[..., dict[str, Any]],
) -> None:
    made = register_faust_codecs(codecs)
    assert set(made) == {
        "avro-leadevent", "avro-salesoutcome", "avro-stagetransition", "avro-qualifiedlead",
        "avro-marketingfeedback", "avro-slareport", "avro-deadletter", "avro-shadowdiff",
        "avro-accountqualified",
        LEAD_INPUT_CODEC,
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
