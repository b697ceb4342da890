"""leadflow record codecs: Avro schemas, single-object (or Confluent) framing, validation,
dead letters.

    codecs = AvroCodecs()                       # schemas/ + schemas/history/, single-object
    data = codecs.encode("LeadEvent", record)   # bytes
    record = codecs.decode("LeadEvent", data)   # dict, docs/records.md shape
    kind, record = codecs.decode_lead_input(data)
    validate("LeadEvent", record, now_ms)       # raises ValidationError
    dead_letter(topic, partition, offset, key, value, error, failed_at_ms)  # DeadLetter dict
"""

from __future__ import annotations

from functools import lru_cache

from streams.codecs.core import AvroCodecs, Record
from streams.codecs.dead_letters import dead_letter, error_type_of, safe_message
from streams.codecs.errors import (
    ERROR_TYPES,
    CodecError,
    DecodeError,
    ErrorType,
    SchemaError,
    UnknownSchemaId,
    ValidationError,
)
from streams.codecs.faust_codecs import (
    LEAD_INPUT_CODEC,
    AvroRecordCodec,
    LeadInputCodec,
    codec_name,
    register_faust_codecs,
)
from streams.codecs.registry import HttpSchemaRegistry, SchemaRegistryError
from streams.codecs.schemas import INPUT_KINDS, KINDS, LoadedSchema, SchemaCatalog
from streams.codecs.validation import DEFAULT_LIMITS, Limits, problems, validate
from streams.codecs.wire import (
    ConfluentFormat,
    InMemoryResolver,
    SchemaResolver,
    SingleObjectFormat,
    WireFormat,
)


@lru_cache(maxsize=1)
def default_codecs() -> AvroCodecs:
    """The process-wide single-object ``AvroCodecs`` (schemas loaded once)."""
    return AvroCodecs()


def make_codecs(
    schema_registry_url: str | None = None, resolver: SchemaResolver | None = None
) -> AvroCodecs:
    """Codecs for the configured wire format (the caller reads the settings).

    Without a registry URL or resolver: single-object encoding (the shared
    ``default_codecs()``). Otherwise the Confluent wire format over ``resolver``, by default
    an ``HttpSchemaRegistry(schema_registry_url)``.
    """
    if schema_registry_url is None and resolver is None:
        return default_codecs()
    if resolver is None:
        assert schema_registry_url is not None
        resolver = HttpSchemaRegistry(schema_registry_url)
    catalog = SchemaCatalog.load()
    return AvroCodecs(catalog, ConfluentFormat(catalog, resolver))


__all__ = [
    "DEFAULT_LIMITS",
    "ERROR_TYPES",
    "INPUT_KINDS",
    "KINDS",
    "LEAD_INPUT_CODEC",
    "AvroCodecs",
    "AvroRecordCodec",
    "CodecError",
    "ConfluentFormat",
    "DecodeError",
    "ErrorType",
    "HttpSchemaRegistry",
    "InMemoryResolver",
    "LeadInputCodec",
    "Limits",
    "LoadedSchema",
    "Record",
    "SchemaCatalog",
    "SchemaError",
    "SchemaRegistryError",
    "SchemaResolver",
    "SingleObjectFormat",
    "UnknownSchemaId",
    "ValidationError",
    "WireFormat",
    "codec_name",
    "dead_letter",
    "default_codecs",
    "error_type_of",
    "make_codecs",
    "problems",
    "register_faust_codecs",
    "safe_message",
    "validate",
]
