"""Faust codecs over ``AvroCodecs``: ``value_serializer="avro-leadevent"`` and friends.

Names: ``avro-<kind lowercased>`` for each record kind (``avro-leadevent``,
``avro-salesoutcome``, ``avro-stagetransition``, ``avro-qualifiedlead``,
``avro-marketingfeedback``, ``avro-slareport``, ``avro-deadletter``) and ``avro-leadinput``,
which reads either input and yields ``{"kind": "LeadEvent" | "SalesOutcome", "record": {...}}``
(it writes the same envelope). Decoding errors are the typed ``CodecError`` subclasses
(Faust wraps them in its ValueDecodeError, keeping them as ``__cause__``).
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs as faust_codecs

from streams.codecs.core import AvroCodecs
from streams.codecs.errors import SchemaError
from streams.codecs.schemas import INPUT_KINDS

LEAD_INPUT_CODEC = "avro-leadinput"


def codec_name(kind: str) -> str:
    return f"avro-{kind.lower()}"


class AvroRecordCodec(faust_codecs.Codec):
    """One record kind, dict in, bytes out."""

    def __init__(self, codecs: AvroCodecs, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codecs = codecs
        self.kind = kind

    def _dumps(self, obj: Any) -> bytes:
        return self.codecs.encode(self.kind, obj)

    def _loads(self, s: bytes) -> Any:
        return self.codecs.decode(self.kind, s)


class LeadInputCodec(faust_codecs.Codec):
    """Either input kind, as ``{"kind": ..., "record": ...}``."""

    def __init__(self, codecs: AvroCodecs, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codecs = codecs

    def _dumps(self, obj: Any) -> bytes:
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if kind not in INPUT_KINDS:
            raise SchemaError(f"expected {{'kind': one of {INPUT_KINDS}, 'record': {{...}}}}")
        return self.codecs.encode(kind, obj["record"])

    def _loads(self, s: bytes) -> Any:
        kind, record = self.codecs.decode_lead_input(s)
        return {"kind": kind, "record": record}


def register_faust_codecs(codecs: AvroCodecs | None = None) -> dict[str, faust_codecs.Codec]:
    """Register every leadflow codec with Faust; returns them by name. Idempotent."""
    c = codecs if codecs is not None else AvroCodecs()
    made: dict[str, faust_codecs.Codec] = {
        codec_name(kind): AvroRecordCodec(c, kind) for kind in c.kinds
    }
    made[LEAD_INPUT_CODEC] = LeadInputCodec(c)
    for name, codec in made.items():
        faust_codecs.register(name, codec)
    return made
