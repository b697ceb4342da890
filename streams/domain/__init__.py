"""The pure domain core: everything that decides what happens to a lead.

Plain functions over plain data: no Kafka, no asyncio, no clock reads. The streaming worker
and the offline backtest call the same `step` / `tick`.
"""

from streams.domain.engine import event_hash, next_deadline, step, tick
from streams.domain.kpis import KpiAggregate, window_of, window_start
from streams.domain.models import (
    FeedbackType,
    HandoffPath,
    LeadEvent,
    LeadState,
    MarketingFeedback,
    Output,
    QualifiedLead,
    Reason,
    SalesOutcome,
    Stage,
    StageTransition,
    decode_state,
    encode_state,
)
from streams.domain.policy import Policy, PolicyError, Problem, load_policy, parse_policy

__all__ = [
    "FeedbackType",
    "HandoffPath",
    "KpiAggregate",
    "LeadEvent",
    "LeadState",
    "MarketingFeedback",
    "Output",
    "Policy",
    "PolicyError",
    "Problem",
    "QualifiedLead",
    "Reason",
    "SalesOutcome",
    "Stage",
    "StageTransition",
    "decode_state",
    "encode_state",
    "event_hash",
    "load_policy",
    "next_deadline",
    "parse_policy",
    "step",
    "tick",
    "window_of",
    "window_start",
]
