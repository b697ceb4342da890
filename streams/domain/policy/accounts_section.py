"""The optional ``accounts`` section (contract 4b): how a lead maps to an account, which
titles make which buying-group roles, and the Marketing Qualified Account (MQA) rule.

    accounts:
      key:
        attribute: account_id     # used when the lead has it
        email_domain: true        # else the e-mail's domain (never a free-mail domain)
        free_mail_extra: []       # domains to treat as free mail besides the shipped list
      roles:                      # first role whose title pattern matches (case ignored)
        economic_buyer: ["\\bCFO\\b", "\\bCEO\\b"]
        champion: ["\\bhead of\\b", "director"]
      mqa:
        score: 150                # sum of its leads' decayed scores, at the account's time
        engaged_contacts: 3       # contacts whose score >= stages.engaged.score
        roles_covered: 2          # distinct roles among the engaged contacts
        min_grade: B              # the account's grade: the best of its contacts' grades
      queue: enterprise-na        # optional; else routed by the routing queues

A policy without the section has no account processing at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.domain.conditions import Problems
from streams.domain.freemail import FREE_MAIL_DOMAINS
from streams.domain.models import GRADES
from streams.domain.policy.fields import _mapping, _number, _unknown


@dataclass(slots=True, frozen=True)
class AccountsPolicy:
    key_attribute: str | None
    email_domain: bool
    free_mail: frozenset[str]
    roles: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]  # in policy order
    min_score: float
    min_engaged: int
    min_roles: int
    min_grade: str
    queue: str | None  # None: the routing queues decide, on the account's firmographics


def accounts_section(v: object, problems: Problems, queues: frozenset[str] | None
                     ) -> AccountsPolicy | None:
    """None when absent (no accounts) or invalid (then ``problems`` says why)."""
    if v is None:
        return None
    d = _mapping(v, "accounts", problems)
    if d is None:
        return None
    _unknown(d, {"key", "roles", "mqa", "queue"}, "accounts", problems)
    ok = True
    key = _mapping(d.get("key", {}), "accounts.key", problems)
    attribute: str | None = "account_id"
    email_domain = True
    free_mail = FREE_MAIL_DOMAINS
    if key is None:
        ok = False
    else:
        _unknown(key, {"attribute", "email_domain", "free_mail_extra"}, "accounts.key",
                 problems)
        attribute = key.get("attribute", "account_id")
        if attribute is not None and (not isinstance(attribute, str) or not attribute):
            problems.add("accounts.key.attribute", "must be an attribute name or null")
            ok = False
        email_domain = key.get("email_domain", True)
        if not isinstance(email_domain, bool):
            problems.add("accounts.key.email_domain", "must be true or false")
            ok = False
        extra = key.get("free_mail_extra", [])
        if not isinstance(extra, list) or not all(isinstance(x, str) and x for x in extra):
            problems.add("accounts.key.free_mail_extra", "must be a list of domains")
            ok = False
        else:
            free_mail = FREE_MAIL_DOMAINS | {x.strip().lower() for x in extra}
        if attribute is None and email_domain is False:
            problems.add("accounts.key", "needs an attribute or email_domain: true")
            ok = False
    roles: list[tuple[str, tuple[re.Pattern[str], ...]]] = []
    rd = _mapping(d.get("roles"), "accounts.roles", problems)
    if rd is None:
        ok = False
    else:
        for name, patterns in rd.items():
            p = f"accounts.roles.{name}"
            if not isinstance(patterns, list) or not patterns:
                problems.add(p, "must be a non-empty list of title patterns (regex)")
                ok = False
                continue
            compiled = []
            for i, pat in enumerate(patterns):
                try:
                    compiled.append(re.compile(str(pat), re.IGNORECASE))
                except re.error as err:
                    problems.add(f"{p}[{i}]", f"bad regular expression: {err}")
                    ok = False
            roles.append((name, tuple(compiled)))
    mqa = _mapping(d.get("mqa"), "accounts.mqa", problems)
    score = engaged = nroles = None
    grade = "D"
    if mqa is None:
        ok = False
    else:
        _unknown(mqa, {"score", "engaged_contacts", "roles_covered", "min_grade"},
                 "accounts.mqa", problems)
        score = _number(mqa.get("score", 0), "accounts.mqa.score", problems, minimum=0)
        engaged = _number(mqa.get("engaged_contacts", 1), "accounts.mqa.engaged_contacts",
                          problems, minimum=0, integer=True)
        nroles = _number(mqa.get("roles_covered", 0), "accounts.mqa.roles_covered",
                         problems, minimum=0, integer=True)
        grade = mqa.get("min_grade", "D")
        if grade not in GRADES:
            problems.add("accounts.mqa.min_grade", f"must be one of {list(GRADES)}")
            ok = False
        if nroles is not None and rd is not None and nroles > len(rd):
            problems.add("accounts.mqa.roles_covered",
                         f"needs {int(nroles)} roles but only {len(rd)} are defined")
            ok = False
    queue = d.get("queue")
    if queue is not None and (not isinstance(queue, str)
                              or (queues is not None and queue not in queues)):
        problems.add("accounts.queue", "must name a queue of routing.queues")
        ok = False
    if not ok or score is None or engaged is None or nroles is None:
        return None
    return AccountsPolicy(
        key_attribute=attribute, email_domain=bool(email_domain), free_mail=free_mail,
        roles=tuple(roles), min_score=float(score), min_engaged=int(engaged),
        min_roles=int(nroles), min_grade=str(grade), queue=queue)
