"""Records and the per-lead state, as plain typed data.

Input records (`LeadEvent`, `SalesOutcome`) and output records (`StageTransition`,
`QualifiedLead`, `MarketingFeedback`) are frozen slotted dataclasses whose
`from_record` / `to_record` speak exactly the dict shapes of docs/records.md.

`LeadState` is the per-lead memory the domain keeps between events. It is a mutable slotted
object *owned by the domain*: by default `step`/`tick` leave the state they are given alone
and return a new one; with `inplace=True` the caller hands it over (see `engine.py`).
`encode_state` / `decode_state` turn it into compact bytes for the worker's table (median
~0.8 KB: positional JSON, history times relative to the lead's clock, event ids as 64-bit
hashes, fit rules and profile criteria as bitmasks valid for the policy version `pv`).
`decode_state` also reads the states written before the current format (codec.py,
`_STATE_FORMAT`).
"""

from streams.domain.models.codec import (
    decode_state,
    encode_state,
)
from streams.domain.models.records import (
    EVENT_TYPE_INDEX,
    GRADES,
    LEAD_EVENT_TYPES,
    SALES_OUTCOME_TYPES,
    STAGE_INDEX,
    STAGES,
    FeedbackType,
    FitGrade,
    HandoffPath,
    LeadEvent,
    MarketingFeedback,
    Output,
    QualifiedLead,
    Reason,
    SalesOutcome,
    Stage,
    StageTransition,
)
from streams.domain.models.state import (
    CAMPAIGN_LIMIT,
    DEDUPE_LIMIT,
    HISTORY_LIMIT,
    LEGACY_CAP_T,
    CapEntry,
    LeadState,
    ModelScore,
)

__all__ = [
    "CAMPAIGN_LIMIT",
    "DEDUPE_LIMIT",
    "EVENT_TYPE_INDEX",
    "GRADES",
    "HISTORY_LIMIT",
    "LEAD_EVENT_TYPES",
    "LEGACY_CAP_T",
    "SALES_OUTCOME_TYPES",
    "STAGES",
    "STAGE_INDEX",
    "CapEntry",
    "FeedbackType",
    "FitGrade",
    "HandoffPath",
    "LeadEvent",
    "LeadState",
    "MarketingFeedback",
    "ModelScore",
    "Output",
    "QualifiedLead",
    "Reason",
    "SalesOutcome",
    "Stage",
    "StageTransition",
    "decode_state",
    "encode_state",
]
