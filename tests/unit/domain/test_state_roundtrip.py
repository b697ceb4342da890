"""The worker stores every lead's state with encode_state between records: the encoding
must be lossless, or the live pipeline and an offline replay drift apart."""

from __future__ import annotations

from streams.domain import LeadEvent, SalesOutcome, decode_state, encode_state, step
from streams.domain.policy import Policy
from tests.support.workload import generate

NOW = 1_795_000_000_000


def test_state_survives_encoding_after_every_step(policy: Policy) -> None:
    states: dict[str, object] = {}
    for logical, rec in generate(6_000, 600, NOW, seed=5):
        model = (LeadEvent.from_record(rec) if logical == "events"
                 else SalesOutcome.from_record(rec))
        state, _ = step(states.get(rec["lead_id"]), model, policy, NOW)  # type: ignore[arg-type]
        states[rec["lead_id"]] = state
        assert decode_state(encode_state(state)) == state, (rec, state)


def test_outcome_before_any_handoff_keeps_its_flags(policy: Policy) -> None:
    accepted = SalesOutcome("o1", "L1", "ACCEPTED", NOW, "rep-1", None, None)
    state, _ = step(None, accepted, policy, NOW)
    assert decode_state(encode_state(state)) == state
