"""Shared fixtures of the codec tests: the loaded codecs and schema-derived strategies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from streams.codecs import AvroCodecs

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def strategy_for_schema(schema: Any, named: dict[str, Any] | None = None,
                        namespace: str = "") -> st.SearchStrategy[Any]:
    """A hypothesis strategy of Python values (docs/records.md shape) for an Avro schema.

    Derived from the schema JSON, so every record kind gets one without a hand-written list.
    """
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return _primitive(schema, None)
        full = schema if "." in schema else f"{namespace}.{schema}" if namespace else schema
        return st.deferred(lambda: named[full])
    if isinstance(schema, list):
        return st.one_of([strategy_for_schema(s, named, namespace) for s in schema])
    t = schema["type"]
    if t in PRIMITIVES:
        return _primitive(t, schema.get("logicalType"))
    if t == "array":
        return st.lists(strategy_for_schema(schema["items"], named, namespace), max_size=4)
    if t == "map":
        return st.dictionaries(st.text(max_size=12),
                               strategy_for_schema(schema["values"], named, namespace),
                               max_size=4)
    ns = schema.get("namespace", namespace)
    full = schema["name"] if "." in schema["name"] else f"{ns}.{schema['name']}"
    if t == "enum":
        strat: st.SearchStrategy[Any] = st.sampled_from(schema["symbols"])
    elif t == "fixed":
        strat = st.binary(min_size=schema["size"], max_size=schema["size"])
    elif t == "record":
        # register before the fields so that recursive references resolve lazily
        named[full] = st.nothing()
        strat = st.fixed_dictionaries(
            {f["name"]: strategy_for_schema(f["type"], named, ns) for f in schema["fields"]}
        )
    else:
        raise ValueError(f"unsupported Avro type {t!r}")
    named[full] = strat
    return strat


def _primitive(t: str, logical: str | None) -> st.SearchStrategy[Any]:
    if t == "null":
        return st.none()
    if t == "boolean":
        return st.booleans()
    if t == "int":
        return st.integers(INT_MIN, INT_MAX)
    if t == "long":
        if logical == "timestamp-millis":
            # within what datetime can express, so the avro package can read them too
            return st.integers(-62_135_596_800_000, 253_402_300_799_999)
        return st.integers(LONG_MIN, LONG_MAX)
    if t == "float":
        return st.floats(allow_nan=False, width=32)
    if t == "double":
        return st.floats(allow_nan=False)
    if t == "bytes":
        return st.binary(max_size=16)
    return st.text(max_size=16)


@pytest.fixture(scope="session")
def codecs() -> AvroCodecs:
    return AvroCodecs()


@pytest.fixture(scope="session")
def record_strategy(codecs: AvroCodecs) -> Callable[[str], st.SearchStrategy[dict[str, Any]]]:
    cache: dict[str, st.SearchStrategy[dict[str, Any]]] = {}

    def get(kind: str) -> st.SearchStrategy[dict[str, Any]]:
        if kind not in cache:
            cache[kind] = strategy_for_schema(codecs.catalog.get(kind).json)
        return cache[kind]

    return get


def make_lead_event(**overrides: Any) -> dict[str, Any]:
    """A realistic, valid LeadEvent."""
    record: dict[str, Any] = {
        "event_id": "web-7f3a9c1e-0001",
        "lead_id": "L-000042",
        "type": "PRICING_PAGE_VISIT",
        "occurred_at": 1_764_000_000_000,
        "source": "web",
        "campaign_id": "cmp-2026-q1-webinar",
        "asset_id": None,
        "rep_id": None,
        "attributes": {
            "email": "ann.example@example.com",
            "company": "Example GmbH",
            "title": "Head of Operations",
            "country": "DE",
            "employees": "250",
        },
    }
    record.update(overrides)
    return record


def make_sales_outcome(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": "crm-0001",
        "lead_id": "L-000042",
        "type": "ACCEPTED",
        "occurred_at": 1_764_000_100_000,
        "rep_id": "rep-7",
        "reason": None,
        "amount": None,
    }
    record.update(overrides)
    return record


@pytest.fixture(scope="session")
def lead_event() -> Callable[..., dict[str, Any]]:
    return make_lead_event


@pytest.fixture(scope="session")
def sales_outcome() -> Callable[..., dict[str, Any]]:
    return make_sales_outcome
