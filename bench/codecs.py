"""Encode/decode rates of a realistic LeadEvent: our fastavro codec vs the Apache avro package.

    .venv/bin/python bench/codecs.py [--seconds 1.0] [--repeat 3]

Every row produces and consumes the same single-object bytes (C3 01 + fingerprint + body);
rates are records per second, best of ``--repeat`` runs of about ``--seconds`` each.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import avro
import avro.io
import avro.schema
import fastavro

from streams.codecs import AvroCodecs
from streams.codecs.schemas import strip_logical_types

RECORD: dict[str, Any] = {
    "event_id": "web-7f3a9c1e-5b2d-4c61-9a0e-2f1d3c4b5a69",
    "lead_id": "L-000042",
    "type": "PRICING_PAGE_VISIT",
    "occurred_at": 1_767_225_601_234,
    "source": "web-analytics",
    "campaign_id": "cmp-2026-q1-webinar-emea",
    "asset_id": "asset-pricing-page",
    "rep_id": None,
    "attributes": {
        "email": "ann.example@example.com",
        "company": "Example Industrial GmbH",
        "title": "Head of Operations",
        "country": "DE",
        "employees": "250",
        "industry": "manufacturing",
        "budget": "approved",
        "need": "yes",
    },
}


def rate(fn: Callable[[], Any], seconds: float, repeat: int) -> float:
    """Best records/s of ``repeat`` timed runs of about ``seconds`` each."""
    n = 1
    while True:  # calibrate the batch size
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took > 0.05:
            break
        n *= 2
    batch = max(1, int(n * seconds / took))
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        best = max(best, batch / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    codecs = AvroCodecs()
    loaded = codecs.catalog.get("LeadEvent")
    header = b"\xc3\x01" + loaded.fingerprint
    data = codecs.encode("LeadEvent", RECORD)

    # fastavro with the logical types kept: timestamps become datetime and back
    logical = fastavro.parse_schema(dict(loaded.json), named_schemas={})
    dt_record = dict(RECORD, occurred_at=datetime.fromtimestamp(
        RECORD["occurred_at"] / 1000, tz=UTC))

    def fa_logical_encode() -> bytes:
        out = io.BytesIO()
        out.write(header)
        fastavro.schemaless_writer(out, logical, dt_record)
        return out.getvalue()

    def fa_logical_decode() -> Any:
        bio = io.BytesIO(data)
        bio.seek(10)
        return fastavro.schemaless_reader(bio, logical, None)

    # Apache avro, its fastest configuration: schema without logical types (int millis),
    # reader/writer objects built once
    plain = avro.schema.parse(json.dumps(strip_logical_types(loaded.json)))
    writer = avro.io.DatumWriter(plain)
    reader = avro.io.DatumReader(plain, plain)

    def avro_encode() -> bytes:
        out = io.BytesIO()
        out.write(header)
        writer.write(RECORD, avro.io.BinaryEncoder(out))
        return out.getvalue()

    def avro_decode() -> Any:
        bio = io.BytesIO(data)
        bio.seek(10)
        return reader.read(avro.io.BinaryDecoder(bio))

    assert avro_encode() == data == fa_logical_encode()
    assert avro_decode() == RECORD == codecs.decode("LeadEvent", data)

    rows = [
        ("leadflow AvroCodecs (fastavro, int millis)",
         lambda: codecs.encode("LeadEvent", RECORD), lambda: codecs.decode("LeadEvent", data)),
        ("fastavro with logicalType (datetime)", fa_logical_encode, fa_logical_decode),
        (f"Apache avro {avro.__version__} DatumWriter/Reader", avro_encode, avro_decode),
    ]
    print(f"LeadEvent, {len(data)} bytes single-object; Python {platform.python_version()}, "
          f"fastavro {fastavro.__version__}; best of {args.repeat} x ~{args.seconds:g} s")
    print(f"{'codec':<48} {'encode rec/s':>14} {'decode rec/s':>14}")
    results = []
    for name, enc, dec in rows:
        e, d = rate(enc, args.seconds, args.repeat), rate(dec, args.seconds, args.repeat)
        results.append((name, e, d))
        print(f"{name:<48} {e:>14,.0f} {d:>14,.0f}")
    ours, apache = results[0], results[-1]
    print(f"speed-up over Apache avro: encode x{ours[1] / apache[1]:.1f}, "
          f"decode x{ours[2] / apache[2]:.1f}")


if __name__ == "__main__":
    main()
