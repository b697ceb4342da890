"""Records in, everything the worker must do out: decode, validate, run the domain core,
encode.

No Kafka, no asyncio and no Prometheus here: the engine hands in raw records (in the order
its time-ordered merge gives) and a way to load a lead's state, and gets back the records to
send, the states and deadlines to write, the dead letters, and counts for the metrics. The
offline replay (tests, the reference the live worker is compared with) drives the very same
object, so the live pipeline and the replay cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.codecs import AvroCodecs, ValidationError, dead_letter, validate
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
INPUT_KIND = {"events": "LeadEvent", "outcomes": "SalesOutcome"}


@dataclass(slots=True)
class Inbound:
    """One consumed record, as raw as Kafka gave it."""

    source: str  # logical input: "events" or "outcomes"
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
    partition: int | None = None  # None: by key (unkeyed: partition 0)


@dataclass
class Counts:
    """What happened, for the metrics (the engine hands them to Prometheus once a batch)."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, result)
    outcomes: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)  # error type
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    handoffs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (path, queue)
    feedback: Counter[str] = field(default_factory=Counter)
    sla_breaches: Counter[str] = field(default_factory=Counter)  # queue
    event_ages: list[float] = field(default_factory=list)  # seconds, per applied record


@dataclass
class BatchResult:
    outbound: list[Outbound] = field(default_factory=list)
    # lead id -> (new state, the inbound record whose partition owns the lead)
    states: dict[str, tuple[LeadState, Inbound]] = field(default_factory=dict)
    # lead id -> what the deadline table must hold for it: the earlier of its open SLA
    # deadline before this batch and after it (None: neither). The table is written before
    # the states (streams.engine.faust_io.TableStore.save); a crash in between leaves the
    # older state in the changelog, and a restart must still fire that state's deadline.
    # A deadline fired too early is a no-op (``tick`` finds nothing due) that schedules
    # the state's own one.
    deadlines: dict[str, int | None] = field(default_factory=dict)
    # domain outputs with the inbound record that caused them (its partition), for KPIs
    outputs: list[tuple[Any, Inbound]] = field(default_factory=list)
    # leads erased in this batch: their stored state is tombstoned before the marker
    erased: set[str] = field(default_factory=set)
    # dead letters as records (topic, partition, offset, error type...), for the log
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    processed: int = 0
    ticks: int = 0
    max_event_time: int = 0

    @property
    def dead_lettered(self) -> int:
        return len(self.dead_letters)


Load = Callable[[str, Inbound], LeadState | None]


class LeadProcessor:
    """Decode and validate a record (``decode``); apply records and deadlines one by one in
    the order the merge gives, within a ``Batch``."""

    def __init__(self, policy: Policy, codecs: AvroCodecs, topic_names: dict[str, str]) -> None:
        self.policy = policy
        self.codecs = codecs
        self.topic_names = topic_names  # logical -> real, for dead letters' `topic`

    def decode(self, rec: Inbound, now: int) -> tuple[str, LeadEvent | SalesOutcome]:
        """The record's lead and domain model; raises CodecError (dead letter) otherwise.
        ``now`` is the wall clock (validation refuses far-future times)."""
        if rec.value is None:
            raise ValidationError(["record has no value (tombstone)"])
        kind, record = self.codecs.decode_lead_input(rec.value)
        expected = INPUT_KIND.get(rec.source, "LeadEvent")
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

    def batch(self, load: Load, now: int) -> Batch:
        return Batch(self, load, now)


class Batch:
    """One batch's work: the states it touched (loaded once), its outputs, its counts."""

    def __init__(self, processor: LeadProcessor, load: Load, now: int) -> None:
        self.processor = processor
        self.policy = processor.policy
        self.load = load
        self.now = now  # wall clock: event age only
        self.result = BatchResult()
        self._states: dict[str, LeadState | None] = {}
        self._stored_due: dict[str, int | None] = {}  # deadline of the state as loaded

    def state(self, lead_id: str, rec: Inbound) -> LeadState | None:
        states = self._states
        if lead_id in states:
            return states[lead_id]
        state = states[lead_id] = self.load(lead_id, rec)
        self._stored_due[lead_id] = None if state is None else next_deadline(state)
        return state

    def deadline(self, lead_id: str) -> int | None:
        """The lead's open SLA deadline, as of what this batch has applied."""
        state = self._states.get(lead_id)
        return None if state is None else next_deadline(state)

    def apply(self, rec: Inbound, lead_id: str, model: LeadEvent | SalesOutcome) -> None:
        """Apply one decoded input record."""
        result = self.result
        kind = model.type
        try:
            state = self.state(lead_id, rec)
            if state is None and type(model) is SalesOutcome:
                # Contract 1b: an outcome never creates a lead.
                self.dead_letter(rec, ValidationError(["unknown lead"]), kind)
                return
            new_state, outputs = step(state, model, self.policy, self.now)
            encoded = [self._encode(out) for out in outputs]
        except Exception as err:  # a bug or a policy edge: dead-letter, never stop
            self.dead_letter(rec, err, kind, error_type="PROCESSING")
            return
        duplicate = not outputs and new_state is state
        old_queue = state.ho_queue if state is not None else ""
        self._commit(lead_id, rec, old_queue, new_state, outputs, encoded)
        if model.occurred_at > result.max_event_time:
            result.max_event_time = model.occurred_at
        counts = result.counts
        counts.events[(kind, "duplicate" if duplicate else "processed")] += 1
        if type(model) is SalesOutcome:
            counts.outcomes[kind] += 1
        if not duplicate:
            counts.event_ages.append(max(0.0, (self.now - model.occurred_at) / 1000.0))

    def tick(self, lead_id: str, rec: Inbound, now: int) -> None:
        """Run the lead's SLA deadlines at ``now`` (event clock: the deadline itself)."""
        state = self.state(lead_id, rec)
        if state is None:
            return
        try:
            new_state, outputs = tick(state, self.policy, now)
            encoded = [self._encode(out) for out in outputs]
        except Exception as err:
            self.dead_letter(rec, err, "SLA_TICK", error_type="PROCESSING")
            return
        self.result.ticks += 1
        if new_state is not state:
            self._commit(lead_id, rec, state.ho_queue, new_state, outputs, encoded)

    def dead_letter(self, rec: Inbound, err: BaseException, type_label: str = "UNDECODED",
                    error_type: str | None = None) -> None:
        letter = dead_letter(rec.topic, rec.partition, rec.offset, rec.key, rec.value, err,
                             self.now, error_type=error_type)  # type: ignore[arg-type]
        value = self.processor.codecs.encode("DeadLetter", letter)
        result = self.result
        result.outbound.append(Outbound("dead_letter", rec.key, value, letter, "DeadLetter"))
        result.dead_letters.append(letter)
        result.counts.dead_letters[letter["error_type"]] += 1
        result.counts.events[(type_label, "dead_lettered")] += 1

    # -- helpers -------------------------------------------------------------------------

    def _commit(self, lead_id: str, rec: Inbound, old_queue: str, new_state: LeadState,
                outputs: list[Any], encoded: list[Outbound]) -> None:
        result = self.result
        self._states[lead_id] = new_state
        # Written even for a duplicate: after a crash the local store can hold a state
        # whose changelog record never reached Kafka; the replayed (now duplicate) input
        # is the moment to write it again, or another worker would restore the older one.
        result.states[lead_id] = (new_state, rec)
        due, stored = next_deadline(new_state), self._stored_due.get(lead_id)
        result.deadlines[lead_id] = due if stored is None or (due is not None and due < stored) \
            else stored
        result.outbound.extend(encoded)
        result.processed += 1
        counts = result.counts
        for out in outputs:
            result.outputs.append((out, rec))
            if isinstance(out, StageTransition):
                counts.transitions[(out.from_stage, out.to_stage)] += 1
                if out.to_stage == "ERASED":
                    result.erased.add(lead_id)
            elif isinstance(out, QualifiedLead):
                counts.handoffs[(out.path, out.queue)] += 1
            elif isinstance(out, MarketingFeedback):
                counts.feedback[out.type] += 1
                if out.type == "SLA_BREACHED":
                    # the queue whose SLA was missed (an escalation may have moved it since)
                    queue = old_queue or None
                    counts.sla_breaches[queue or new_state.ho_queue] += 1

    def _encode(self, out: Any) -> Outbound:
        logical, kind = OUTPUT_OF[type(out)]
        record = out.to_record()
        value = self.processor.codecs.encode(kind, record)
        return Outbound(logical, record["lead_id"].encode(), value, record, kind)
