"""Live vs shadow policy: where their decisions on the same input record differ.

Pure: the worker (``streams.engine.shadow``) and the offline replay
(``streams.engine.memory.replay`` with a shadow) call the same ``diff``, so the diffs the
live worker writes and those the offline reference predicts cannot drift apart.

A side's *decision* after a record is: its stage, whether the record caused a hand-off
(and that hand-off's path and queue), and the band of its score (both sides banded with
the live policy's ``sla.score_bands``, so a band means the same on both). A ``ShadowDiff``
is due when the two decisions differ *and* at least one side's decision moved on this
record (a transition, a hand-off, a new band): a difference that persists while neither
side moves was reported when it arose and is not repeated for every later event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from streams.domain.kpis import band_label
from streams.domain.models import LeadEvent, LeadState, QualifiedLead, SalesOutcome
from streams.domain.policy import Policy
from streams.domain.scoring import current_score

KINDS = ("STAGE", "HANDOFF", "PATH", "QUEUE", "SCORE_BAND")


class Decision(NamedTuple):
    stage: str
    handoff: bool
    path: str | None
    queue: str | None
    band: str


@dataclass(frozen=True, slots=True)
class ShadowDiff:
    diff_id: str
    lead_id: str
    kinds: tuple[str, ...]
    live: Decision
    shadow: Decision
    cause_event_id: str
    occurred_at: int
    live_policy_version: str
    shadow_policy_version: str

    def to_record(self) -> dict[str, Any]:
        live, shadow = self.live, self.shadow
        return {
            "diff_id": self.diff_id,
            "lead_id": self.lead_id,
            "kinds": list(self.kinds),
            "live_stage": live.stage,
            "shadow_stage": shadow.stage,
            "live_path": live.path,
            "shadow_path": shadow.path,
            "live_queue": live.queue,
            "shadow_queue": shadow.queue,
            "live_score_band": live.band,
            "shadow_score_band": shadow.band,
            "cause_event_id": self.cause_event_id,
            "occurred_at": self.occurred_at,
            "live_policy_version": self.live_policy_version,
            "shadow_policy_version": self.shadow_policy_version,
        }


def decision(state: LeadState, outputs: Sequence[Any], policy: Policy,
             bands: tuple[float, ...]) -> Decision:
    """A side's decision after a record (``outputs``: what the record caused)."""
    handoff: QualifiedLead | None = None
    for out in outputs:
        if type(out) is QualifiedLead:
            handoff = out  # the last one: an escalation caught up before a new hand-off
    return Decision(state.stage.value, handoff is not None,
                    handoff.path.value if handoff is not None else None,
                    handoff.queue if handoff is not None else None,
                    band_label(current_score(state, policy.scoring), bands))


def _standing(state: LeadState | None, policy: Policy, bands: tuple[float, ...]
              ) -> Decision | None:
    """A side's decision before the record (nothing caused yet)."""
    return None if state is None else decision(state, (), policy, bands)


def diff(live_before: LeadState | None, live_after: LeadState | None,
         live_outputs: Sequence[Any], shadow_before: LeadState | None,
         shadow_after: LeadState | None, shadow_outputs: Sequence[Any],
         cause: LeadEvent | SalesOutcome, policies: tuple[Policy, Policy]
         ) -> ShadowDiff | None:
    """The ``ShadowDiff`` one input record gives, or None. ``policies``: (live, shadow).
    A side with no state after the record (an outcome for an unknown lead, dead-lettered)
    decided nothing."""
    if live_after is None or shadow_after is None:
        return None
    live_policy, shadow_policy = policies
    bands = live_policy.sla.score_bands
    live = decision(live_after, live_outputs, live_policy, bands)
    shadow = decision(shadow_after, shadow_outputs, shadow_policy, bands)
    if live == shadow:
        return None
    if (live == _standing(live_before, live_policy, bands)
            and shadow == _standing(shadow_before, shadow_policy, bands)):
        return None  # neither moved: this difference was reported when it arose
    kinds = tuple(kind for kind, a, b in zip(KINDS, live, shadow, strict=True) if a != b)
    return ShadowDiff(f"shadowdiff:{cause.lead_id}:{cause.event_id}", cause.lead_id, kinds,
                      live, shadow, cause.event_id, cause.occurred_at, live_policy.version,
                      shadow_policy.version)
