"""Cross-library vectors: checked-in single-object bytes read by fastavro and Apache avro."""

from __future__ import annotations

import importlib.util
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import avro.io
import avro.schema
import pytest

from streams.codecs import KINDS, AvroCodecs
from streams.codecs.schemas import strip_logical_types
from streams.paths import ROOT, SCHEMAS_DIR

GOLDEN = ROOT / "tests" / "fixtures" / "golden"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _make_golden() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FROM_JSON = _make_golden().from_json


def _expected(kind: str) -> dict[str, Any]:
    return FROM_JSON(json.loads((GOLDEN / f"{kind}.json").read_text(encoding="utf-8")))  # type: ignore[no-any-return]


def _millis(value: Any) -> Any:
    """Apache avro returns timestamp-millis as datetime; records.md says int millis."""
    if isinstance(value, datetime):
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, dict):
        return {k: _millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_millis(v) for v in value]
    return value


def _avro_schema(kind: str) -> avro.schema.Schema:
    return avro.schema.parse((SCHEMAS_DIR / f"{kind}.avsc").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_golden_with_fastavro(codecs: AvroCodecs, kind: str) -> None:
    data = (GOLDEN / f"{kind}.bin").read_bytes()
    assert codecs.decode(kind, data) == _expected(kind)
    # and our encoder still writes exactly these bytes
    assert codecs.encode(kind, _expected(kind)) == data


@pytest.mark.parametrize("kind", KINDS)
def test_golden_with_apache_avro(kind: str) -> None:
    data = (GOLDEN / f"{kind}.bin").read_bytes()
    assert data[:2] == b"\xc3\x01"
    schema = _avro_schema(kind)
    # avro's own fingerprint (of the logical-type-free form, see test_codecs_schemas)
    plain = avro.schema.parse(json.dumps(strip_logical_types(json.loads(str(schema)))))
    assert data[2:10] == plain.fingerprint("CRC-64-AVRO")
    body = io.BytesIO(data[10:])
    record = avro.io.DatumReader(schema, schema).read(avro.io.BinaryDecoder(body))
    assert body.tell() == len(data) - 10
    assert _millis(record) == _expected(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_apache_avro_writes_the_same_body(kind: str) -> None:
    data = (GOLDEN / f"{kind}.bin").read_bytes()
    schema = avro.schema.parse(json.dumps(strip_logical_types(json.loads(
        (SCHEMAS_DIR / f"{kind}.avsc").read_text(encoding="utf-8")))))
    out = io.BytesIO()
    avro.io.DatumWriter(schema).write(_expected(kind), avro.io.BinaryEncoder(out))
    assert out.getvalue() == data[10:]


def test_every_kind_has_vectors() -> None:
    assert sorted(p.stem for p in Path(GOLDEN).glob("*.bin")) == sorted(KINDS)
