"""A fixed history replayed through a policy, written as text to compare byte for byte.

Used by tests/fixtures/default_replay (the golden run of policy/default.yaml) and its test:
inputs in event time (events before outcomes at equal times, then input order), each lead's
SLA deadline ticked before its next record and once at the end, every output and each
lead's final encoded state written out.
"""

from __future__ import annotations

import hashlib
import json

from streams.domain import (
    LeadEvent,
    LeadState,
    Policy,
    SalesOutcome,
    encode_state,
    next_deadline,
    step,
    tick,
)

END_MS = 2**52  # "the end of time": every open deadline is ticked


def dump_inputs(inputs: list[LeadEvent | SalesOutcome]) -> str:
    rows = [{"kind": "event" if isinstance(r, LeadEvent) else "outcome", **r.to_record()}
            for r in inputs]
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


def load_inputs(text: str) -> list[LeadEvent | SalesOutcome]:
    out: list[LeadEvent | SalesOutcome] = []
    for line in text.splitlines():
        rec = json.loads(line)
        kind = rec.pop("kind")
        out.append(LeadEvent.from_record(rec) if kind == "event"
                   else SalesOutcome.from_record(rec))
    return out


def replay(inputs: list[LeadEvent | SalesOutcome], policy: Policy) -> str:
    order = sorted(range(len(inputs)), key=lambda i: (
        inputs[i].occurred_at, isinstance(inputs[i], SalesOutcome), i))
    states: dict[str, LeadState] = {}
    lines: list[str] = []

    def emit(outs: list[object]) -> None:
        for o in outs:
            rec = o.to_record()  # type: ignore[attr-defined]
            lines.append(json.dumps({"record": type(o).__name__, **rec}, sort_keys=True))

    for i in order:
        r = inputs[i]
        s = states.get(r.lead_id)
        if s is not None:
            due = next_deadline(s)
            if due is not None and due <= r.occurred_at:
                s, outs = tick(s, policy, due)
                emit(list(outs))
        s, outs = step(s, r, policy, r.occurred_at)
        states[r.lead_id] = s
        emit(list(outs))
    for lid in sorted(states):
        s = states[lid]
        while (due := next_deadline(s)) is not None and due < END_MS:
            s, outs = tick(s, policy, due)
            if not outs:
                break
            emit(list(outs))
        digest = hashlib.sha256(encode_state(s)).hexdigest()
        lines.append(json.dumps({"record": "state", "lead_id": lid, "sha256": digest}))
    return "".join(line + "\n" for line in lines)
