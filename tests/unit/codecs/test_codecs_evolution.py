"""Evolution guard: current schemas stay backward and forward compatible with history."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pytest

from streams.codecs import AvroCodecs, SchemaCatalog
from streams.codecs.evolution import check_history
from streams.paths import SCHEMA_HISTORY_DIR, SCHEMAS_DIR


def test_current_schemas_are_compatible_with_every_historical_version() -> None:
    problems = check_history()
    assert problems == [], "\n".join(str(p) for p in problems)
    assert list(SCHEMA_HISTORY_DIR.glob("LeadEvent.v*.avsc")), "keep LeadEvent history"


def _copy_tree(tmp_path: Path) -> tuple[Path, Path]:
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, schemas)
    return schemas, schemas / "history"


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema))


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_required_field_without_default_breaks_backward(tmp_path: Path) -> None:
    schemas, history = _copy_tree(tmp_path)
    _edit(schemas / "LeadEvent.avsc",
          lambda s: s["fields"].append({"name": "tenant", "type": "string", "doc": "x"}))
    found = check_history(schemas, history)
    assert any(p.record == "LeadEvent" and p.direction == "backward" for p in found)


def test_dropping_the_enum_default_breaks_forward(tmp_path: Path) -> None:
    """v1 lacks ERASURE_REQUESTED; old readers only survive it through the default."""
    schemas, history = _copy_tree(tmp_path)
    _edit(history / "LeadEvent.v1.avsc", lambda s: _field(s, "type")["type"].pop("default"))
    found = check_history(schemas, history)
    assert any(p.direction == "forward" and "ERASURE_REQUESTED" in p.detail for p in found)


def test_type_change_is_detected(tmp_path: Path) -> None:
    schemas, history = _copy_tree(tmp_path)
    _edit(schemas / "LeadEvent.avsc", lambda s: _field(s, "occurred_at").update(type="string"))
    directions = {p.direction for p in check_history(schemas, history)}
    assert directions == {"backward", "forward"}


def test_badly_named_history_file_is_reported(tmp_path: Path) -> None:
    schemas, history = _copy_tree(tmp_path)
    shutil.copy(history / "LeadEvent.v1.avsc", history / "LeadEvent-old.avsc")
    assert any(p.direction == "named" for p in check_history(schemas, history))


def test_v1_payload_decodes_with_defaults(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]
) -> None:
    v1 = codecs.catalog.history["LeadEvent"][0]
    old = lead_event()
    del old["rep_id"]
    data = codecs.encode_with(v1, old)
    assert data[2:10] == v1.fingerprint
    kind, decoded = codecs.decode_lead_input(data)
    assert kind == "LeadEvent"
    assert decoded == dict(old, rep_id=None)


def test_old_reader_reads_new_symbol_as_unknown(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]
) -> None:
    v1 = codecs.catalog.history["LeadEvent"][0]
    data = codecs.encode("LeadEvent", lead_event(type="ERASURE_REQUESTED", rep_id="rep-1"))
    body = io.BytesIO(data[10:])
    old = fastavro.schemaless_reader(body, codecs.catalog.get("LeadEvent").parsed, v1.parsed)
    assert old["type"] == "UNKNOWN"
    assert "rep_id" not in old


def test_catalog_without_history_rejects_old_payloads(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]]
) -> None:
    from streams.codecs import DecodeError

    v1 = codecs.catalog.history["LeadEvent"][0]
    old = lead_event()
    del old["rep_id"]
    data = codecs.encode_with(v1, old)
    bare = AvroCodecs(SchemaCatalog.load(SCHEMAS_DIR, None))
    with pytest.raises(DecodeError, match="unknown schema fingerprint"):
        bare.decode("LeadEvent", data)


def test_shadow_diff_is_under_the_guard(tmp_path: Path) -> None:
    """ShadowDiff's first published version is kept: a field added without a default is
    caught like any other record's."""
    assert (SCHEMA_HISTORY_DIR / "ShadowDiff.v1.avsc").is_file()
    schemas, history = _copy_tree(tmp_path)
    _edit(schemas / "ShadowDiff.avsc",
          lambda s: s["fields"].append({"name": "tenant", "type": "string", "doc": "x"}))
    found = check_history(schemas, history)
    assert any(p.record == "ShadowDiff" and p.direction == "backward" for p in found)


def _golden_qualified_lead() -> dict[str, Any]:
    path = SCHEMAS_DIR.parent / "tests" / "fixtures" / "golden" / "QualifiedLead.json"
    rec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return rec


def test_qualified_lead_model_is_under_the_guard(tmp_path: Path) -> None:
    """QualifiedLead.model (contract 4b) was added with a default; v1 is kept, and the same
    field without its default is caught."""
    assert (SCHEMA_HISTORY_DIR / "QualifiedLead.v1.avsc").is_file()
    schemas, history = _copy_tree(tmp_path)
    _edit(schemas / "QualifiedLead.avsc", lambda s: _field(s, "model").pop("default"))
    found = check_history(schemas, history)
    assert any(p.record == "QualifiedLead" and p.direction == "backward" for p in found)


def test_new_reader_reads_a_v1_qualified_lead_with_model_null(codecs: AvroCodecs) -> None:
    v1 = codecs.catalog.history["QualifiedLead"][0]
    old = _golden_qualified_lead()
    del old["model"]
    data = codecs.encode_with(v1, old)
    assert data[2:10] == v1.fingerprint
    assert codecs.decode("QualifiedLead", data) == dict(old, model=None)


def test_old_reader_reads_a_new_qualified_lead_without_the_model(codecs: AvroCodecs) -> None:
    v1 = codecs.catalog.history["QualifiedLead"][0]
    new = _golden_qualified_lead()
    assert new["model"] == "analytics"
    data = codecs.encode("QualifiedLead", new)
    old = fastavro.schemaless_reader(io.BytesIO(data[10:]),
                                     codecs.catalog.get("QualifiedLead").parsed, v1.parsed)
    assert "model" not in old
    assert old == {k: v for k, v in new.items() if k != "model"}
