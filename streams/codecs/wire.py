"""Wire formats: how the writer's schema is named in front of the Avro binary body.

* ``SingleObjectFormat`` — the Avro spec's single-object encoding: ``C3 01``, the 8-byte
  little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, body.
  Readable by any Avro library without a registry. The default.
* ``ConfluentFormat`` — Confluent's wire format: magic ``00``, 4-byte big-endian schema id,
  body. Ids are looked up through an injectable ``SchemaResolver`` (an HTTP schema registry
  client in production, ``InMemoryResolver`` in tests), used when a registry is configured.
"""

from __future__ import annotations

import json
import struct
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

from streams.codecs.errors import DecodeError, UnknownSchemaId
from streams.codecs.schemas import LoadedSchema, SchemaCatalog

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
SINGLE_OBJECT_HEADER_LEN = 10
CONFLUENT_MAGIC = b"\x00"
CONFLUENT_HEADER_LEN = 5


class WireFormat(ABC):
    """Frames Avro bodies with a reference to their writer schema, and resolves it back."""

    name: str = "abstract"

    @abstractmethod
    def header(self, schema: LoadedSchema) -> bytes:
        """Bytes to put before a body written with ``schema``."""

    @abstractmethod
    def writer_schema(self, data: bytes) -> tuple[LoadedSchema, int]:
        """The writer schema named by ``data``'s header and the offset of the body.

        Raises ``DecodeError`` when the header is missing, malformed or names an unknown schema.
        """


class SingleObjectFormat(WireFormat):
    """Avro single-object encoding; writer schemas are found by fingerprint in a catalog."""

    name = "single-object"

    def __init__(self, catalog: SchemaCatalog) -> None:
        self.catalog = catalog

    def header(self, schema: LoadedSchema) -> bytes:
        return SINGLE_OBJECT_MAGIC + schema.fingerprint

    def writer_schema(self, data: bytes) -> tuple[LoadedSchema, int]:
        if len(data) < SINGLE_OBJECT_HEADER_LEN:
            raise DecodeError(
                f"payload of {len(data)} bytes is shorter than the single-object header"
            )
        if data[:2] != SINGLE_OBJECT_MAGIC:
            raise DecodeError("payload does not start with the Avro single-object marker C3 01")
        fp = bytes(data[2:SINGLE_OBJECT_HEADER_LEN])
        schema = self.catalog.by_fingerprint.get(fp)
        if schema is None:
            raise DecodeError(f"unknown schema fingerprint {fp.hex()}")
        return schema, SINGLE_OBJECT_HEADER_LEN


class SchemaResolver(Protocol):
    """What ``ConfluentFormat`` needs from a schema registry."""

    def register(self, subject: str, schema_text: str) -> int:
        """Id of ``schema_text`` under ``subject`` (registering it if needed)."""
        ...

    def schema_text(self, schema_id: int) -> str:
        """Schema JSON text for an id; raises ``UnknownSchemaId`` when there is none."""
        ...


def record_name_subject(schema: LoadedSchema) -> str:
    """Confluent RecordNameStrategy: the subject is the record's full name."""
    return schema.full_name


class ConfluentFormat(WireFormat):
    """Confluent wire format (magic 0, 4-byte big-endian schema id) over a ``SchemaResolver``.

    Writer schemas fetched by id need not be in the local catalog: any version of a known
    record (same full name) is parsed once, cached, and resolved to the current reader schema.
    Errors of the resolver other than ``UnknownSchemaId`` (network...) propagate unchanged:
    they are not the record's fault and must not dead-letter it.
    """

    name = "confluent"

    def __init__(
        self,
        catalog: SchemaCatalog,
        resolver: SchemaResolver,
        subject: Callable[[LoadedSchema], str] = record_name_subject,
    ) -> None:
        self.catalog = catalog
        self.resolver = resolver
        self.subject = subject
        self._ids: dict[tuple[str, bytes], int] = {}  # (subject, fingerprint) -> registry id
        self._by_id: dict[int, LoadedSchema] = {}
        self._lock = threading.Lock()

    def header(self, schema: LoadedSchema) -> bytes:
        key = (self.subject(schema), schema.fingerprint)
        sid = self._ids.get(key)
        if sid is None:
            with self._lock:
                sid = self.resolver.register(key[0], schema.text)
                self._ids[key] = sid
                self._by_id.setdefault(sid, schema)
        return CONFLUENT_MAGIC + struct.pack(">I", sid)

    def writer_schema(self, data: bytes) -> tuple[LoadedSchema, int]:
        if len(data) < CONFLUENT_HEADER_LEN:
            raise DecodeError(f"payload of {len(data)} bytes is shorter than the Confluent header")
        if data[:1] != CONFLUENT_MAGIC:
            raise DecodeError("payload does not start with the Confluent magic byte 00")
        (sid,) = struct.unpack(">I", data[1:CONFLUENT_HEADER_LEN])
        schema = self._by_id.get(sid)
        if schema is None:
            schema = self._fetch(sid)
        return schema, CONFLUENT_HEADER_LEN

    def _fetch(self, sid: int) -> LoadedSchema:
        try:
            text = self.resolver.schema_text(sid)
        except UnknownSchemaId:
            raise DecodeError(f"unknown schema id {sid}") from None
        try:
            loaded = LoadedSchema.from_json(json.loads(text), version=f"registry:{sid}")
        except Exception as exc:
            raise DecodeError(f"schema id {sid} is not a usable Avro record schema") from exc
        current = self.catalog.by_full_name(loaded.full_name)
        if current is None:
            raise DecodeError(f"schema id {sid} is {loaded.full_name}, not a leadflow record")
        if current.fingerprint == loaded.fingerprint:
            loaded = current
        with self._lock:
            self._by_id[sid] = loaded
        return loaded


class InMemoryResolver:
    """A schema registry in a dict: ids from 1, one id per distinct schema text."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._texts: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}

    def register(self, subject: str, schema_text: str) -> int:
        sid = self._ids.get(schema_text)
        if sid is None:
            sid = len(self._texts) + 1
            self._ids[schema_text] = sid
            self._texts[sid] = schema_text
        versions = self.subjects.setdefault(subject, [])
        if sid not in versions:
            versions.append(sid)
        return sid

    def schema_text(self, schema_id: int) -> str:
        try:
            return self._texts[schema_id]
        except KeyError:
            raise UnknownSchemaId(schema_id) from None
