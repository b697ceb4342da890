"""An account's deadlines (contract 4b: "routed and SLA-timed like a lead"), judged on its
history in event time, as ``streams.domain.sla`` does for a lead.

**What meets the SLA.** A qualified account's SLA is met by the first sales contact of
*any* of its contacts: a sales outcome CONTACTED, ACCEPTED, MEETING_HELD,
OPPORTUNITY_CREATED or WON on one of its leads (the lead side puts the outcome's
``occurred_at`` on the lead's account signal as ``touched``), at or after the
qualification's ``qualified_at``. A contact at or before ``sla_due_at`` is within the SLA
(an ``AccountContacted`` with ``within_sla``); after a breach it still stops the
escalation's clock, but is not within the SLA. Dispositions (REJECTED, RECYCLED, LOST) of
one contact are not a contact of the account.

**Deadlines.** A qualified account has at most two open deadlines (``next_deadline``):

1. its SLA: ``sla_due_at`` while no contact was seen. When the account's time passes it,
   ``tick`` reports a breach (``AccountSlaBreached``, at the due time, for the queue that
   missed it) and re-routes the account once to the policy's escalation queue: an
   ``AccountQualified`` with ``path`` ESCALATION, id ``<qualification id>:esc``, the same
   ``qualified_at``, its due from that queue's hours. The escalation's own due, when it
   runs out, is reported (``escalation=True``) and not escalated again (as for leads);
2. its cold timer: ``cold_at``, the event time from which decay alone ends the MQA rule
   (``streams.domain.accounts.cold_at``). At it, the account's time moves to that moment
   and the rule is evaluated again: it moves back (``AccountMovedBack``, which stops the
   SLA) or, if it still holds, the next cold time is computed.

At one time the SLA goes first (the account was still qualified when it ran out).

**Time.** ``tick(state, policy, now)`` moves the account's stream time to ``now`` and runs
every deadline at or before it, in order, each at its own time. The account agent fires a
deadline when its *partition's* merge time (``streams.engine.account_merge``) passes it:
after every signal at or before the deadline, before any later one, the same in the live
agent and in the offline replay. There is no wall-clock variant for accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.domain.accounts import MAX_CONTACTS_LISTED as _LISTED
from streams.domain.accounts import (
    AccountMovedBack,
    AccountQualified,
    AccountSignal,
    AccountState,
    apply_signal,
    cold_at,
    facts,
    move_back,
    record_reasons,
)
from streams.domain.policy import Policy
from streams.domain.routing import assign_rep

CONTACT_TYPES = frozenset({"CONTACTED", "ACCEPTED", "MEETING_HELD", "OPPORTUNITY_CREATED",
                           "WON"})
ESCALATION_SUFFIX = ":esc"


@dataclass(frozen=True, slots=True)
class AccountSlaBreached:
    """A qualification's SLA ran out without a contact (kept and counted, not published)."""

    account_id: str
    qualification_id: str
    queue: str  # the queue whose SLA was missed
    due_at: int
    escalation: bool  # the escalation queue's own SLA (not escalated again)


@dataclass(frozen=True, slots=True)
class AccountContacted:
    """Sales first contacted one of a qualified account's contacts."""

    account_id: str
    qualification_id: str
    queue: str
    at: int
    within_sla: bool


AccountOutput = AccountQualified | AccountMovedBack | AccountSlaBreached | AccountContacted


def step(state: AccountState | None, signal: AccountSignal, policy: Policy
         ) -> tuple[AccountState, list[AccountOutput]]:
    """``apply_signal``, then whether the signal shows the first contact in time."""
    new, outs = apply_signal(state, signal, policy)
    outputs: list[AccountOutput] = list(outs)
    if new is not state:
        contacted = _contact(new)
        if contacted is not None:
            outputs.append(contacted)
    return new, outputs


def _contact(s: AccountState) -> AccountContacted | None:
    """On an owned state: the first contact since the open qualification, if now known."""
    if not s.qualified or s.contacted_at is not None or s.qualified_at is None:
        return None
    since = s.qualified_at
    first = min((m.touched for m in s.members.values()
                 if m.touched is not None and m.touched >= since), default=None)
    if first is None:
        return None
    s.contacted_at = first
    within = not s.escalated and s.sla_due_at is not None and first <= s.sla_due_at
    return AccountContacted(s.account_id, s.qualification_id or "", s.queue or "", first,
                            within)


def sla_deadline(state: AccountState) -> int | None:
    if (not state.qualified or state.contacted_at is not None or state.esc_breached
            or state.sla_due_at is None):
        return None
    return state.sla_due_at


def next_deadline(state: AccountState) -> int | None:
    """Event time (ms) when ``tick`` has something to do for this account, else None."""
    due = sla_deadline(state)
    cold = state.cold_at if state.qualified else None
    if due is None:
        return cold
    return due if cold is None else min(due, cold)


def tick(state: AccountState, policy: Policy, now: int
         ) -> tuple[AccountState, list[AccountOutput]]:
    """The account's deadlines at or before ``now`` (event time), each at its own time.
    Nothing due: the same state object and no outputs."""
    due = next_deadline(state)
    if due is None or due > now:
        return state, []
    s = state.copy()
    outputs: list[AccountOutput] = []
    while due is not None and due <= now:
        if due > s.stream_time:
            s.stream_time = due
        if sla_deadline(s) == due:
            outputs += _breach(s, policy, due)
        else:  # the cold timer
            found = facts(s, policy, contacts=False)
            if found.holds:
                nxt = cold_at(s, policy)
                s.cold_at = nxt if nxt is not None and nxt > due else None
            else:
                outputs.append(move_back(s, found))
        due = next_deadline(s)
    if now > s.stream_time:
        s.stream_time = now
    return s, outputs


def _breach(s: AccountState, policy: Policy, due: int) -> list[AccountOutput]:
    queue = s.queue or ""
    qid = s.qualification_id or ""
    if s.escalated:  # the escalation's own due: reported, not escalated again
        s.esc_breached = True
        return [AccountSlaBreached(s.account_id, qid, queue, due, True)]
    s.escalated = True
    esc = policy.sla.escalation_queue
    owner = assign_rep(s.account_id, policy.routing.by_name[esc].reps)
    esc_due = due + int(policy.sla.due_ms(esc))
    s.queue, s.owner, s.sla_due_at = esc, owner, esc_due
    found = facts(s, policy)
    record = AccountQualified(
        qid + ESCALATION_SUFFIX, s.account_id, esc, owner, found.score, found.grade,
        found.contacts[:_LISTED], record_reasons(found), s.qualified_at or due, esc_due,
        policy.version, path="ESCALATION")
    return [AccountSlaBreached(s.account_id, qid, queue, due, False), record]


__all__ = ["CONTACT_TYPES", "ESCALATION_SUFFIX", "AccountContacted", "AccountOutput",
           "AccountSlaBreached", "next_deadline", "sla_deadline", "step", "tick"]
