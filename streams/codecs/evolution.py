"""Schema evolution guard: every ``schemas/<Record>.avsc`` must be backward AND forward
compatible with each ``schemas/history/<Record>.v<N>.avsc``.

Backward: the current schema reads data written with the old one. Forward: the old schema
reads data written with the current one (old consumers survive new producers). Uses the
Apache ``avro`` package's ``ReaderWriterCompatibilityChecker``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from streams.codecs.schemas import HISTORY_FILE
from streams.paths import SCHEMA_HISTORY_DIR, SCHEMAS_DIR


@dataclass(frozen=True)
class Incompatibility:
    record: str
    version: str
    direction: str  #: "backward" (current reads old) or "forward" (old reads current)
    detail: str

    def __str__(self) -> str:
        return f"{self.record} vs {self.version}: not {self.direction} compatible: {self.detail}"


def _parse(path: Path) -> avro.schema.Schema:
    with path.open(encoding="utf-8") as fh:
        return avro.schema.parse(json.dumps(json.load(fh)))


def compatibility_problems(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str]:
    """Why ``reader`` cannot read data written with ``writer`` (empty when it can)."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return [
        f"{'/'.join(str(x) for x in result.locations)}: {m}".strip()
        for m in (result.messages or {"incompatible"})
    ]


def check_history(
    schemas_dir: Path = SCHEMAS_DIR, history_dir: Path = SCHEMA_HISTORY_DIR
) -> list[Incompatibility]:
    """Every incompatibility between the current schemas and their historical versions."""
    out: list[Incompatibility] = []
    if not history_dir.is_dir():
        return out
    for path in sorted(history_dir.glob("*.avsc")):
        m = HISTORY_FILE.match(path.name)
        version = path.name
        if m is None:
            out.append(Incompatibility(path.stem, version, "named", "not <Record>.v<N>.avsc"))
            continue
        current_path = schemas_dir / f"{m['record']}.avsc"
        if not current_path.is_file():
            out.append(Incompatibility(m["record"], version, "backward", "no current schema"))
            continue
        current, old = _parse(current_path), _parse(path)
        for direction, reader, writer in (
            ("backward", current, old),
            ("forward", old, current),
        ):
            for detail in compatibility_problems(reader, writer):
                out.append(Incompatibility(m["record"], version, direction, detail))
    return out
