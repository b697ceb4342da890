"""Accounts (ABM, contract 4b): which account a lead belongs to, its buying-group role, the
compact per-lead signal the lead side sends, and the account state it feeds.

The account side never sees a lead's profile: a signal carries the lead id, its score (as
``score_sum`` scaled to ``anchor``, so the account sums decayed scores exactly at any
time), stage, role, grade and a few firmographics for routing (country, employees,
industry: company facts, not personal ones).

**Order independence.** An account keeps, per lead, only the latest signal by (lead clock,
lead version); an older or equal signal is ignored (so redelivery is a no-op). Its stream
time is the largest lead clock it has seen. Everything the MQA rule reads (members, stream
time) and hence ``qualified`` is therefore the same for any order of the same signals.
The qualification counter and the moments of qualification are history (they depend on
the order in which the rule first held), like a lead's transitions.

**Qualified and moved back.** When the rule holds and the account is not qualified, it
qualifies: an ``AccountQualified`` (id ``aq:<account_id>:<n>``), routed and SLA-timed.
When the rule stops holding (contacts went cold as the account's time advanced, or a
contact was erased, disqualified or left), the account moves back: an ``AccountMovedBack``
output that the agent keeps in the account state and counts, but does not publish (the
contract has no record for it); a later qualification is a new ``AccountQualified`` with
the next id. Cold contacts are noticed when the account's time advances: on its next
signal, or at ``cold_at``, the event time from which decay alone ends the rule, a deadline
the account agent fires on its partition's stream time (``streams.domain.account_sla``,
which also keeps the qualification's SLA).

**Erasure.** An erased lead's signal is a removal: its member entry keeps only its lead id
and (clock, version), so a stale signal cannot bring it back; its score, role and grade
are gone.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from streams.domain.models import GRADES, LeadState, Reason
from streams.domain.policy import HOUR_MS, Policy
from streams.domain.policy.accounts_section import AccountsPolicy
from streams.domain.routing import assign_rep, choose_queue

FIRMOGRAPHICS = ("country", "employees", "industry")
INACTIVE_STAGES = frozenset({"DISQUALIFIED", "ERASED"})
MAX_CONTACTS_LISTED = 50  # contacts in an AccountQualified record, best scores first


def account_key(profile: dict[str, str], accounts: AccountsPolicy) -> str | None:
    """The lead's account id: the key attribute when present, else the e-mail's domain
    (lower case) unless it is a free-mail domain; None when neither."""
    if accounts.key_attribute is not None:
        value = profile.get(accounts.key_attribute, "").strip()
        if value:
            return value
    if accounts.email_domain:
        email = profile.get("email", "")
        at = email.rfind("@")
        if at > 0:
            domain = email[at + 1:].strip().lower().rstrip(".")
            if "." in domain and domain not in accounts.free_mail:
                return domain
    return None


def role_of(title: str | None, accounts: AccountsPolicy) -> str | None:
    """The first buying-group role whose title pattern matches, else None."""
    if not title:
        return None
    for name, patterns in accounts.roles:
        for pattern in patterns:
            if pattern.search(title):
                return name
    return None


@dataclass(frozen=True, slots=True)
class AccountSignal:
    """What the account side knows of one lead, as of the lead's (clock, version)."""

    lead_id: str
    account_id: str
    clock: int  # the lead's event-time clock
    version: int  # the lead's records applied: orders signals of equal clock
    removed: bool = False  # erased, or moved to another account: drop its contribution
    score_sum: float = 0.0
    anchor: int = 0
    half_life_ms: float = 1.0
    stage: str = "RAW"
    role: str | None = None
    grade: str = "D"
    firmo: tuple[str, str, str] = ("", "", "")  # country, employees, industry
    # event time of the lead's latest sales contact (CONTACTED, ACCEPTED...) the account
    # knows of: kept as a maximum over the lead's signals, whatever their order
    touched: int | None = None

    def order(self) -> tuple[int, int]:
        return (self.clock, self.version)

    def facts(self) -> tuple[Any, ...]:
        """What the account reads (not when): a change of these is worth a signal."""
        return (self.account_id, self.removed, self.score_sum, self.anchor, self.stage,
                self.role, self.grade, self.firmo)

    def score_at(self, t: int) -> float:
        if self.removed or self.score_sum == 0.0:
            return 0.0
        x = min((self.anchor - t) / self.half_life_ms, 256.0)
        return float(self.score_sum * 2.0**x)

    def encode(self) -> bytes:
        body: list[Any] = [self.lead_id, self.account_id, self.clock, self.version,
                           self.removed, self.score_sum, self.anchor, self.half_life_ms,
                           self.stage, self.role, self.grade, list(self.firmo)]
        if self.touched is not None:  # a 13th element only when there is one
            body.append(self.touched)
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> AccountSignal:
        return cls.from_list(json.loads(raw))

    @classmethod
    def from_list(cls, data: Any) -> AccountSignal:
        if not isinstance(data, list) or len(data) not in (12, 13):
            raise ValueError("bad account signal")
        (lead_id, account_id, clock, version, removed, score_sum, anchor, hl, stage, role,
         grade, firmo) = data[:12]
        touched = data[12] if len(data) == 13 else None
        if not isinstance(lead_id, str) or not isinstance(account_id, str):
            raise ValueError("bad account signal")
        return cls(lead_id, account_id, int(clock), int(version), bool(removed),
                   float(score_sum), int(anchor), float(hl), str(stage),
                   None if role is None else str(role), str(grade),
                   (str(firmo[0]), str(firmo[1]), str(firmo[2])),
                   None if touched is None else int(touched))

    def removal(self) -> AccountSignal:
        """The same lead's removal from this account (no score, role or grade kept; the
        time of its last sales contact is not personal and stays)."""
        return AccountSignal(self.lead_id, self.account_id, self.clock, self.version, True,
                             touched=self.touched)


def signal_of(state: LeadState | None, policy: Policy) -> AccountSignal | None:
    """The lead's signal, or None when it has no account (or the policy no accounts)."""
    accounts = policy.accounts
    if state is None or accounts is None:
        return None
    account = account_key(state.profile, accounts)
    if account is None:
        return None
    profile = state.profile
    return AccountSignal(
        state.lead_id, account, state.clock, state.events,
        removed=str(state.stage) == "ERASED",
        score_sum=state.score_sum, anchor=state.anchor,
        half_life_ms=policy.scoring.half_life_ms, stage=str(state.stage),
        role=role_of(profile.get("title"), accounts), grade=state.grade,
        firmo=(profile.get("country", ""), profile.get("employees", ""),
               profile.get("industry", "")))


def signals_for(before: AccountSignal | None, after: AccountSignal | None, clock: int,
                version: int) -> list[AccountSignal]:
    """The signals a lead's change sends (``clock``, ``version``: the lead's after it):
    none when nothing the account reads changed; a removal from the old account when it
    left it, or was erased (its profile, hence its account key, is gone)."""
    gone = None
    if before is not None and not before.removed and (
            after is None or after.account_id != before.account_id):
        gone = replace(before.removal(), clock=clock, version=version)
    if after is None:
        return [] if gone is None else [gone]
    if gone is None and before is not None and before.facts() == after.facts():
        return []
    return [after] if gone is None else [gone, after]


@dataclass(frozen=True, slots=True)
class AccountContact:
    lead_id: str
    role: str | None
    score: float


@dataclass(frozen=True, slots=True)
class AccountQualified:
    qualification_id: str
    account_id: str
    queue: str
    owner_rep_id: str | None
    score: float
    fit_grade: str
    contacts: tuple[AccountContact, ...]
    reasons: tuple[Reason, ...]
    qualified_at: int
    sla_due_at: int
    policy_version: str
    # SCORE: the account met the MQA rule; ESCALATION: re-routed to the escalation queue
    # after an SLA breach (the record is the same shape; its id ends in ":esc")
    path: str = "SCORE"

    def to_record(self) -> dict[str, Any]:
        return {
            "qualification_id": self.qualification_id, "account_id": self.account_id,
            "queue": self.queue, "owner_rep_id": self.owner_rep_id, "score": self.score,
            "fit_grade": self.fit_grade,
            "contacts": [{"lead_id": c.lead_id, "role": c.role, "score": c.score}
                         for c in self.contacts],
            "reasons": [{"rule": r.rule, "points": r.points} for r in self.reasons],
            "qualified_at": self.qualified_at, "sla_due_at": self.sla_due_at,
            "policy_version": self.policy_version,
        }


@dataclass(frozen=True, slots=True)
class AccountMovedBack:
    """The account no longer meets the MQA rule (kept in its state, not published)."""

    account_id: str
    qualification_id: str  # the qualification it moves back from
    at: int
    reason: str


@dataclass
class AccountState:
    account_id: str
    members: dict[str, AccountSignal] = field(default_factory=dict)
    stream_time: int = 0
    qualified: bool = False
    seq: int = 0  # qualifications so far
    qualification_id: str | None = None
    qualified_at: int | None = None
    queue: str | None = None
    owner: str | None = None
    sla_due_at: int | None = None
    moved_back_at: int | None = None
    moved_back_reason: str | None = None
    # the current qualification's SLA and cold timer (streams.domain.account_sla)
    contacted_at: int | None = None  # first sales contact of a contact since qualified_at
    escalated: bool = False  # breached and re-routed: sla_due_at is the escalation's
    esc_breached: bool = False  # the escalation breached too: no SLA deadline left
    cold_at: int | None = None  # when decay alone ends the MQA rule (None: never)

    def copy(self) -> AccountState:
        return replace(self, members=dict(self.members))

    def encode(self) -> bytes:
        return json.dumps({
            "a": self.account_id, "t": self.stream_time, "q": self.qualified, "n": self.seq,
            "qid": self.qualification_id, "qat": self.qualified_at, "queue": self.queue,
            "owner": self.owner, "due": self.sla_due_at, "mb": self.moved_back_at,
            "mbr": self.moved_back_reason, "ca": self.contacted_at,
            "esc": self.escalated, "eb": self.esc_breached, "cold": self.cold_at,
            "m": [json.loads(s.encode()) for _, s in sorted(self.members.items())],
        }, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> AccountState:
        d = json.loads(raw)
        members = {}
        for item in d["m"]:
            s = AccountSignal.decode(json.dumps(item).encode())
            members[s.lead_id] = s
        # states written before the SLA and cold timer lack their keys
        return cls(d["a"], members, int(d["t"]), bool(d["q"]), int(d["n"]), d["qid"],
                   d["qat"], d["queue"], d["owner"], d["due"], d["mb"], d["mbr"],
                   d.get("ca"), bool(d.get("esc", False)), bool(d.get("eb", False)),
                   d.get("cold"))


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """The MQA rule's inputs at the account's stream time, and its verdict."""

    score: float
    contacts: tuple[AccountContact, ...]  # active contacts, best score first
    engaged: int
    roles: tuple[str, ...]  # covered by engaged contacts, sorted
    grade: str
    holds: bool
    unmet: tuple[str, ...]


def facts(state: AccountState, policy: Policy, *, contacts: bool = True,
          at: int | None = None) -> AccountFacts:
    """The rule's verdict at the account's stream time (or at ``at``); ``contacts=False``
    leaves the contact list out (the per-signal check: no per-contact objects, no sort)."""
    accounts = policy.accounts
    assert accounts is not None
    t = state.stream_time if at is None else at
    floor = policy.scoring.floor
    engaged_at = policy.stages.engaged_score
    listed: list[AccountContact] = []
    roles: set[str] = set()
    engaged = active = 0
    total = 0.0
    best = len(GRADES) - 1
    grade_index = _GRADE_INDEX
    for lead_id, s in state.members.items():
        if s.removed or s.stage in INACTIVE_STAGES:
            continue
        active += 1
        score = s.score_at(t)
        if score < floor:
            score = floor
        total += score
        g = grade_index.get(s.grade, best)
        if g < best:
            best = g
        if score >= engaged_at:
            engaged += 1
            if s.role is not None:
                roles.add(s.role)
        if contacts:
            listed.append(AccountContact(lead_id, s.role, round(score, 6)))
    listed.sort(key=lambda c: (-c.score, c.lead_id))
    total = round(total, 6)
    grade = GRADES[best]
    unmet = []
    if total < accounts.min_score:
        unmet.append(f"account score {total:.1f} < {accounts.min_score:g}")
    if engaged < accounts.min_engaged:
        unmet.append(f"engaged contacts {engaged} < {accounts.min_engaged}")
    if len(roles) < accounts.min_roles:
        unmet.append(f"roles covered {len(roles)} < {accounts.min_roles}")
    if grade_index[grade] > grade_index[accounts.min_grade]:
        unmet.append(f"fit grade {grade} below {accounts.min_grade}")
    return AccountFacts(total, tuple(listed), engaged, tuple(sorted(roles)), grade,
                        not unmet and active > 0, tuple(unmet))


_GRADE_INDEX = {g: i for i, g in enumerate(GRADES)}


def _route(state: AccountState, policy: Policy) -> tuple[str, str | None]:
    accounts = policy.accounts
    assert accounts is not None
    routing = policy.routing
    if accounts.queue is not None:
        queue = routing.by_name[accounts.queue]
    else:
        # the firmographics of the latest active contact (a function of the members only)
        active = [s for s in state.members.values()
                  if not s.removed and s.stage not in INACTIVE_STAGES]
        latest = max(active, key=lambda s: (s.order(), s.lead_id))
        probe = LeadState(state.account_id)
        probe.profile = {k: v for k, v in zip(FIRMOGRAPHICS, latest.firmo, strict=True) if v}
        queue = choose_queue(probe, routing)
    return queue.name, assign_rep(state.account_id, queue.reps)


def apply_signal(state: AccountState | None, signal: AccountSignal, policy: Policy
                 ) -> tuple[AccountState, list[AccountQualified | AccountMovedBack]]:
    """The account after one signal, and what that signal caused. A signal not newer than
    the one the account holds for its lead changes nothing (the same state object), except
    that a later sales contact it carries is kept (the maximum: order-independent)."""
    if state is None:
        state = AccountState(signal.account_id)
    held = state.members.get(signal.lead_id)
    touched = signal.touched
    if held is not None:
        if held.touched is not None and (touched is None or held.touched > touched):
            touched = held.touched
        if signal.order() <= held.order():
            if touched == held.touched:
                return state, []
            new = state.copy()
            new.members[signal.lead_id] = replace(held, touched=touched)
            return new, []
    new = state.copy()
    entry = signal.removal() if signal.removed else signal
    new.members[signal.lead_id] = entry if entry.touched == touched else replace(
        entry, touched=touched)
    if signal.clock > new.stream_time:
        new.stream_time = signal.clock
    found = facts(new, policy, contacts=False)
    outputs: list[AccountQualified | AccountMovedBack] = []
    if found.holds and not new.qualified:
        outputs.append(qualify(new, policy))
    elif new.qualified and not found.holds:
        outputs.append(move_back(new, found))
    elif new.qualified:  # the members changed: so may the decay
        new.cold_at = cold_at(new, policy, holds=True)
    return new, outputs


def qualify(new: AccountState, policy: Policy) -> AccountQualified:
    """The (owned) account qualifies at its stream time: routed, SLA-timed, cold-timed."""
    found = facts(new, policy)  # with its contacts, for the record
    new.seq += 1
    new.qualified = True
    qid = f"aq:{new.account_id}:{new.seq}"
    queue, owner = _route(new, policy)
    due = new.stream_time + int(policy.sla.due_ms(queue))
    new.qualification_id, new.qualified_at = qid, new.stream_time
    new.queue, new.owner, new.sla_due_at = queue, owner, due
    new.moved_back_at = new.moved_back_reason = None
    new.contacted_at = None
    new.escalated = new.esc_breached = False
    new.cold_at = cold_at(new, policy, holds=found.holds)
    return AccountQualified(
        qid, new.account_id, queue, owner, found.score, found.grade,
        found.contacts[:MAX_CONTACTS_LISTED], record_reasons(found), new.stream_time, due,
        policy.version)


def record_reasons(found: AccountFacts) -> tuple[Reason, ...]:
    return (Reason("account_score", found.score),
            Reason("engaged_contacts", float(found.engaged)),
            Reason("roles_covered", float(len(found.roles))),
            *(Reason(f"role:{r}", 1.0) for r in found.roles))


def move_back(new: AccountState, found: AccountFacts) -> AccountMovedBack:
    """The (owned) account no longer meets the rule at its stream time: its SLA and cold
    timer stop."""
    new.qualified = False
    reason = "; ".join(found.unmet) or "no active contacts"
    new.moved_back_at, new.moved_back_reason = new.stream_time, reason
    new.sla_due_at = new.cold_at = None
    return AccountMovedBack(new.account_id, new.qualification_id or "", new.stream_time,
                            reason)


COLD_HORIZON_HALF_LIVES = 64  # decayed this long, a score is 2**-64 of itself: never


def holds_at(state: AccountState, policy: Policy, t: int) -> bool:
    """The MQA rule at time ``t`` on the account's members (nothing else changed)."""
    return facts(state, policy, contacts=False, at=t).holds


def cold_at(state: AccountState, policy: Policy, *, holds: bool = False) -> int | None:
    """The first event time (ms) after the account's stream time at which the MQA rule
    stops holding through decay alone (no further signal), else None.

    Scores decay with the policy's half-life, so engaged contacts, roles covered and the
    account score only fall as time passes. The moment is first estimated in closed form
    (each engaged contact's crossing of the ENGAGED score; the account score's crossing of
    the minimum) and confirmed with the rule itself (``holds_at`` one millisecond before
    and at it); when that fails (negative scores, a floor, rounding), it is found by
    doubling then bisecting ``holds_at`` (~60 evaluations). Where negative scores make the
    verdict non-monotone this finds *a* change; the timer's firing re-evaluates the rule
    and sets the next one (never an early move back). ``holds``: the caller has just
    seen the rule hold at the stream time."""
    t0 = state.stream_time
    if not state.qualified or not (holds or holds_at(state, policy, t0)):
        return None
    guess = _cold_guess(state, policy, t0)
    if guess is not None and guess > t0 + 1:
        # the closed form is exact to float rounding: look one millisecond either side
        before = holds_at(state, policy, guess - 1)
        if before and not holds_at(state, policy, guess):
            return guess
        if before and not holds_at(state, policy, guess + 1):
            return guess + 1
        if not before and holds_at(state, policy, guess - 2):
            return guess - 1
    return _cold_search(state, policy, t0)


def _cold_guess(state: AccountState, policy: Policy, t0: int) -> int | None:
    """The closed-form estimate of ``cold_at`` when every active score is positive and
    decays with one half-life, else None."""
    accounts = policy.accounts
    assert accounts is not None
    engaged_at = policy.stages.engaged_score
    crossings: list[tuple[float, str | None]] = []
    total = 0.0
    half_life: float | None = None
    for s in state.members.values():
        if s.removed or s.stage in INACTIVE_STAGES:
            continue
        if s.score_sum < 0.0 or (half_life is not None and s.half_life_ms != half_life):
            return None
        half_life = s.half_life_ms
        score = s.score_at(t0)
        total += score
        if score >= engaged_at > 0.0:
            crossings.append((s.anchor + half_life * math.log2(s.score_sum / engaged_at),
                              s.role))
    if half_life is None or policy.scoring.floor > 0.0:
        return None
    found: list[float] = []
    if accounts.min_score > 0.0 and total > 0.0:
        found.append(t0 + half_life * math.log2(total / accounts.min_score))
    engaged = len(crossings)
    roles = Counter(r for _, r in crossings if r is not None)
    for at, role in sorted(crossings, key=lambda c: c[0]):
        engaged -= 1
        if role is not None:
            roles[role] -= 1
            if not roles[role]:
                del roles[role]
        if engaged < accounts.min_engaged or len(roles) < accounts.min_roles:
            found.append(at)
            break
    return math.ceil(min(found)) if found else None


def _cold_search(state: AccountState, policy: Policy, t0: int) -> int | None:
    half_life = max(int(policy.scoring.half_life_ms), 1)
    step = max(half_life // 16, 1)
    lo, hi = t0, t0 + step
    while holds_at(state, policy, hi):
        lo = hi
        step *= 2
        if step > COLD_HORIZON_HALF_LIVES * half_life:
            return None
        hi = lo + step
    while hi - lo > 1:  # holds at lo, not at hi
        mid = (lo + hi) // 2
        if holds_at(state, policy, mid):
            lo = mid
        else:
            hi = mid
    return hi


def account_view(state: AccountState, policy: Policy) -> dict[str, Any]:
    """``GET /accounts/{id}`` and ``leadflow account``: lead ids, roles and scores only."""
    found = facts(state, policy) if policy.accounts is not None else None
    return {
        "account_id": state.account_id,
        "status": "QUALIFIED" if state.qualified else "NOT_QUALIFIED",
        "stream_time": state.stream_time,
        "score": None if found is None else found.score,
        "fit_grade": None if found is None else found.grade,
        "engaged_contacts": None if found is None else found.engaged,
        "roles_covered": [] if found is None else list(found.roles),
        "why_not": [] if found is None or found.holds else list(found.unmet),
        "contacts": [] if found is None else [
            {"lead_id": c.lead_id, "role": c.role, "score": c.score}
            for c in found.contacts],
        "qualification": None if state.qualification_id is None else {
            "qualification_id": state.qualification_id, "queue": state.queue,
            "owner_rep_id": state.owner, "qualified_at": state.qualified_at,
            "sla_due_at": state.sla_due_at, "contacted_at": state.contacted_at,
            "escalated": state.escalated, "cold_at": state.cold_at},
        "qualifications": state.seq,
        "moved_back": None if state.moved_back_at is None else {
            "at": state.moved_back_at, "reason": state.moved_back_reason},
        "policy_version": policy.version,
    }


__all__ = ["HOUR_MS", "AccountContact", "AccountFacts", "AccountMovedBack",
           "AccountQualified", "AccountSignal", "AccountState", "account_key",
           "account_view", "apply_signal", "cold_at", "facts", "holds_at", "move_back",
           "qualify", "record_reasons", "role_of", "signal_of", "signals_for"]
