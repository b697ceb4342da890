"""One batch of consumed records in, everything the worker must do out.

No Kafka and no asyncio here either: the agent hands in raw records and a way to load a
lead's state, and gets back the records to send, the states to write and the dead letters.
The offline replay (tests, ``backtest``) drives the very same object, so the live pipeline
and the replay cannot drift apart.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams import metrics
from streams.codecs import AvroCodecs, CodecError, ValidationError, dead_letter, validate
from streams.domain import (
    LeadEvent,
    LeadState,
    MarketingFeedback,
    Policy,
    QualifiedLead,
    SalesOutcome,
    StageTransition,
    next_deadline,
    step,
    tick,
)

# Logical output names (settings.topic(name) gives the Kafka topic).
OUTPUT_OF: dict[type, tuple[str, str]] = {
    StageTransition: ("transitions", "StageTransition"),
    QualifiedLead: ("qualified", "QualifiedLead"),
    MarketingFeedback: ("feedback", "MarketingFeedback"),
}


@dataclass(slots=True)
class Inbound:
    """One consumed record, as raw as Kafka gave it."""

    source: str  # logical input: "events", "outcomes" or "ticks"
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    ref: Any = None  # the engine's handle (a Faust event); opaque here


@dataclass(slots=True)
class Outbound:
    """A record to send: logical topic, key, encoded value."""

    logical: str
    key: bytes | None
    value: bytes
    record: dict[str, Any]
    kind: str


@dataclass
class BatchResult:
    outbound: list[Outbound] = field(default_factory=list)
    # lead id -> (new state, the inbound record whose partition owns the lead)
    states: dict[str, tuple[LeadState, Inbound]] = field(default_factory=dict)
    # lead id -> next SLA deadline (None: no open deadline)
    deadlines: dict[str, int | None] = field(default_factory=dict)
    # domain outputs with the inbound record that caused them (its partition), for KPIs
    outputs: list[tuple[Any, Inbound]] = field(default_factory=list)
    # leads erased in this batch: their stored state is tombstoned before the marker
    erased: set[str] = field(default_factory=set)
    processed: int = 0
    dead_lettered: int = 0
    max_event_time: int = 0


def tick_request(lead_id: str, due_ms: int) -> bytes:
    """The value of an SLA tick record: asks the owner of the lead to run ``tick``."""
    return json.dumps({"lead_id": lead_id, "due": due_ms}, separators=(",", ":")).encode()


class LeadProcessor:
    """Decode, validate, run the domain core, encode: for one batch at a time."""

    def __init__(self, policy: Policy, codecs: AvroCodecs, topic_names: dict[str, str]) -> None:
        self.policy = policy
        self.codecs = codecs
        self.topic_names = topic_names  # logical -> real, for dead letters' `topic`

    def process(
        self,
        records: list[Inbound],
        load: Callable[[str, Inbound], LeadState | None],
        now: int,
        sla_now: int | None = None,
    ) -> BatchResult:
        """``now`` is the wall clock (validation, event age); ``sla_now`` the SLA clock."""
        tick_now = now if sla_now is None else sla_now
        result = BatchResult()
        states: dict[str, LeadState | None] = {}
        counted: Counter[tuple[str, str]] = Counter()  # to Prometheus once per batch
        for rec in records:
            try:
                lead_id, model = self._decode(rec, now)
            except CodecError as err:
                self._dead_letter(result, rec, err, now)
                continue
            try:
                state = states[lead_id] if lead_id in states else load(lead_id, rec)
                if model is None:  # an SLA tick
                    if state is None:
                        continue
                    new_state, outputs = tick(state, self.policy, tick_now)
                    kind = "tick"
                else:
                    new_state, outputs = step(state, model, self.policy, now)
                    kind = model.type
                    result.max_event_time = max(result.max_event_time, model.occurred_at)
                encoded = [self._encode(out) for out in outputs]
            except Exception as err:  # a bug or a policy edge: dead-letter, never stop
                self._dead_letter(result, rec, err, now, error_type="PROCESSING")
                continue
            states[lead_id] = new_state
            # Written even for a duplicate: after a crash the local store can hold a state
            # whose changelog record never reached Kafka; the replayed (now duplicate)
            # input is the moment to write it again, or another worker would restore the
            # older state.
            result.states[lead_id] = (new_state, rec)
            result.deadlines[lead_id] = next_deadline(new_state)
            result.outbound.extend(encoded)
            result.outputs.extend((out, rec) for out in outputs)
            result.processed += 1
            if model is not None:
                duplicate = not outputs and new_state is state
                counted[(kind, "duplicate" if duplicate else "processed")] += 1
                if isinstance(model, SalesOutcome):
                    metrics.count_outcome(model.type)
                if not duplicate:
                    metrics.observe_event_age(max(0.0, (now - model.occurred_at) / 1000.0))
            for out in outputs:
                _count_output(out, new_state)
                if isinstance(out, StageTransition) and out.to_stage == "ERASED":
                    result.erased.add(lead_id)
        for (kind, outcome), n in counted.items():
            metrics.count_event(kind, outcome, n)
        return result

    # -- helpers -------------------------------------------------------------------------

    def _decode(self, rec: Inbound, now: int) -> tuple[str, LeadEvent | SalesOutcome | None]:
        if rec.value is None:
            raise ValidationError(["record has no value (tombstone)"])
        if rec.source == "ticks":
            try:
                req = json.loads(rec.value)
                return str(req["lead_id"]), None
            except (ValueError, KeyError, TypeError):
                raise ValidationError(["malformed SLA tick"]) from None
        kind, record = self.codecs.decode_lead_input(rec.value)
        expected = "LeadEvent" if rec.source == "events" else "SalesOutcome"
        if kind != expected:
            raise ValidationError([f"a {kind} on the {rec.source} topic"])
        validate(kind, record, now)
        lead_id = record["lead_id"]
        if rec.key is not None and rec.key != lead_id.encode():
            # Keyed by something else, the record sits on another lead's partition: its
            # state would split. Refuse it loudly instead.
            raise ValidationError(["record key does not match its lead_id"])
        if kind == "LeadEvent":
            return lead_id, LeadEvent.from_record(record)
        return lead_id, SalesOutcome.from_record(record)

    def _encode(self, out: Any) -> Outbound:
        logical, kind = OUTPUT_OF[type(out)]
        record = out.to_record()
        value = self.codecs.encode(kind, record)
        return Outbound(logical, record["lead_id"].encode(), value, record, kind)

    def _dead_letter(self, result: BatchResult, rec: Inbound, err: BaseException, now: int,
                     error_type: str | None = None) -> None:
        letter = dead_letter(rec.topic, rec.partition, rec.offset, rec.key, rec.value, err, now,
                             error_type=error_type)  # type: ignore[arg-type]
        value = self.codecs.encode("DeadLetter", letter)
        result.outbound.append(Outbound("dead_letter", rec.key, value, letter, "DeadLetter"))
        result.dead_lettered += 1
        metrics.count_dead_letter(letter["error_type"])
        metrics.count_event(_event_type_label(rec), "dead_lettered")


def _event_type_label(rec: Inbound) -> str:
    return "SLA_TICK" if rec.source == "ticks" else "UNDECODED"


def _count_output(out: Any, state: LeadState) -> None:
    if isinstance(out, StageTransition):
        metrics.count_stage_transition(out.from_stage, out.to_stage)
    elif isinstance(out, QualifiedLead):
        metrics.count_handoff(out.path, out.queue)
    elif isinstance(out, MarketingFeedback):
        metrics.count_feedback(out.type)
        if out.type == "SLA_BREACHED":
            metrics.count_sla_breach(state.ho_queue)
