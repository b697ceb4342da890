"""Typed codec failures. Every failure carries an ``error_type`` naming its DeadLetter class.

Messages are built by this package from field names, sizes and schema names only, never from
record values, so they are safe to put in a dead letter or a log line (no emails, no names).
"""

from __future__ import annotations

from typing import ClassVar, Literal

ErrorType = Literal["DECODE", "SCHEMA", "VALIDATION", "PROCESSING"]

ERROR_TYPES: tuple[ErrorType, ...] = ("DECODE", "SCHEMA", "VALIDATION", "PROCESSING")


class CodecError(Exception):
    """Base class of every error the codecs raise on bad input."""

    error_type: ClassVar[ErrorType] = "PROCESSING"


class DecodeError(CodecError):
    """Not our Avro at all: bad magic, truncated header, unknown fingerprint or schema id."""

    error_type: ClassVar[ErrorType] = "DECODE"


class SchemaError(CodecError):
    """The bytes (or a record to encode) do not fit the schema: bad body, trailing bytes,
    an enum symbol the reader cannot map, or a record of another type than expected."""

    error_type: ClassVar[ErrorType] = "SCHEMA"


class ValidationError(CodecError):
    """The record fits the schema but is not acceptable (see ``streams.codecs.validation``).

    ``problems`` lists every problem found, each a short message without record values.
    """

    error_type: ClassVar[ErrorType] = "VALIDATION"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class UnknownSchemaId(LookupError):
    """Raised by a schema resolver that does not know a schema id (becomes a DecodeError)."""
