"""The sections that say who gets a qualified lead and by when: referral, routing, sla."""

from __future__ import annotations

from streams.domain.conditions import Problems, compile_condition
from streams.domain.policy.fields import MAX_DAYS, _mapping, _name, _names, _number, _unknown
from streams.domain.policy.model import HOUR_MS, Queue, Referral, Routing, Sla
from streams.domain.policy.models_section import queue_models


def _referral(v: object, problems: Problems, crit: tuple[str, ...] | None,
              routing: Routing | None) -> Referral | None:
    d = _mapping(v, "referral", problems)
    if d is None:
        return None
    _unknown(d, {"require_criteria", "when", "queue"}, "referral", problems)
    req = _names(d.get("require_criteria", []), "referral.require_criteria", problems)
    if req is not None and crit is not None:
        for i, c in enumerate(req):
            if c not in crit:
                problems.add(f"referral.require_criteria[{i}]", f"unknown criterion {c!r}")
    cond = None
    if d.get("when") is not None:
        cond = compile_condition(d["when"], "referral.when", problems)
    queue = _name(d.get("queue"), "referral.queue", problems)
    if queue is not None and routing is not None and queue not in routing.by_name:
        problems.add("referral.queue", f"unknown queue {queue!r} (declare it under routing)")
    if req is None or queue is None or (d.get("when") is not None and cond is None):
        return None
    return Referral(req, cond, queue)


def _routing(v: object, problems: Problems) -> Routing | None:
    d = _mapping(v, "routing", problems)
    if d is None:
        return None
    _unknown(d, {"queues", "default_queue"}, "routing", problems)
    ql = d.get("queues")
    if not isinstance(ql, list) or not ql:
        problems.add("routing.queues", "must be a non-empty list of queues")
        return None
    queues: list[Queue] = []
    ok = True
    for i, q in enumerate(ql):
        p = f"routing.queues[{i}]"
        qd = _mapping(q, p, problems)
        if qd is None:
            ok = False
            continue
        _unknown(qd, {"name", "when", "reps", "model"}, p, problems)
        name = _name(qd.get("name"), f"{p}.name", problems)
        if name is not None and any(x.name == name for x in queues):
            problems.add(f"{p}.name", f"duplicate queue {name!r}")
            name = None
        cond = None
        if qd.get("when") is not None:
            cond = compile_condition(qd["when"], f"{p}.when", problems)
        reps = _names(qd.get("reps", []), f"{p}.reps", problems)
        if reps is not None and len(set(reps)) != len(reps):
            problems.add(f"{p}.reps", "duplicate rep")
            reps = None
        mok, models = queue_models(qd.get("model"), f"{p}.model", problems)
        if (name is None or reps is None or (qd.get("when") is not None and cond is None)
                or not mok):
            ok = False
            continue
        queues.append(Queue(name, cond, reps, models))
    default = _name(d.get("default_queue"), "routing.default_queue", problems)
    by_name = {q.name: q for q in queues}
    if ok and default is not None and default not in by_name:
        problems.add("routing.default_queue", f"unknown queue {default!r}")
        return None
    if not ok or default is None:
        return None
    return Routing(tuple(queues), by_name, default)


def _sla(v: object, problems: Problems, routing: Routing | None) -> Sla | None:
    d = _mapping(v, "sla", problems)
    if d is None:
        return None
    _unknown(d, {"follow_up_hours", "escalation_queue", "report_window_hours", "targets",
                 "score_bands"}, "sla", problems)
    hours: dict[str, float] = {}
    default: float | None = None
    hd = _mapping(d.get("follow_up_hours"), "sla.follow_up_hours", problems)
    if hd is not None:
        for k, hv in hd.items():
            n = _number(hv, f"sla.follow_up_hours.{k}", problems, positive=True,
                        maximum=MAX_DAYS * 24)
            if n is None:
                continue
            if k == "default":
                default = n
            else:
                if routing is not None and k not in routing.by_name:
                    problems.add(f"sla.follow_up_hours.{k}", f"unknown queue {k!r}")
                hours[k] = n
        if default is None and "default" not in hd:
            problems.add("sla.follow_up_hours.default", "missing")
    esc = _name(d.get("escalation_queue"), "sla.escalation_queue", problems)
    if esc is not None and routing is not None and esc not in routing.by_name:
        problems.add("sla.escalation_queue", f"unknown queue {esc!r} (declare it under routing)")
    win = _number(d.get("report_window_hours", 24), "sla.report_window_hours", problems,
                  positive=True, maximum=MAX_DAYS * 24)
    td = _mapping(d.get("targets"), "sla.targets", problems, required=False)
    min_h = max_h = None
    min_acc = max_br = None
    if td is not None:
        _unknown(td, {"min_handoffs", "max_handoffs", "min_acceptance_rate",
                      "max_breach_rate"}, "sla.targets", problems)
        if "min_handoffs" in td:
            n = _number(td["min_handoffs"], "sla.targets.min_handoffs", problems, minimum=0,
                        integer=True)
            min_h = None if n is None else int(n)
        if "max_handoffs" in td:
            n = _number(td["max_handoffs"], "sla.targets.max_handoffs", problems, minimum=0,
                        integer=True)
            max_h = None if n is None else int(n)
        if min_h is not None and max_h is not None and min_h > max_h:
            problems.add("sla.targets.max_handoffs", "must be >= min_handoffs")
        for key in ("min_acceptance_rate", "max_breach_rate"):
            if key in td:
                n = _number(td[key], f"sla.targets.{key}", problems, minimum=0)
                if n is not None and n > 1:
                    problems.add(f"sla.targets.{key}", "a rate is between 0 and 1")
                    n = None
                if key == "min_acceptance_rate":
                    min_acc = n
                else:
                    max_br = n
    bands: tuple[float, ...] = (50.0, 100.0)
    if "score_bands" in d:
        bl = d["score_bands"]
        if not isinstance(bl, list) or not bl:
            problems.add("sla.score_bands", "must be a non-empty list of ascending numbers")
        else:
            nums = [_number(x, f"sla.score_bands[{i}]", problems) for i, x in enumerate(bl)]
            if all(n is not None for n in nums):
                b = tuple(n for n in nums if n is not None)
                if list(b) != sorted(set(b)):
                    problems.add("sla.score_bands", "must be strictly ascending")
                else:
                    bands = b
    if default is None or esc is None or win is None or hd is None or td is None:
        return None
    return Sla(default, hours, esc, int(win * HOUR_MS), min_h, max_h, min_acc, max_br, bands)
