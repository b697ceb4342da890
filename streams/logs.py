"""Structured logging for leadflow: text or JSON lines, with email redaction.

    configure_logging(fmt="json", level="INFO")
    log_event(log, "ready", partitions=6)

JSON lines carry ``ts`` (ISO 8601 UTC), ``level``, ``logger``, ``msg``, the ``extra``
fields, and ``exc`` when an exception is attached. Every record passing through the handler
is redacted first: anything that looks like an email address, in the message, its
arguments, the extra fields or the exception text, becomes :data:`EMAIL_MASK`, so personal
data never reaches the logs. Settings arrive as arguments; this module reads no
environment variables.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final

__all__ = [
    "EMAIL_MASK",
    "EVENT_DEAD_LETTER",
    "EVENT_POLICY_LOADED",
    "EVENT_READY",
    "EVENT_SLA_BREACH",
    "EVENT_START",
    "EVENT_STOP",
    "THIRD_PARTY_LOGGERS",
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "configure_logging",
    "dead_letter_fields",
    "log_dead_letters",
    "log_event",
    "redact",
]

EMAIL_MASK: Final = "<email>"
EMAIL_RE: Final = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)

# Names of notable events (the ``event`` field of a log line).
EVENT_START: Final = "start"
EVENT_READY: Final = "ready"
EVENT_STOP: Final = "stop"
EVENT_POLICY_LOADED: Final = "policy_loaded"
EVENT_DEAD_LETTER: Final = "dead_letter"
EVENT_SLA_BREACH: Final = "sla_breach"

#: Libraries whose INFO lines are chatter for an operator (kafka-python alone was a third
#: of a demo run's log): kept at WARNING unless leadflow itself logs at DEBUG.
THIRD_PARTY_LOGGERS: Final = ("kafka", "aiokafka", "faust", "mode")
#: Dead letters logged one line each per call; the rest of a bad batch is one count line.
MAX_DEAD_LETTER_LINES: Final = 20

FORMATS: Final = ("text", "json")
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Attributes every LogRecord has; everything else on a record came in through ``extra``.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_HANDLER_MARK: Final = "_leadflow_handler"


def redact(value: Any) -> Any:
    """``value`` with every email-like substring masked (recursing into containers)."""
    if isinstance(value, str):
        return EMAIL_RE.sub(EMAIL_MASK, value)
    if isinstance(value, Mapping):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return redact(bytes(value).decode("utf-8", "replace"))
    return value


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Masks email addresses in a record's message, arguments, extra fields and exception.

    Installed on the handler (not a logger) so it sees records from every logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep both parts, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key, value in _extras(record).items():
            setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # exc_text (redacted) is what formatters print
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _iso(created: float) -> str:
    """``2024-06-01T12:00:00.123Z``"""
    ts = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return ts.replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            doc.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return redact_line(json.dumps(doc, default=_json_default, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """``2024-06-01T12:00:00.000Z INFO streams.worker: msg key=value ...``"""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _iso(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(
                f"{k}={json.dumps(v, default=_json_default, ensure_ascii=False)}"
                for k, v in extras.items()
            )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return redact_line(line)


def redact_line(line: str) -> str:
    """Last line of defence: mask emails in an already formatted line."""
    return EMAIL_RE.sub(EMAIL_MASK, line)


def configure_logging(
    fmt: str = "text", level: str = "INFO", stream: IO[str] | None = None
) -> logging.Handler:
    """Install leadflow's handler on the root logger (replacing one installed earlier).

    ``fmt`` is ``"text"`` or ``"json"``; ``level`` a level name. Raises ``ValueError`` with
    one clear message for anything else. Returns the handler (tests read from ``stream``).
    """
    fmt_norm = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if fmt_norm not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    level_norm = level.strip().upper() if isinstance(level, str) else level
    if level_norm not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt_norm == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level_norm)
    # LEADFLOW_LOG_LEVEL=DEBUG is the way to see the libraries' INFO and DEBUG lines too.
    library_level = "DEBUG" if level_norm == "DEBUG" else "WARNING"
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    return handler


def log_event(
    logger: logging.Logger, event: str, /, *, level: int = logging.INFO, **fields: Any
) -> None:
    """Log a notable event (start, ready, policy_loaded, dead_letter, sla_breach...).

    The message is the event name; ``event`` and ``fields`` become structured fields.
    A field whose name clashes with a LogRecord attribute is prefixed with ``field_``.
    Never pass a lead's personal data; emails are masked anyway.
    """
    extra: dict[str, Any] = {"event": event}
    for key, value in fields.items():
        extra[f"field_{key}" if key in _RESERVED or key == "event" else key] = value
    logger.log(level, event, extra=extra)


def dead_letter_fields(letter: Mapping[str, Any]) -> dict[str, Any]:
    """The loggable part of a ``DeadLetter`` record: error type, topic, partition, offset
    and the (already redacted) error message; never its key or value bytes."""
    return {
        "error_type": letter.get("error_type"),
        "topic": letter.get("topic"),
        "partition": letter.get("partition"),
        "offset": letter.get("offset"),
        "error": letter.get("error"),
    }


def log_dead_letters(logger: logging.Logger, letters: Iterable[Mapping[str, Any]], /, *,
                     limit: int = MAX_DEAD_LETTER_LINES) -> int:
    """Log one WARNING line per ``DeadLetter`` record (docs/records.md), e.g.

        dead letter VALIDATION leads.events[3]@1234: unknown lead

    with ``event=dead_letter`` and the fields of :func:`dead_letter_fields`. After ``limit``
    lines the rest are one summary line (a batch of garbage must not flood the log; they
    are all on the dead-letter topic). Returns how many letters there were."""
    n = 0
    for letter in letters:
        n += 1
        if n > limit:
            continue
        f = dead_letter_fields(letter)
        logger.warning("dead letter %s %s[%s]@%s: %s", f["error_type"], f["topic"],
                       f["partition"], f["offset"], f["error"],
                       extra={"event": EVENT_DEAD_LETTER, **f})
    if n > limit:
        logger.warning("%d more dead letter(s) in this batch (read them with `leadflow tail "
                       "dead_letter`)", n - limit,
                       extra={"event": EVENT_DEAD_LETTER, "count": n - limit})
    return n
