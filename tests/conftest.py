"""Suite-wide fixtures. Integration tests get the real broker; unit tests never touch it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import ensure_broker, stop_broker


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """kafka://host:port of a running broker, started (and stopped) here if need be."""
    url, started = ensure_broker()
    yield url
    if started:
        stop_broker()


@pytest.fixture
def run_id() -> str:
    """Unique per test: topic prefix and app id, so runs never collide."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def worker_env(broker: str, run_id: str, tmp_path: Path) -> dict[str, str]:
    """LEADFLOW_* settings for a worker (or CLI) isolated to this test."""
    return {
        "LEADFLOW_BROKER": broker,
        "LEADFLOW_TOPIC_PREFIX": run_id + ".",
        "LEADFLOW_APP_ID": run_id,
        "LEADFLOW_DATA_DIR": str(tmp_path / "data"),
        "LEADFLOW_PARTITIONS": "2",
    }
