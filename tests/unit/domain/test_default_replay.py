"""No `models:` = today's behaviour, byte for byte: a fixed history replayed through
policy/default.yaml gives exactly the records and final states captured before scoring
models existed (tests/fixtures/default_replay, written by its make_replay.py with the code
of before). The one difference allowed is the new `QualifiedLead.model` field, which must
hold its default (null) everywhere; the final states are compared as encoded bytes."""

from __future__ import annotations

import json
from pathlib import Path

from streams.domain import load_policy
from tests.support.replay_fixture import load_inputs, replay

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "default_replay"


def test_default_policy_replays_byte_identical() -> None:
    policy = load_policy(ROOT / "policy" / "default.yaml")
    assert not policy.models
    inputs = load_inputs((FIXTURE / "inputs.jsonl").read_text(encoding="utf-8"))
    got = [_without_default_model(line) for line in replay(inputs, policy).splitlines()]
    want = (FIXTURE / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"line {i + 1} differs"


def test_the_fixture_has_every_kind_of_record() -> None:
    """The history is rich enough to mean something: hand-offs, feedback, breaches."""
    text = (FIXTURE / "expected.jsonl").read_text(encoding="utf-8")
    for kind in ('"record": "QualifiedLead"', '"record": "StageTransition"',
                 '"record": "MarketingFeedback"', '"SLA_BREACHED"', '"DISQUALIFIED"'):
        assert kind in text


def _without_default_model(line: str) -> str:
    rec = json.loads(line)
    if rec["record"] != "QualifiedLead":
        return line
    assert rec.pop("model") is None
    return json.dumps(rec, sort_keys=True)
