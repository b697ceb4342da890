"""Routing: the first queue whose condition holds (else the default queue) takes the lead;
a queue may also say which scoring models' hand-offs it takes (`model`, contract 4b);
the owner is chosen by rendezvous (highest-random-weight) hashing of lead id and rep id.

Rendezvous hashing is deterministic (same lead, same reps -> same rep, on every worker and in
backtest), balanced (each rep gets ~1/n of leads), and stable when the rep list changes (only
the leads of a removed rep move; a new rep takes ~1/(n+1) from everyone).
"""

from __future__ import annotations

from hashlib import blake2b

from streams.domain.models import LeadState
from streams.domain.policy import Queue, Routing


def choose_queue(state: LeadState, routing: Routing, model: str | None = None) -> Queue:
    """`model`: the scoring model that qualified the lead (None: the default score). A
    queue with `model` takes only those leads (all of them when it has no `when`)."""
    for q in routing.queues:
        models = q.models
        if models is not None:
            if (model or "") in models and (q.when is None or q.when.test(state)):
                return q
        elif q.when is not None and q.when.test(state):
            return q
    return routing.by_name[routing.default_queue]


def assign_rep(lead_id: str, reps: tuple[str, ...]) -> str | None:
    best: str | None = None
    best_w = -1
    key = lead_id.encode("utf-8")
    for rep in reps:
        w = int.from_bytes(blake2b(key, digest_size=8, key=rep.encode("utf-8")[:64]).digest(),
                           "big")
        if w > best_w or (w == best_w and best is not None and rep < best):
            best, best_w = rep, w
    return best
