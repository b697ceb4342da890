"""Fixtures for the domain unit tests (the pure core: no broker, no clock)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # run from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from streams.domain.policy import Policy, load_policy  # noqa: E402

DEFAULT_POLICY = ROOT / "policy" / "default.yaml"


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY)


@pytest.fixture(scope="session")
def policy_text() -> str:
    return DEFAULT_POLICY.read_text(encoding="utf-8")
