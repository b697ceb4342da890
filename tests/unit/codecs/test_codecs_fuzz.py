"""Fuzz: random and mutated payloads only ever raise the typed codec errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.codecs import KINDS, AvroCodecs, CodecError, dead_letter

Strategies = Callable[[str], st.SearchStrategy[dict[str, Any]]]
SEED = 20260101


def _valid_payloads(codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
                    sales_outcome: Callable[..., dict[str, Any]]) -> list[bytes]:
    v1 = codecs.catalog.history["LeadEvent"][0]
    old = lead_event()
    del old["rep_id"]
    return [
        codecs.encode("LeadEvent", lead_event()),
        codecs.encode("LeadEvent", lead_event(attributes={}, campaign_id=None)),
        codecs.encode_with(v1, old),
        codecs.encode("SalesOutcome", sales_outcome(type="WON", amount=1234.5)),
        codecs.encode("DeadLetter", dead_letter("t", 1, 2, b"k", b"v" * 40, "x", 5)),
    ]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(6)
    if op == 0:  # bit flips, anywhere (header included)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == 1:  # bit flips in the body only: a known schema, a broken body
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(10, len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == 2:  # truncation
        del b[rng.randrange(len(b)):]
    elif op == 3:  # extension
        b += rng.randbytes(rng.randint(1, 16))
    elif op == 4:  # overwrite a body byte with an extreme varint-ish value
        i = rng.randrange(10, len(b))
        b[i] = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF])
    else:  # splice a random chunk into the body
        i = rng.randrange(10, len(b))
        b[i:i] = rng.randbytes(rng.randint(1, 8))
    return bytes(b)


def _try(codecs: AvroCodecs, data: bytes, kind: str | None) -> str:
    try:
        if kind is None:
            codecs.decode_lead_input(data)
        else:
            codecs.decode(kind, data)
    except CodecError as exc:
        assert exc.error_type in ("DECODE", "SCHEMA")
        return exc.error_type
    return "OK"


def test_random_and_mutated_payloads(
    codecs: AvroCodecs, lead_event: Callable[..., dict[str, Any]],
    sales_outcome: Callable[..., dict[str, Any]],
) -> None:
    rng = random.Random(SEED)
    valid = _valid_payloads(codecs, lead_event, sales_outcome)
    headers = [b"\xc3\x01" + s.fingerprint for s in codecs.catalog.by_fingerprint.values()]
    outcomes: dict[str, int] = {}
    start = time.perf_counter()
    cases = 0
    for _ in range(10_000):  # pure noise, with and without a valid header in front
        noise = rng.randbytes(rng.randint(0, 64))
        if rng.random() < 0.5:
            noise = rng.choice(headers) + noise
        r = _try(codecs, noise, rng.choice([None, *KINDS]))
        outcomes[r] = outcomes.get(r, 0) + 1
        cases += 1
    for _ in range(40_000):  # mutations of valid payloads
        r = _try(codecs, _mutate(rng, rng.choice(valid)), rng.choice([None, "LeadEvent"]))
        outcomes[r] = outcomes.get(r, 0) + 1
        cases += 1
    assert cases >= 50_000
    # every class got exercised: some mutations still decode, most do not
    assert outcomes.get("DECODE", 0) > 1000 and outcomes.get("SCHEMA", 0) > 1000, outcomes
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize("kind", ["LeadEvent", "SlaReport"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_mutations(codecs: AvroCodecs, record_strategy: Strategies, kind: str,
                              data: st.DataObject) -> None:
    payload = codecs.encode(kind, data.draw(record_strategy(kind)))
    cut = data.draw(st.integers(0, len(payload)))
    tail = data.draw(st.binary(max_size=8))
    _try(codecs, payload[:cut] + tail, kind)
