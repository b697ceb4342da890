"""``AvroCodecs``: encode and decode leadflow records (plain dicts, docs/records.md shape).

Readers and writers compiled per schema (``compiled.py``) do the common case; fastavro,
on schemas parsed once, does whatever they are not sure of, so bytes and errors are
fastavro's either way. The wire format (single-object by default) names the writer schema;
a record written with an older schema version is decoded with that version and resolved to
the current schema, so new fields get their defaults.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from streams.codecs.compiled import Reader, Writer, compile_reader, compile_writer
from streams.codecs.errors import CodecError, SchemaError
from streams.codecs.schemas import INPUT_KINDS, LoadedSchema, SchemaCatalog
from streams.codecs.validation import validate
from streams.codecs.wire import SingleObjectFormat, WireFormat

Record = dict[str, Any]


def _none(parsed: Any) -> None:
    return None


class AvroCodecs:
    """All leadflow record codecs, loaded once. Thread-safe for encode/decode."""

    def __init__(
        self, catalog: SchemaCatalog | None = None, wire_format: WireFormat | None = None,
        *, compiled: bool = True,
    ) -> None:
        self.catalog = catalog if catalog is not None else SchemaCatalog.load()
        self.wire_format = wire_format if wire_format is not None else SingleObjectFormat(
            self.catalog
        )
        # Compiled per schema on first use (None: not covered, fastavro only). With
        # ``compiled=False`` fastavro does everything: the reference the tests compare with.
        self._compile_reader = compile_reader if compiled else _none
        self._compile_writer = compile_writer if compiled else _none
        self._readers: dict[LoadedSchema, Reader | None] = {}
        self._writers: dict[LoadedSchema, Writer | None] = {}

    @property
    def kinds(self) -> list[str]:
        return sorted(self.catalog.current)

    # -- encoding -------------------------------------------------------------------------

    def encode(self, kind: str, record: Record) -> bytes:
        """Header + Avro binary body of ``record`` with the current ``kind`` schema.

        Raises ``SchemaError`` when the record does not fit the schema.
        """
        schema = self.catalog.get(kind)
        return self.encode_with(schema, record)

    def encode_with(self, schema: LoadedSchema, record: Record) -> bytes:
        """Like ``encode`` with an explicit (possibly historical) writer schema."""
        try:
            fast = self._writers[schema]
        except KeyError:
            fast = self._writers[schema] = self._compile_writer(schema.parsed)
        if fast is not None:
            try:
                body = fast(record)
            except Exception:  # not sure of this record: fastavro decides, bytes or error
                pass
            else:
                return self.wire_format.header(schema) + body
        out = io.BytesIO()
        out.write(self.wire_format.header(schema))
        try:
            schemaless_writer(out, schema.parsed, record)
        except Exception as exc:  # fastavro raises ValueError, TypeError, KeyError...
            raise SchemaError(
                f"record does not fit schema {schema.full_name} ({type(exc).__name__})"
            ) from exc
        return out.getvalue()

    # -- decoding -------------------------------------------------------------------------

    def decode(self, kind: str, data: bytes) -> Record:
        """The ``kind`` record in ``data``; raises ``DecodeError`` or ``SchemaError``."""
        return self._decode(data, (kind,))[1]

    def decode_any(self, data: bytes, kinds: Iterable[str] | None = None) -> tuple[str, Record]:
        """(kind, record) for whichever known kind (or one of ``kinds``) wrote ``data``."""
        return self._decode(data, tuple(kinds) if kinds is not None else None)

    def decode_lead_input(self, data: bytes) -> tuple[str, Record]:
        """("LeadEvent" | "SalesOutcome", record) — the worker's inputs, told apart by schema."""
        return self._decode(data, INPUT_KINDS)

    def decode_valid(self, kind: str, data: bytes, now_ms: int) -> Record:
        """``decode`` then ``validate``; raises any of the three typed errors."""
        record = self.decode(kind, data)
        validate(kind, record, now_ms)
        return record

    def _decode(self, data: bytes, kinds: tuple[str, ...] | None) -> tuple[str, Record]:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SchemaError(f"expected bytes, got {type(data).__name__}")
        writer, offset = self.wire_format.writer_schema(data)
        if kinds is not None and writer.kind not in kinds:
            raise SchemaError(f"payload is a {writer.kind}, expected {' or '.join(kinds)}")
        reader = self.catalog.get(writer.kind)
        if writer is reader and type(data) is bytes:
            try:
                fast = self._readers[writer]
            except KeyError:
                fast = self._readers[writer] = self._compile_reader(writer.parsed)
            if fast is not None:
                try:
                    fast_record, end = fast(data, offset)
                except Exception:  # not sure of this payload: fastavro decides, record or error
                    pass
                else:
                    if end == len(data):
                        return writer.kind, fast_record
        bio = io.BytesIO(data)
        bio.seek(offset)
        try:
            if writer is reader:
                record = schemaless_reader(bio, writer.parsed, None)
            else:
                record = schemaless_reader(bio, writer.parsed, reader.parsed)
        except CodecError:
            raise
        except Exception as exc:  # EOFError, IndexError, UnicodeDecodeError, resolution...
            raise SchemaError(
                f"payload body does not fit schema {writer.full_name} {writer.version}"
                f" ({type(exc).__name__})"
            ) from exc
        if bio.tell() != len(data):
            raise SchemaError(
                f"{len(data) - bio.tell()} trailing bytes after a {writer.kind} body"
            )
        if not isinstance(record, dict):
            raise SchemaError(f"payload did not decode to a {writer.kind} record")
        return writer.kind, record
