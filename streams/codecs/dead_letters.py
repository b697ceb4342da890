"""Turn any failure into a ``DeadLetter`` record carrying the original bytes."""

from __future__ import annotations

import re
from typing import Any

from streams.codecs.errors import ERROR_TYPES, CodecError, ErrorType

MAX_ERROR_CHARS = 500
_EMAIL = re.compile(r"[^\s'\"<>()\[\]{},;:]+@[^\s'\"<>()\[\]{},;:]+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def error_type_of(error: BaseException | str) -> ErrorType:
    """DECODE / SCHEMA / VALIDATION for codec errors, PROCESSING for anything else."""
    if isinstance(error, CodecError):
        return error.error_type
    return "PROCESSING"


def safe_message(error: BaseException | str, limit: int = MAX_ERROR_CHARS) -> str:
    """A short message for a dead letter, without record values.

    Codec errors are built from field names and sizes only and are kept as they are. For any
    other exception the text may quote data (``KeyError('ann@example.com')``), so quoted
    parts and anything that looks like an email address are redacted.
    """
    if isinstance(error, CodecError):
        text = str(error) or type(error).__name__
    elif isinstance(error, BaseException):
        detail = _QUOTED.sub("'…'", str(error))
        text = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    else:
        text = _QUOTED.sub("'…'", error)
    text = _EMAIL.sub("<redacted>", " ".join(text.split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: BaseException | str,
    failed_at_ms: int,
    error_type: ErrorType | None = None,
) -> dict[str, Any]:
    """A ``DeadLetter`` record (docs/records.md shape) for a record that failed.

    ``error_type`` defaults to the error's own class (``PROCESSING`` for non-codec errors).
    """
    etype = error_type if error_type is not None else error_type_of(error)
    if etype not in ERROR_TYPES:
        raise ValueError(f"error_type must be one of {ERROR_TYPES}")
    return {
        "topic": topic,
        "partition": int(partition),
        "offset": int(offset),
        "key": None if key is None else bytes(key),
        "value": None if value is None else bytes(value),
        "error_type": etype,
        "error": safe_message(error),
        "failed_at": int(failed_at_ms),
    }
