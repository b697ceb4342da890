"""Prometheus metrics of leadflow (contract section 7), defined once.

Everything lives on a dedicated :data:`REGISTRY` (never the process-global default), so
several apps or tests can coexist in one interpreter. ``GET /metrics`` serves
:func:`render` with content type :data:`CONTENT_TYPE`.

Label values are *bounded*: code never calls ``.labels()`` on these metrics directly but
goes through the typed helpers below (``count_event``, ``count_handoff``...). Each helper
checks every label value against its allowed set (the contract's enums, the configured
queues, the known topics/tables) and replaces anything else with :data:`OTHER`, so a lead
id, an email address or free text can never become a label and blow up cardinality or
leak personal data.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from streams.domain.models import LEAD_EVENT_TYPES as _DOMAIN_LEAD_EVENT_TYPES
from streams.domain.models import SALES_OUTCOME_TYPES as _DOMAIN_SALES_OUTCOME_TYPES

__all__ = [
    "CONTENT_TYPE",
    "DEAD_LETTER_ERROR_TYPES",
    "EVENT_RESULTS",
    "EVENT_TYPES",
    "FEEDBACK_TYPES",
    "HANDOFF_PATHS",
    "METRIC_NAMES",
    "OTHER",
    "OUTCOME_TYPES",
    "REGISTRY",
    "STAGES",
    "EngineMetrics",
    "count_account_qualification",
    "count_account_sla_breach",
    "count_dead_letter",
    "count_event",
    "count_feedback",
    "count_handoff",
    "count_idle_wait",
    "count_outcome",
    "count_resync",
    "count_shadow_diff",
    "count_sla_breach",
    "count_stage_transition",
    "known_queues",
    "observe_event_age",
    "observe_processing",
    "queue_label",
    "render",
    "set_known_queues",
    "set_open_handoffs",
    "set_policy_version",
    "set_sla_targets",
    "time_processing",
]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

# The standard process_* and python_* families (contract 7), on leadflow's registry: the
# default instances live on the global registry, which /metrics does not serve.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

#: The label value used for anything outside a label's allowed set.
OTHER: Final = "other"

# --- allowed label values (contract sections 2 and 3, docs/records.md) ---------------------

# The domain's own lists: one place to add a type.
LEAD_EVENT_TYPES: Final = frozenset(_DOMAIN_LEAD_EVENT_TYPES)
OUTCOME_TYPES: Final = frozenset(_DOMAIN_SALES_OUTCOME_TYPES)
#: ``leadflow_events_total{type}`` accepts lead event types and sales outcome types (both
#: input topics count their records there; an undecodable record has type ``UNKNOWN``).
EVENT_TYPES: Final = LEAD_EVENT_TYPES | OUTCOME_TYPES
EVENT_RESULTS: Final = frozenset({"processed", "duplicate", "dead_lettered", "ignored"})
DEAD_LETTER_ERROR_TYPES: Final = frozenset({"DECODE", "SCHEMA", "VALIDATION", "PROCESSING"})
STAGES: Final = frozenset(
    {
        "RAW",
        "ENGAGED",
        "MQL",
        "SAL",
        "SQL",
        "OPPORTUNITY",
        "WON",
        "LOST",
        "NURTURE",
        "DISQUALIFIED",
        "ERASED",
    }
)
HANDOFF_PATHS: Final = frozenset({"SCORE", "REFERRAL", "ESCALATION"})
FEEDBACK_TYPES: Final = frozenset(
    {"ACCEPTED", "REJECTED", "RECYCLED", "CONVERTED", "LOST", "SLA_BREACHED", "DISQUALIFIED"}
)

#: A queue, topic or table name must look like an identifier to become a label at all.
_SAFE_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")
#: Kafka topic names (legal characters, bounded length; case kept).
_SAFE_TOPIC: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
#: Policy versions such as ``2024-06-01``, ``v3``, ``1.4.0+hotfix``.
_SAFE_VERSION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$")
_MAX_PARTITION: Final = 4096

_queues_lock = threading.Lock()
_known_queues: frozenset[str] = frozenset()


def _bounded(value: object, allowed: frozenset[str]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


def set_known_queues(names: Iterable[str]) -> None:
    """Declare the policy's queues (routing queues and the escalation queue).

    Only these (and only if they match ``^[a-z0-9][a-z0-9_.-]{0,40}$``) can appear as a
    ``queue`` label; anything else is counted under ``other``. Call again when the policy
    changes. Breach counters of the known queues are created at zero so that the first
    breach shows as an increase.
    """
    global _known_queues
    safe = frozenset(n for n in names if isinstance(n, str) and _SAFE_NAME.match(n))
    with _queues_lock:
        _known_queues = safe
    for name in safe:
        SLA_BREACHES.labels(queue=name)


def known_queues() -> frozenset[str]:
    """The queues currently accepted as label values."""
    return _known_queues


def queue_label(queue: object) -> str:
    """The label value for ``queue``: itself if configured and safe, else ``other``."""
    if isinstance(queue, str) and queue in _known_queues and _SAFE_NAME.match(queue):
        return queue
    return OTHER


# --- contract metrics (section 7) ----------------------------------------------------------
# prometheus_client appends ``_total`` to counter names, ``_info`` to Info names.

EVENTS: Final = Counter(
    "leadflow_events",
    "Input records handled, by type and result.",
    ["type", "result"],
    registry=REGISTRY,
)
DEAD_LETTERS: Final = Counter(
    "leadflow_dead_letters",
    "Records written to the dead-letter topic, by error type.",
    ["error_type"],
    registry=REGISTRY,
)
STAGE_TRANSITIONS: Final = Counter(
    "leadflow_stage_transitions",
    "Stage transitions emitted.",
    ["from_stage", "to_stage"],
    registry=REGISTRY,
)
HANDOFFS: Final = Counter(
    "leadflow_handoffs",
    "Qualified-lead hand-offs emitted, by path and queue.",
    ["path", "queue"],
    registry=REGISTRY,
)
SLA_BREACHES: Final = Counter(
    "leadflow_sla_breaches",
    "Hand-offs not accepted or contacted by their SLA deadline, by queue.",
    ["queue"],
    registry=REGISTRY,
)
FEEDBACK: Final = Counter(
    "leadflow_feedback",
    "Marketing feedback records emitted, by type.",
    ["type"],
    registry=REGISTRY,
)
OUTCOMES: Final = Counter(
    "leadflow_outcomes",
    "Sales outcomes applied, by type.",
    ["type"],
    registry=REGISTRY,
)
PROCESSING_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
PROCESSING_SECONDS: Final = Histogram(
    "leadflow_processing_seconds",
    "Wall time spent per input record: each batch's time divided by its records, observed "
    "once per record.",
    buckets=PROCESSING_BUCKETS,
    registry=REGISTRY,
)
BATCH_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
BATCH_PROCESSING_SECONDS: Final = Histogram(
    "leadflow_batch_processing_seconds",
    "Wall time of one input batch, end to end (processing, the sends and their broker "
    "round trip, the state writes).",
    buckets=BATCH_BUCKETS,
    registry=REGISTRY,
)
EVENT_AGE_BUCKETS: Final = (
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0,
    300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0,
)  # fmt: skip
EVENT_AGE_SECONDS: Final = Histogram(
    "leadflow_event_age_seconds",
    "Delay from a record's event time (occurred_at) to the end of its processing.",
    buckets=EVENT_AGE_BUCKETS,
    registry=REGISTRY,
)
SLA_OPEN_HANDOFFS: Final = Gauge(
    "leadflow_sla_open_handoffs",
    "Hand-offs awaiting acceptance or contact (SLA clock running) on this worker.",
    registry=REGISTRY,
)
POLICY: Final = Info(
    "leadflow_policy",
    "The policy version this worker runs (value is always 1).",
    registry=REGISTRY,
)

# --- SLA targets, exported so alert rules can compare against the policy -------------------

SLA_TARGET_MAX_BREACH_RATIO: Final = Gauge(
    "leadflow_sla_target_max_breach_ratio",
    "Policy quality target: highest acceptable SLA breaches / hand-offs (0 = no target).",
    registry=REGISTRY,
)
SLA_TARGET_MIN_HANDOFFS: Final = Gauge(
    "leadflow_sla_target_min_handoffs_per_window",
    "Policy quantity target: fewest hand-offs expected per report window (0 = no target).",
    registry=REGISTRY,
)
SLA_TARGET_MAX_HANDOFFS: Final = Gauge(
    "leadflow_sla_target_max_handoffs_per_window",
    "Policy quantity target: most hand-offs sales can take per report window (0 = no limit).",
    registry=REGISTRY,
)
SLA_TARGET_WINDOW_SECONDS: Final = Gauge(
    "leadflow_sla_target_window_seconds",
    "Length of the policy's SLA report window, in seconds.",
    registry=REGISTRY,
)

# Dead letters are rare and important: create every series at zero so the very first dead
# letter is an *increase* that alerts can see.
for _error_type in sorted(DEAD_LETTER_ERROR_TYPES):
    DEAD_LETTERS.labels(error_type=_error_type)


# --- typed helpers: the only way code should touch the labelled metrics --------------------


def count_event(type: str, result: str, n: int = 1) -> None:
    """Count ``n`` input records: ``type`` an event/outcome type, ``result`` in
    :data:`EVENT_RESULTS` (processed, duplicate, dead_lettered, ignored)."""
    EVENTS.labels(type=_bounded(type, EVENT_TYPES),
                  result=_bounded(result, EVENT_RESULTS)).inc(n)


def count_dead_letter(error_type: str, n: int = 1) -> None:
    """Count ``n`` dead-lettered records (DECODE, SCHEMA, VALIDATION, PROCESSING)."""
    DEAD_LETTERS.labels(error_type=_bounded(error_type, DEAD_LETTER_ERROR_TYPES)).inc(n)


def count_stage_transition(from_stage: str, to_stage: str, n: int = 1) -> None:
    """Count ``n`` stage transitions."""
    STAGE_TRANSITIONS.labels(
        from_stage=_bounded(from_stage, STAGES), to_stage=_bounded(to_stage, STAGES)
    ).inc(n)


def count_handoff(path: str, queue: str, n: int = 1) -> None:
    """Count ``n`` hand-offs (path SCORE, REFERRAL or ESCALATION) to ``queue``."""
    HANDOFFS.labels(path=_bounded(path, HANDOFF_PATHS), queue=queue_label(queue)).inc(n)


def count_sla_breach(queue: str, n: int = 1) -> None:
    """Count ``n`` SLA breaches of hand-offs routed to ``queue``."""
    SLA_BREACHES.labels(queue=queue_label(queue)).inc(n)


def count_feedback(type: str, n: int = 1) -> None:
    """Count ``n`` marketing feedback records."""
    FEEDBACK.labels(type=_bounded(type, FEEDBACK_TYPES)).inc(n)


def count_outcome(type: str, n: int = 1) -> None:
    """Count ``n`` sales outcomes applied."""
    OUTCOMES.labels(type=_bounded(type, OUTCOME_TYPES)).inc(n)


def _observe_many(hist: Histogram, value: float, n: int) -> None:
    """``hist.observe(value)`` ``n`` times, in O(1): one bucket and the sum moved by ``n``.

    prometheus_client has no weighted observe; its histogram keeps one (non-cumulative)
    counter per bucket plus a sum, which is all ``observe`` touches. If a future version
    lays them out differently, fall back to the plain loop (correct, a few µs per record).
    """
    bounds = getattr(hist, "_upper_bounds", None)
    buckets = getattr(hist, "_buckets", None)
    total = getattr(hist, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for _ in range(n):
            hist.observe(value)
        return
    total.inc(value * n)
    buckets[bisect.bisect_left(bounds, value)].inc(n)  # first bound >= value, as observe


def observe_processing(seconds_total: float, records: int = 1) -> None:
    """Record a batch of ``records`` input records that took ``seconds_total`` of wall time:
    ``leadflow_processing_seconds`` (per input record, contract 7) gets the per-record
    average, ``records`` times; ``leadflow_batch_processing_seconds`` gets the batch once.
    A batch of no records counts in the batch histogram only."""
    seconds_total = max(0.0, seconds_total)
    BATCH_PROCESSING_SECONDS.observe(seconds_total)
    if records > 0:
        _observe_many(PROCESSING_SECONDS, seconds_total / records, records)


@contextmanager
def time_processing(records: int | None = None) -> Iterator[None]:
    """Time a block that processes one batch: ``with time_processing(len(batch)):``.

    Without ``records`` only ``leadflow_batch_processing_seconds`` is observed: the
    per-record histogram must never see a whole batch as one record."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        if records is None:
            BATCH_PROCESSING_SECONDS.observe(elapsed)
        else:
            observe_processing(elapsed, records)


def observe_event_age(seconds: float) -> None:
    """Record event time → processed delay (negative clock skew counts as 0)."""
    EVENT_AGE_SECONDS.observe(max(0.0, seconds))


def set_open_handoffs(n: int) -> None:
    """Set the number of hand-offs whose SLA clock is running on this worker."""
    SLA_OPEN_HANDOFFS.set(max(0, n))


def set_policy_version(version: str) -> None:
    """Publish ``leadflow_policy_info{version=...} 1`` (replacing any previous version).

    A version that does not look like a version string is exported as ``invalid``.
    """
    safe = version if isinstance(version, str) and _SAFE_VERSION.match(version) else "invalid"
    POLICY.info({"version": safe})


def set_sla_targets(
    *,
    max_breach_ratio: float | None,
    min_handoffs_per_window: float | None,
    max_handoffs_per_window: float | None,
    window_seconds: float,
) -> None:
    """Export the policy's SLA targets for the alert rules. ``None`` means "no target" and
    is exported as 0, which the rules treat as disabled."""
    SLA_TARGET_MAX_BREACH_RATIO.set(max_breach_ratio or 0.0)
    SLA_TARGET_MIN_HANDOFFS.set(min_handoffs_per_window or 0.0)
    SLA_TARGET_MAX_HANDOFFS.set(max_handoffs_per_window or 0.0)
    SLA_TARGET_WINDOW_SECONDS.set(max(0.0, window_seconds))


# --- stream engine (Faust) bridge ----------------------------------------------------------

CONSUMER_LAG: Final = Gauge(
    "leadflow_consumer_lag",
    "Messages between the committed offset and the high watermark, per topic-partition.",
    ["topic", "partition"],
    registry=REGISTRY,
)
MESSAGES_RECEIVED: Final = Counter(
    "leadflow_messages_received",
    "Messages consumed from Kafka, by topic.",
    ["topic"],
    registry=REGISTRY,
)
MESSAGES_SENT: Final = Counter(
    "leadflow_messages_sent",
    "Messages produced to Kafka, by topic.",
    ["topic"],
    registry=REGISTRY,
)
COMMIT_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
COMMIT_SECONDS: Final = Histogram(
    "leadflow_commit_seconds",
    "Time taken by one offset commit.",
    buckets=COMMIT_BUCKETS,
    registry=REGISTRY,
)
TABLE_KEYS: Final = Gauge(
    "leadflow_table_keys",
    "Keys held in a stream table on this worker.",
    ["table"],
    registry=REGISTRY,
)
_SOURCES: Final = frozenset({"events", "outcomes"})


RESYNCS: Final = Counter(
    "leadflow_resyncs",
    "Input partitions read again from an offset the stream engine had skipped, by input.",
    ["source"],
    registry=REGISTRY,
)


def count_resync(source: str) -> None:
    """Count one input partition read again after the engine skipped offsets."""
    RESYNCS.labels(source=_bounded(source, _SOURCES)).inc()


IDLE_INPUTS: Final = frozenset({"events", "outcomes"})
IDLE_WAITS: Final = Counter(
    "leadflow_idle_waits",
    "Times the event-time merge stopped waiting for a lagging input after "
    "LEADFLOW_MAX_IDLE_MS and went on without it, by the input waited for (contract 1b).",
    ["input"],
    registry=REGISTRY,
)


def count_idle_wait(input: str, n: int = 1) -> None:
    """Count ``n`` waits for ``input`` (events or outcomes) that ran out (contract 1b)."""
    IDLE_WAITS.labels(input=_bounded(input, IDLE_INPUTS)).inc(n)


# Both series exist from the start so that the first resync or wait is an increase.
for _source in sorted(_SOURCES):
    RESYNCS.labels(source=_source)
for _input in sorted(IDLE_INPUTS):
    IDLE_WAITS.labels(input=_input)


SHADOW_DIFF_KINDS: Final = frozenset({"STAGE", "HANDOFF", "PATH", "QUEUE", "SCORE_BAND"})
SHADOW_DIFFS: Final = Counter(
    "leadflow_shadow_diffs",
    "Decisions of the shadow policy (LEADFLOW_SHADOW_POLICY) that differ from the live "
    "policy's on the same input record, by kind of difference (a ShadowDiff record counts "
    "once per kind it carries).",
    ["kind"],
    registry=REGISTRY,
)


def count_shadow_diff(kind: str, n: int = 1) -> None:
    """Count ``n`` shadow diffs of ``kind`` (STAGE, HANDOFF, PATH, QUEUE, SCORE_BAND)."""
    SHADOW_DIFFS.labels(kind=_bounded(kind, SHADOW_DIFF_KINDS)).inc(n)


for _kind in sorted(SHADOW_DIFF_KINDS):  # every kind from the start: the first is an increase
    SHADOW_DIFFS.labels(kind=_kind)


ACCOUNT_QUALIFICATIONS: Final = Counter(
    "leadflow_account_qualifications",
    "Marketing Qualified Accounts emitted (AccountQualified records), by queue.",
    ["queue"],
    registry=REGISTRY,
)


def count_account_qualification(queue: str, n: int = 1) -> None:
    """Count ``n`` account qualifications routed to ``queue`` (bounded as hand-offs)."""
    ACCOUNT_QUALIFICATIONS.labels(queue=queue_label(queue)).inc(n)


ACCOUNT_SLA_BREACHES: Final = Counter(
    "leadflow_account_sla_breaches",
    "Qualified accounts not contacted before their SLA due (the escalation queue's own "
    "breaches included, under that queue), by the queue that missed it.",
    ["queue"],
    registry=REGISTRY,
)


def count_account_sla_breach(queue: str, n: int = 1) -> None:
    """Count ``n`` account SLA breaches of ``queue`` (bounded as hand-offs)."""
    ACCOUNT_SLA_BREACHES.labels(queue=queue_label(queue)).inc(n)


READY: Final = Gauge(
    "leadflow_ready",
    "1 when the worker is consuming and its tables are recovered, else 0.",
    registry=REGISTRY,
)


class EngineMetrics:
    """Bridge from the stream engine's own figures to Prometheus.

    The worker feeds it (from Faust sensors or a periodic task). Topic and table names are
    bounded like queues: only the names given here (and only safe-looking ones) become
    labels, anything else is ``other``; partitions must be small non-negative ints.
    """

    def __init__(self, topics: Iterable[str], tables: Iterable[str] = ()) -> None:
        self._topics = frozenset(t for t in topics if isinstance(t, str) and _SAFE_TOPIC.match(t))
        self._tables = frozenset(t for t in tables if isinstance(t, str) and _SAFE_TOPIC.match(t))

    def add_topics(self, topics: Iterable[str]) -> None:
        """Accept more topic names as labels (e.g. topics created after start)."""
        extra = frozenset(t for t in topics if isinstance(t, str) and _SAFE_TOPIC.match(t))
        self._topics = self._topics | extra

    def add_tables(self, tables: Iterable[str]) -> None:
        """Accept more table names as labels."""
        extra = frozenset(t for t in tables if isinstance(t, str) and _SAFE_TOPIC.match(t))
        self._tables = self._tables | extra

    def topic_label(self, topic: object) -> str:
        return topic if isinstance(topic, str) and topic in self._topics else OTHER

    def table_label(self, table: object) -> str:
        return table if isinstance(table, str) and table in self._tables else OTHER

    @staticmethod
    def partition_label(partition: object) -> str:
        if (
            isinstance(partition, int)
            and not isinstance(partition, bool)
            and 0 <= partition < _MAX_PARTITION
        ):
            return str(partition)
        return OTHER

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        CONSUMER_LAG.labels(
            topic=self.topic_label(topic), partition=self.partition_label(partition)
        ).set(max(0, lag))

    def count_received(self, topic: str, n: int = 1) -> None:
        MESSAGES_RECEIVED.labels(topic=self.topic_label(topic)).inc(max(0, n))

    def count_sent(self, topic: str, n: int = 1) -> None:
        MESSAGES_SENT.labels(topic=self.topic_label(topic)).inc(max(0, n))

    def observe_commit(self, seconds: float) -> None:
        COMMIT_SECONDS.observe(max(0.0, seconds))

    def set_table_keys(self, table: str, n: int) -> None:
        TABLE_KEYS.labels(table=self.table_label(table)).set(max(0, n))

    def set_ready(self, ready: bool) -> None:
        READY.set(1 if ready else 0)


#: Every metric family leadflow exports (names as exposed, counters with ``_total``).
METRIC_NAMES: Final = frozenset(
    {
        "leadflow_events_total",
        "leadflow_dead_letters_total",
        "leadflow_stage_transitions_total",
        "leadflow_handoffs_total",
        "leadflow_sla_breaches_total",
        "leadflow_feedback_total",
        "leadflow_outcomes_total",
        "leadflow_processing_seconds",
        "leadflow_batch_processing_seconds",
        "leadflow_event_age_seconds",
        "leadflow_sla_open_handoffs",
        "leadflow_policy_info",
        "leadflow_sla_target_max_breach_ratio",
        "leadflow_sla_target_min_handoffs_per_window",
        "leadflow_sla_target_max_handoffs_per_window",
        "leadflow_sla_target_window_seconds",
        "leadflow_consumer_lag",
        "leadflow_messages_received_total",
        "leadflow_messages_sent_total",
        "leadflow_commit_seconds",
        "leadflow_table_keys",
        "leadflow_ready",
        "leadflow_resyncs_total",
        "leadflow_idle_waits_total",
        "leadflow_shadow_diffs_total",
        "leadflow_account_qualifications_total",
        "leadflow_account_sla_breaches_total",
    }
)


def render() -> bytes:
    """The Prometheus text exposition of :data:`REGISTRY` (for ``GET /metrics``)."""
    return generate_latest(REGISTRY)
