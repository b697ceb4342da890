"""The schema files themselves: shape, docs, shared types, fingerprints."""

from __future__ import annotations

import json
import struct
from typing import Any

import avro.schema
import fastavro
import pytest

from streams.codecs import KINDS, AvroCodecs
from streams.codecs.schemas import (
    canonical_form,
    crc64_avro,
    fingerprint_bytes,
    strip_logical_types,
)
from streams.paths import SCHEMA_HISTORY_DIR, SCHEMAS_DIR

TIMESTAMP_FIELDS = {
    "LeadEvent": {"occurred_at"},
    "SalesOutcome": {"occurred_at"},
    "StageTransition": {"occurred_at"},
    "QualifiedLead": {"handed_off_at", "sla_due_at"},
    "MarketingFeedback": {"occurred_at"},
    "SlaReport": {"window_start", "window_end"},
    "DeadLetter": {"failed_at"},
    "ShadowDiff": {"occurred_at"},
    "AccountQualified": {"qualified_at", "sla_due_at"},
}


def _walk(schema: Any) -> list[dict[str, Any]]:
    """Every named type and field definition (dicts) inside a schema."""
    out: list[dict[str, Any]] = []
    if isinstance(schema, list):
        for s in schema:
            out += _walk(s)
    elif isinstance(schema, dict):
        out.append(schema)
        for key in ("fields",):
            for f in schema.get(key, []):
                out.append(f)
                out += _walk(f["type"])
        for key in ("items", "values"):
            if key in schema:
                out += _walk(schema[key])
        if isinstance(schema.get("type"), dict | list):
            out += _walk(schema["type"])
    return out


def test_every_kind_has_a_current_schema(codecs: AvroCodecs) -> None:
    assert sorted(codecs.kinds) == sorted(KINDS)
    assert sorted(p.stem for p in SCHEMAS_DIR.glob("*.avsc")) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_conventions(codecs: AvroCodecs, kind: str) -> None:
    schema = codecs.catalog.get(kind).json
    assert schema["namespace"] == "leadflow"
    assert schema["name"] == kind
    for node in _walk(schema):
        if "fields" in node or node.get("type") in ("enum", "record", "fixed"):
            assert node.get("doc"), f"named type {node.get('name')} in {kind} has no doc"
        if "name" in node and "type" in node and "symbols" not in node and "fields" not in node:
            assert node.get("doc"), f"field {node['name']} in {kind} has no doc"
            t = node["type"]
            if isinstance(t, list) and "null" in t:
                assert t[0] == "null" and node.get("default", "x") is None, (
                    f"optional field {kind}.{node['name']} must be [null, ...] default null"
                )
    ts = {
        f["name"]
        for f in schema["fields"]
        if isinstance(f["type"], dict) and f["type"].get("logicalType") == "timestamp-millis"
    }
    assert ts == TIMESTAMP_FIELDS[kind]


def test_lead_event_type_defaults_to_unknown(codecs: AvroCodecs) -> None:
    field = next(f for f in codecs.catalog.get("LeadEvent").json["fields"] if f["name"] == "type")
    assert field["type"]["default"] == "UNKNOWN"
    assert "UNKNOWN" in field["type"]["symbols"]


def test_shared_named_types_are_identical_everywhere(codecs: AvroCodecs) -> None:
    """Stage, FitGrade, Reason... are inlined per file; they must not drift apart."""
    seen: dict[str, tuple[str, str]] = {}
    for kind in KINDS:
        for node in _walk(codecs.catalog.get(kind).json):
            if node.get("type") in ("enum", "record", "fixed") and "name" in node:
                form = canonical_form(dict(node, namespace="leadflow"))
                name = node["name"]
                if name in seen:
                    assert seen[name][1] == form, f"{name} differs in {kind} and {seen[name][0]}"
                else:
                    seen[name] = (kind, form)
    assert {"Stage", "FitGrade", "Reason", "HandoffPath", "KpiFigures"} <= set(seen)


def test_crc64_matches_the_spec_vector() -> None:
    # From the Avro specification's fingerprint test vectors.
    assert crc64_avro(b'"null"') == 7195948357588979594
    assert fingerprint_bytes("null") == struct.pack("<Q", 7195948357588979594)


@pytest.mark.parametrize("kind", KINDS)
def test_stripping_logical_types_keeps_fingerprint_and_bytes(
    codecs: AvroCodecs, kind: str
) -> None:
    loaded = codecs.catalog.get(kind)
    stripped = strip_logical_types(loaded.json)
    assert "logicalType" not in json.dumps(stripped)
    assert canonical_form(stripped) == canonical_form(loaded.json) == loaded.canonical
    assert fingerprint_bytes(stripped) == fingerprint_bytes(loaded.json) == loaded.fingerprint


def test_logical_and_stripped_schema_write_the_same_bytes(codecs: AvroCodecs) -> None:
    import io
    from datetime import UTC, datetime

    loaded = codecs.catalog.get("SalesOutcome")
    rec = {"event_id": "e", "lead_id": "l", "type": "WON", "occurred_at": 1_764_000_000_123,
           "rep_id": None, "reason": None, "amount": 10.5}
    a, b = io.BytesIO(), io.BytesIO()
    fastavro.schemaless_writer(a, loaded.parsed, rec)
    logical = fastavro.parse_schema(dict(loaded.json), named_schemas={})
    dt = datetime.fromtimestamp(rec["occurred_at"] / 1000, tz=UTC)
    fastavro.schemaless_writer(b, logical, dict(rec, occurred_at=dt))
    assert a.getvalue() == b.getvalue()


@pytest.mark.parametrize("kind", KINDS)
def test_apache_avro_fingerprint_agrees(codecs: AvroCodecs, kind: str) -> None:
    """The avro package computes the same fingerprint for the parsing-relevant schema.

    avro 1.12's canonical form keeps ``{"type":"long"}`` for a logical-typed long where the
    spec (and Java, fastavro) reduce it to ``"long"`` after stripping ``logicalType``; so the
    comparison is made on the logical-type-free schema, which the spec says is equivalent.
    """
    loaded = codecs.catalog.get(kind)
    parsed = avro.schema.parse(json.dumps(strip_logical_types(loaded.json)))
    assert parsed.fingerprint("CRC-64-AVRO") == loaded.fingerprint
    assert parsed.canonical_form == loaded.canonical


def test_history_files_load(codecs: AvroCodecs) -> None:
    assert (SCHEMA_HISTORY_DIR / "LeadEvent.v1.avsc").is_file()
    v1 = codecs.catalog.history["LeadEvent"][0]
    assert v1.version == "v1"
    assert v1.fingerprint != codecs.catalog.get("LeadEvent").fingerprint
    assert codecs.catalog.by_fingerprint[v1.fingerprint] is v1
