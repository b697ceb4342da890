"""The state machine: `step(state, event, policy, now)` and `tick(state, policy, now)`.

Pure: no I/O, no clock reads. By default `step` never mutates the state it is given; it
returns a new state (or the very same object when nothing changed, e.g. a duplicate) and the
outputs. `inplace=True` skips the copy when the caller owns the state (the worker decodes a
fresh state per record; backtest keeps its own dict) — about 2-3x faster.
Decisions use event time (`occurred_at`), so the worker and `backtest` agree; `now` is only
used by `tick` (SLA deadlines are processing-time facts). `step` accepts `now` for symmetry.

Decisions where the contract is silent:
- Duplicates: the last 64 event ids per lead are remembered (64-bit hashes); a duplicate
  returns the same state object and no outputs.
- After ERASED every event and outcome is ignored: no outputs, only `ignored` is counted.
- UNKNOWN events score nothing; they are counted in `counts` and `ignored`.
- DISQUALIFIED, WON and LOST are terminal for marketing events: events are still recorded
  (score, history) but never move the stage. LOST can be RECYCLED by sales -> NURTURE.
- Disqualify rules apply before sales accepted the lead (RAW, ENGAGED, NURTURE, MQL); an
  open hand-off is closed by a disqualification.
- Sales outcomes are authoritative: they move the lead forward in MQL -> SAL -> SQL ->
  OPPORTUNITY -> WON|LOST from any non-terminal stage, even without a hand-off (e.g. WON for
  a RAW lead -> WON with CONVERTED feedback). Backward or repeated ones (ACCEPTED for a lead
  in SQL) are ignored and counted. Outcomes for DISQUALIFIED or WON leads are ignored.
- REJECTED/RECYCLED -> NURTURE (feedback with the reason, "unspecified" if missing); with
  `stages.nurture.reset_score` the score restarts from zero, so re-qualifying needs new
  engagement; re-qualifying emits a new hand-off with a new SLA clock.
- A rep referral fast-tracks only from RAW/ENGAGED/NURTURE and only if it carries a rep_id
  and meets `referral`; otherwise it is scored like any other event.
- Outcomes do not move the lead's event-time clock (the score's reference).
- A sales outcome later than an SLA deadline no tick handled first gets what the tick at
  that deadline would have emitted (breach, escalation; see `sla.catch_up`), then applies
  to the hand-off open at its time. Lead events do not catch up: the worker and backtest
  tick deadlines before any later record.
"""

from __future__ import annotations

from zlib import adler32, crc32

from streams.domain import criteria as crit
from streams.domain import emit, fit, scoring
from streams.domain.models import (
    CAMPAIGN_LIMIT,
    DEDUPE_LIMIT,
    EVENT_TYPE_INDEX,
    HISTORY_LIMIT,
    FeedbackType,
    HandoffPath,
    LeadEvent,
    LeadState,
    Output,
    Reason,
    SalesOutcome,
    Stage,
)
from streams.domain.policy import Policy
from streams.domain.routing import assign_rep, choose_queue
from streams.domain.sla import catch_up, next_deadline, tick
from streams.domain.stages import (
    PRE_SALES,
    SCORING_STAGES,
    model_move,
    outcome_move,
    score_move,
)

__all__ = ["event_hash", "next_deadline", "step", "tick"]

_UNKNOWN = EVENT_TYPE_INDEX["UNKNOWN"]
_ERASED, _RAW, _ENGAGED = Stage.ERASED, Stage.RAW, Stage.ENGAGED  # globals: faster lookups
_CONTACT_TYPES = frozenset({"CONTACTED", "ACCEPTED", "MEETING_HELD", "OPPORTUNITY_CREATED",
                            "WON"})
_REASON_TYPES = frozenset({"REJECTED", "RECYCLED", "LOST"})


def event_hash(event_id: str) -> int:
    """A stable 64-bit hash of an event id (the dedupe memory keeps these, not the ids):
    CRC-32 and Adler-32 side by side, two unrelated checksums, cheap on the hot path."""
    b = event_id.encode("utf-8")
    return crc32(b) << 32 | adler32(b)


def step(state: LeadState | None, event: LeadEvent | SalesOutcome, policy: Policy, now: int,
         *, inplace: bool = False, explain: bool = True) -> tuple[LeadState, list[Output]]:
    """Apply one lead event or sales outcome. Returns the new state and the outputs.

    By default the given state is left untouched (a copy is returned). With `inplace=True`
    the caller hands the state over and it is updated in place (and returned): the worker,
    which decodes a fresh state from its table for each record, and backtest use this to skip
    the copy, the largest single cost of a step.

    `explain=False` leaves the outputs' `reasons` empty (the top contributions are the
    costliest part of an output and backtest's report never reads them); everything else,
    state included, is the same.
    """
    if state is None:
        state = LeadState(event.lead_id)
    if state.stage is _ERASED:
        s = state if inplace else state.copy()
        s.ignored += 1
        return s, []
    b = event.event_id.encode("utf-8")
    h = crc32(b) << 32 | adler32(b)  # = event_hash(event.event_id), inlined: hot path
    if h in state.seen:
        return state, []
    s = state if inplace else state.copy()
    seen = s.seen
    seen.append(h)
    if len(seen) > DEDUPE_LIMIT:
        del seen[0]
    s.events += 1
    if type(event) is SalesOutcome:
        return s, _outcome(s, event, policy, explain)
    return s, _lead_event(s, event, policy, explain)  # type: ignore[arg-type]


def _lead_event(s: LeadState, ev: LeadEvent, policy: Policy, explain: bool) -> list[Output]:
    etype = ev.type
    ti = EVENT_TYPE_INDEX.get(etype, _UNKNOWN)
    s.counts[ti] = s.counts.get(ti, 0) + 1
    if ti == _UNKNOWN:
        s.ignored += 1
        return []
    if etype == "ERASURE_REQUESTED":
        return _erase(s, ev, policy, explain)
    t = ev.occurred_at
    if t > s.clock:
        s.clock = t
    # profile
    changed = False  # a watched attribute (read by fit/disqualify/criteria) changed
    attrs = ev.attributes
    if attrs:
        prof = s.profile
        watched = policy.watched_attrs
        for k, v in attrs.items():
            if prof.get(k) != v:
                prof[k] = v
                if k in watched:
                    changed = True
    # history (bounded; when full the oldest by event time goes)
    hist = s.history
    hist.append((ti, t))
    if len(hist) > HISTORY_LIMIT:
        oldest = min(range(len(hist)), key=lambda i: hist[i][1])
        del hist[oldest]
    # campaigns (first touch always kept)
    c = ev.campaign_id
    if c:
        if s.first_touch is None:
            s.first_touch = c
        s.last_touch = c
        camps = s.campaigns
        if c not in camps:
            camps.append(c)
            if len(camps) > CAMPAIGN_LIMIT:
                del camps[1]
    # score
    sc = policy.scoring
    scoring.score_event(s, ev, sc)
    if policy.models:
        scoring.score_models(s, ev, policy.models)
    if changed or policy.fit.uses_events or s.pv != policy.version:
        changed = True  # (first event, or the policy changed since: re-evaluate everything)
        fit.refresh(s, policy)
    stage = s.stage
    if stage in PRE_SALES and policy.disqualify and (changed or policy.disqualify_uses_events):
        for rule in policy.disqualify:
            if rule.when.test(s):
                return _disqualify(s, ev, rule.name, policy, explain)
    if stage not in SCORING_STAGES:
        return []
    if etype == "REP_REFERRAL" and ev.rep_id and _referral_ok(s, policy):
        return _fast_track(s, ev, policy, explain)
    if policy.mql_models:
        return _by_model(s, ev, policy, explain)
    score = 0.0
    if s.score_sum:
        score = s.score_sum * 2.0 ** ((s.anchor - s.clock) / sc.half_life_ms)
    if score < sc.floor:
        score = sc.floor
    if score < (policy.stages.engaged_score if stage is _RAW else policy.stages.mql_score):
        return []  # the common case: nothing to decide
    to = score_move(s, score, policy)
    if to is None:
        return []
    if to is _ENGAGED:
        return [emit.transition(s, to, ev.event_id, t, policy, explain=explain)]
    tr = emit.transition(s, Stage.MQL, ev.event_id, t, policy, explain=explain)
    q = choose_queue(s, policy.routing)
    return [tr, emit.handoff(s, HandoffPath.SCORE, q.name, assign_rep(s.lead_id, q.reps), t,
                             policy, criteria=tr.criteria_met, explain=explain)]


def _by_model(s: LeadState, ev: LeadEvent, policy: Policy, explain: bool) -> list[Output]:
    """The MQL rule with scoring models (contract 4b): the hand-off names the model."""
    to, model = model_move(s, policy)
    if to is None:
        return []
    t = ev.occurred_at
    if to is _ENGAGED:
        return [emit.transition(s, to, ev.event_id, t, policy, explain=explain)]
    tr = emit.transition(s, Stage.MQL, ev.event_id, t, policy, explain=explain, model=model)
    q = choose_queue(s, policy.routing, None if model is None else model.name)
    return [tr, emit.handoff(s, HandoffPath.SCORE, q.name, assign_rep(s.lead_id, q.reps), t,
                             policy, criteria=tr.criteria_met, explain=explain, model=model)]


def _referral_ok(s: LeadState, policy: Policy) -> bool:
    ref = policy.referral
    if ref.when is not None and not ref.when.test(s):
        return False
    met = set(crit.met(s, policy))
    return all(c in met for c in ref.require_criteria)


def _fast_track(s: LeadState, ev: LeadEvent, policy: Policy, explain: bool) -> list[Output]:
    cause = Reason(f"referral:{ev.rep_id}", 0.0)
    tr = emit.transition(s, Stage.MQL, ev.event_id, ev.occurred_at, policy, cause,
                         explain=explain)
    return [tr, emit.handoff(s, HandoffPath.REFERRAL, policy.referral.queue, ev.rep_id,
                             ev.occurred_at, policy, criteria=tr.criteria_met, explain=explain)]


def _disqualify(s: LeadState, ev: LeadEvent, rule: str, policy: Policy, explain: bool
                ) -> list[Output]:
    s.disq_rule = rule
    t = ev.occurred_at
    outs: list[Output] = [emit.transition(s, Stage.DISQUALIFIED, ev.event_id, t, policy,
                                          Reason(f"disqualify:{rule}", 0.0), explain=explain)]
    outs.append(emit.feedback(s, FeedbackType.DISQUALIFIED, rule, t, policy))
    s.ho_closed = True
    return outs


def _erase(s: LeadState, ev: LeadEvent, policy: Policy, explain: bool) -> list[Output]:
    """Drop personal data: profile, history, campaigns, explanations, hand-off details.
    What remains: lead id, stage ERASED, counters (events, per-type counts, outputs, ignored)
    and the dedupe hashes (not personal)."""
    s.profile = {}
    s.history = []
    s.campaigns = []
    s.first_touch = s.last_touch = None
    scoring.reset(s)
    s.fit_points, s.grade, s.fmask, s.pcrit = 0.0, "D", 0, 0
    s.criteria = ()
    s.caps = {}
    s.owner = None
    s.ho_at = None
    s.ho_queue = s.ho_path = ""
    s.ho_due, s.ho_score, s.ho_contact = 0, 0.0, None
    s.ho_escalated = s.ho_contact_reported = s.ho_accepted = s.ho_closed = False
    s.ho_esc_breached = False
    s.ho_model = None
    s.disq_rule = None
    return [emit.transition(s, Stage.ERASED, ev.event_id, ev.occurred_at, policy,
                            Reason("erasure_requested", 0.0), explain=explain)]


def _outcome(s: LeadState, o: SalesOutcome, policy: Policy, explain: bool) -> list[Output]:
    otype = o.type
    t = o.occurred_at
    to = outcome_move(s.stage, otype)
    if to is None and otype != "CONTACTED":
        s.ignored += 1
        return []
    outs: list[Output] = []
    if s.ho_at is not None and not s.ho_closed:
        outs += catch_up(s, t, policy, explain)  # deadlines before t no tick handled yet
        if otype in _CONTACT_TYPES and s.ho_contact is None:
            s.ho_contact = max(t, s.ho_at)
        if otype != "CONTACTED":
            s.ho_closed = True
    if to is None:  # CONTACTED: records the first contact only
        return outs
    cause = Reason(f"outcome:{otype}", 0.0)
    outs.append(emit.transition(s, to, o.event_id, t, policy, cause, explain=explain))
    reason = (o.reason or "unspecified") if otype in _REASON_TYPES else o.reason
    if otype == "ACCEPTED":
        s.ho_accepted = True
        outs.append(emit.feedback(s, FeedbackType.ACCEPTED, reason, t, policy))
    elif otype == "REJECTED" or otype == "RECYCLED":
        outs.append(emit.feedback(s, FeedbackType(otype), reason, t, policy))
        if policy.stages.nurture_reset_score:
            scoring.reset(s)
    elif otype == "WON":
        outs.append(emit.feedback(s, FeedbackType.CONVERTED, reason, t, policy, o.amount))
    elif otype == "LOST":
        outs.append(emit.feedback(s, FeedbackType.LOST, reason, t, policy))
    if o.rep_id and to in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY):
        s.owner = o.rep_id
    return outs
