"""Load the Avro schemas of ``schemas/`` (current) and ``schemas/history/`` (older versions).

The ``.avsc`` files are the single source of truth: nothing here restates a field list. Each
top-level file is self-contained (shared named types such as ``Stage`` are defined inline in
every file that uses them), so any Avro library can read one file on its own.

For the hot path each schema is parsed once by fastavro from a copy with the ``logicalType``
annotations removed, so that timestamps stay ``int`` epoch milliseconds (the shape of
``docs/records.md``) instead of round-tripping through ``datetime``. The Parsing Canonical Form
drops ``logicalType``, so the bytes and the fingerprint are the same as for the annotated
schema (``tests/unit/codecs`` checks that).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint as _fa_fingerprint
from fastavro.schema import to_parsing_canonical_form

from streams.paths import SCHEMA_HISTORY_DIR, SCHEMAS_DIR

NAMESPACE = "leadflow"
CURRENT = "current"
HISTORY_FILE = re.compile(r"^(?P<record>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[0-9]+)\.avsc$")

#: Record kinds (file stems of ``schemas/*.avsc``) the product defines.
KINDS: tuple[str, ...] = (
    "LeadEvent",
    "SalesOutcome",
    "StageTransition",
    "QualifiedLead",
    "MarketingFeedback",
    "SlaReport",
    "DeadLetter",
    "ShadowDiff",
    "AccountQualified",
)
INPUT_KINDS: tuple[str, ...] = ("LeadEvent", "SalesOutcome")


def strip_logical_types(schema: Any) -> Any:
    """Return a deep copy of a schema (JSON form) without any ``logicalType`` annotation."""
    if isinstance(schema, dict):
        return {k: strip_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [strip_logical_types(v) for v in schema]
    return schema


def canonical_form(schema: Any) -> str:
    """Parsing Canonical Form of a schema given as JSON-like data."""
    return str(to_parsing_canonical_form(schema))


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO (Rabin) fingerprint of ``data`` as an unsigned int (``"null"`` gives
    7195948357588979594, the spec's vector). fastavro returns its little-endian bytes as hex.
    """
    return int.from_bytes(bytes.fromhex(_fa_fingerprint(data.decode("utf-8"), "CRC-64-AVRO")),
                          "little")


def fingerprint_bytes(schema: Any) -> bytes:
    """8-byte little-endian CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form."""
    return struct.pack("<Q", crc64_avro(canonical_form(schema).encode("utf-8")))


@dataclass(frozen=True, eq=False)
class LoadedSchema:
    """One version of one record schema, parsed once."""

    kind: str  #: short record name, e.g. ``LeadEvent``
    version: str  #: ``current`` or ``v1``, ``v2``...
    path: Path | None
    json: Mapping[str, Any]  #: the schema as written (with logical types and docs)
    parsed: Any = field(repr=False)  #: fastavro-parsed, logical types stripped: the hot path
    canonical: str = field(repr=False)
    fingerprint: bytes = field(repr=False)  #: 8 bytes, little-endian

    @property
    def full_name(self) -> str:
        return f"{self.json.get('namespace', NAMESPACE)}.{self.json['name']}"

    @property
    def text(self) -> str:
        """The schema as compact JSON text (what a schema registry stores)."""
        return json.dumps(self.json, separators=(",", ":"))

    @classmethod
    def from_json(
        cls, schema: Mapping[str, Any], version: str = CURRENT, path: Path | None = None
    ) -> LoadedSchema:
        if not isinstance(schema, Mapping) or schema.get("type") != "record":
            raise ValueError("a top-level schema must be a record")
        stripped = strip_logical_types(schema)
        parsed = fastavro.parse_schema(stripped, named_schemas={})
        canonical = canonical_form(schema)
        return cls(
            kind=str(schema["name"]).rsplit(".", 1)[-1],
            version=version,
            path=path,
            json=schema,
            parsed=parsed,
            canonical=canonical,
            fingerprint=struct.pack("<Q", crc64_avro(canonical.encode("utf-8"))),
        )

    @classmethod
    def from_file(cls, path: Path, version: str = CURRENT) -> LoadedSchema:
        with path.open(encoding="utf-8") as fh:
            return cls.from_json(json.load(fh), version=version, path=path)


class SchemaCatalog:
    """Current schemas by kind, plus every known version (current and history) by fingerprint."""

    def __init__(self, current: Iterable[LoadedSchema], history: Iterable[LoadedSchema] = ()):
        self.current: dict[str, LoadedSchema] = {}
        for s in current:
            if s.kind in self.current:
                raise ValueError(f"two current schemas for {s.kind}")
            self.current[s.kind] = s
        self.history: dict[str, list[LoadedSchema]] = {}
        self.by_fingerprint: dict[bytes, LoadedSchema] = {}
        for s in history:
            if s.kind not in self.current:
                raise ValueError(f"history schema {s.version} of {s.kind} has no current schema")
            self.history.setdefault(s.kind, []).append(s)
            self.by_fingerprint.setdefault(s.fingerprint, s)
        for s in self.current.values():
            # current wins over an identical historical version
            self.by_fingerprint[s.fingerprint] = s

    @classmethod
    def load(
        cls, schemas_dir: Path = SCHEMAS_DIR, history_dir: Path | None = SCHEMA_HISTORY_DIR
    ) -> SchemaCatalog:
        current = [LoadedSchema.from_file(p) for p in sorted(schemas_dir.glob("*.avsc"))]
        for s in current:
            if s.path is not None and s.path.stem != s.kind:
                raise ValueError(f"{s.path.name} defines {s.kind}; name the file {s.kind}.avsc")
        return cls(current, load_history(history_dir) if history_dir is not None else [])

    def get(self, kind: str) -> LoadedSchema:
        try:
            return self.current[kind]
        except KeyError:
            raise KeyError(f"unknown record kind {kind!r}; known: {sorted(self.current)}") from None

    def by_full_name(self, full_name: str) -> LoadedSchema | None:
        for s in self.current.values():
            if s.full_name == full_name:
                return s
        return None


def load_history(history_dir: Path) -> list[LoadedSchema]:
    """Every ``<Record>.v<N>.avsc`` in ``history_dir``, oldest first per record."""
    found: list[tuple[str, int, Path]] = []
    if not history_dir.is_dir():
        return []
    for p in history_dir.glob("*.avsc"):
        m = HISTORY_FILE.match(p.name)
        if m is None:
            raise ValueError(f"history file {p.name} is not named <Record>.v<N>.avsc")
        found.append((m["record"], int(m["version"]), p))
    out = []
    for record, version, p in sorted(found):
        s = LoadedSchema.from_file(p, version=f"v{version}")
        if s.kind != record:
            raise ValueError(f"{p.name} defines {s.kind}, not {record}")
        out.append(s)
    return out
