"""Reading a history to replay: JSON Lines or Avro object container files.

JSON Lines are the records of docs/records.md, one per line, as ``leadflow tail`` prints
them and ``leadflow demo --export-dir`` writes them; Avro container files are read with
fastavro (``timestamp-millis`` values come back as datetimes and are turned into epoch ms).
Each record is told apart by its fields (a LeadEvent has ``attributes``/``source``, a
SalesOutcome ``amount``/``reason``), so one file may hold both kinds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from streams.codecs import problems
from streams.domain import LeadEvent, SalesOutcome
from streams.domain.models import SALES_OUTCOME_TYPES

AVRO_MAGIC = b"Obj\x01"
PROGRESS_EVERY = 5000  # records between progress reports


class HistoryError(ValueError):
    """The history file cannot be read; the message names the file (and line)."""


@dataclass
class History:
    # valid records in file order (files in the order given): per input, the offset order
    inputs: list[LeadEvent | SalesOutcome] = field(default_factory=list)
    events: int = 0
    outcomes: int = 0
    invalid: int = 0  # records the worker would dead-letter (validation)
    invalid_examples: list[str] = field(default_factory=list)
    # per file: how many records of each kind ("LeadEvent", "SalesOutcome") it holds
    kinds: dict[Path, dict[str, int]] = field(default_factory=dict)


def _ms(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as err:
        raise HistoryError(f"{path}: cannot read ({err.strerror or err})") from None
    if head == AVRO_MAGIC:
        import fastavro

        out: list[tuple[str, dict[str, Any]]] = []
        try:
            with path.open("rb") as f:
                for i, rec in enumerate(fastavro.reader(f), 1):
                    if not isinstance(rec, dict):
                        raise HistoryError(f"{path}: record {i} is not an Avro record")
                    rec = {k: _ms(v) for k, v in rec.items()}
                    out.append((f"{path}#{i}", rec))
        except HistoryError:
            raise
        except Exception as err:
            raise HistoryError(f"{path}: not a readable Avro container file ({err})") from None
        return out
    try:
        data = path.read_bytes()
    except OSError as err:
        raise HistoryError(f"{path}: cannot read ({err.strerror or err})") from None
    if b"\r" in data:  # text mode also ends lines at a lone CR: keep its exact line numbers
        return _json_lines_text(path)
    out = []
    loads = orjson.loads
    for n, raw in enumerate(data.split(b"\n"), 1):
        try:
            rec = loads(raw)  # the fast path: valid UTF-8 JSON (what tail and demo write)
            if type(rec) is dict and float in map(type, rec.values()):
                # orjson reads an int past 64 bits as a float: let json read such lines
                raise orjson.JSONDecodeError("", "", 0)
        except orjson.JSONDecodeError:
            # Blank lines, odd whitespace, invalid UTF-8, NaN, big ints: exactly as before.
            got = _json_line(path, n, raw.decode("utf-8", errors="replace"))
            if got is None:
                continue
            rec = got[1]
        if not isinstance(rec, dict):
            raise HistoryError(f"{path}:{n}: a JSON line must hold one record (object)")
        out.append((f"{path}:{n}", rec))
    return out


def _json_line(path: Path, n: int, line: str) -> tuple[str, dict[str, Any]] | None:
    """One line with the standard library (None for a blank line)."""
    line = line.strip()
    if not line:
        return None
    try:
        rec = json.loads(line)
    except ValueError:
        raise HistoryError(f"{path}:{n}: not a JSON record (expected JSON Lines or "
                           "an Avro container file)") from None
    if not isinstance(rec, dict):
        raise HistoryError(f"{path}:{n}: a JSON line must hold one record (object)")
    return f"{path}:{n}", rec


def _json_lines_text(path: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            got = _json_line(path, n, line)
            if got is not None:
                out.append(got)
    return out


def kind_of(rec: dict[str, Any]) -> str | None:
    if "attributes" in rec or "source" in rec:
        return "LeadEvent"
    if "amount" in rec or "reason" in rec or rec.get("type") in SALES_OUTCOME_TYPES:
        return "SalesOutcome"
    return None


def read_history(paths: list[Path], now_ms: int,
                 progress: Callable[[int], None] | None = None) -> History:
    """Every input record of ``paths``, validated as the worker would, in file order.

    Never sorted by time: each input (lead events, sales outcomes) keeps the order of its
    files, which is the offset order the worker reads them in (an export that is not in
    offset order is what the worker would have read); the replay merges them per partition
    in event time, as the worker does.

    ``progress`` (for a progress bar) is told the records read so far, now and then."""
    h = History()
    done = 0
    for path in paths:
        kinds = h.kinds.setdefault(path, {"LeadEvent": 0, "SalesOutcome": 0})
        for where, rec in _records(path):
            done += 1
            if progress is not None and not done % PROGRESS_EVERY:
                progress(done)
            kind = kind_of(rec)
            if kind is None:
                raise HistoryError(f"{where}: neither a LeadEvent nor a SalesOutcome "
                                   "(see docs/records.md)")
            kinds[kind] += 1
            bad = problems(kind, rec, now_ms)
            model: LeadEvent | SalesOutcome
            try:
                if not bad:
                    model = (LeadEvent.from_record(rec) if kind == "LeadEvent"
                             else SalesOutcome.from_record(rec))
            except (KeyError, ValueError, TypeError) as err:
                bad = [f"{type(err).__name__}: {err}"]
            if bad:
                h.invalid += 1
                if len(h.invalid_examples) < 5:
                    h.invalid_examples.append(f"{where}: {'; '.join(bad)}")
                continue
            h.inputs.append(model)
            if kind == "LeadEvent":
                h.events += 1
            else:
                h.outcomes += 1
    if progress is not None:
        progress(done)
    return h
