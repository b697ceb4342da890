"""The end of ``make run``: wait until the worker has caught up with the demo, then print
what happened (read back from the output topics and the worker's HTTP views).

    python -m streams.demo.summary --records N --leads L --url http://127.0.0.1:6066
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from collections import Counter
from typing import Any

from streams.settings import Settings


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read()
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


def read_topic(settings: Settings, logical: str, kind: str) -> list[dict[str, Any]]:
    from kafka import KafkaConsumer, TopicPartition

    from streams import clients

    codecs = clients.codecs(settings)
    topic = settings.topic(logical)
    c = KafkaConsumer(**clients.kafka_python_config(settings, "summary"),
                      enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    ends = c.end_offsets(tps)
    out: list[dict[str, Any]] = []
    while any(c.position(tp) < ends[tp] for tp in tps):
        for msgs in c.poll(timeout_ms=500).values():
            out.extend(codecs.decode(kind, m.value) for m in msgs)
    c.close()
    return out


def input_lag(settings: Settings) -> tuple[int, int]:
    """(records on the input topics not yet committed by the worker's consumer group,
    records on the input topics)."""
    from kafka import KafkaConsumer, TopicPartition

    from streams import clients

    # the worker's group, read only: committed offsets, never a commit of its own
    c = KafkaConsumer(**clients.kafka_python_config(settings, "summary"),
                      group_id=settings.app_id, enable_auto_commit=False)
    try:
        lag = total = 0
        for logical in ("events", "outcomes"):
            topic = settings.topic(logical)
            tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or []]
            for tp, end in c.end_offsets(tps).items():
                lag += end - (c.committed(tp) or 0)
                total += end
        return lag, total
    finally:
        c.close()


def wait_caught_up(settings: Settings, records: int, timeout: float) -> float:
    """Seconds until the worker's group has committed every input record (committed = end
    offsets on both inputs, and the inputs hold at least ``records``), or -1 on timeout.
    The worker commits a record only after its effects (outputs, deadlines fired before
    it, states) are in Kafka, and with the event clock nothing happens after the last
    record: the output topics are then complete."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        lag, total = input_lag(settings)
        if lag == 0 and total >= records:
            return time.monotonic() - t0
        time.sleep(0.5)
    return -1.0


def figures(settings: Settings, leads: int, accounts: bool = False) -> dict[str, Any]:
    """What the summary counts, from the output topics: comparable with ``leadflow
    backtest`` of the same history (``--json``). ``accounts``: the policy has an
    ``accounts`` section, so ``sales.qualified-accounts`` is read too."""
    transitions = read_topic(settings, "transitions", "StageTransition")
    handoffs = read_topic(settings, "qualified", "QualifiedLead")
    feedback = read_topic(settings, "feedback", "MarketingFeedback")
    dead = read_topic(settings, "dead_letter", "DeadLetter")
    stage: dict[str, str] = {}
    # read partition by partition: a lead's transitions come in the order they were made
    for t in transitions:
        stage[t["lead_id"]] = t["to_stage"]
    stages = Counter(stage.values())
    stages["RAW"] += max(leads - len(stage), 0)
    fb = Counter(f["type"] for f in feedback)
    extra: dict[str, Any] = {}
    if accounts:
        extra = account_figures(read_topic(settings, "qualified_accounts",
                                           "AccountQualified"))
    return {**extra, "stages": dict(stages.most_common()),
            "handoffs_by_path": dict(Counter(h["path"] for h in handoffs).most_common()),
            "handoffs_by_queue": dict(Counter(h["queue"] for h in handoffs).most_common()),
            "sla_breaches": fb["SLA_BREACHED"],
            "escalations": sum(1 for h in handoffs if h["path"] == "ESCALATION"),
            "feedback": dict(fb.most_common()),
            "dead_letters": dict(Counter(d["error_type"] for d in dead).most_common()),
            "_handoffs": handoffs, "_feedback": feedback}


def _qualification_order(qualification_id: str) -> tuple[int, bool]:
    """``aq:<account>:<n>`` is the account's n-th qualification, ``aq:<account>:<n>:esc``
    the same one re-routed to the escalation queue (its SLA breached): later than it."""
    parts = qualification_id.split(":")
    escalated = parts[-1] == "esc"
    return int(parts[-2] if escalated else parts[-1]), escalated


def account_figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The qualified accounts: each account's latest qualification (a moved-back account
    that qualifies again has a new record, ``aq:<account>:<n>``; one whose SLA breached is
    re-routed, ``aq:<account>:<n>:esc``)."""
    latest: dict[str, dict[str, Any]] = {}
    for r in records:
        held = latest.get(r["account_id"])
        if held is None or (_qualification_order(r["qualification_id"])
                            > _qualification_order(held["qualification_id"])):
            latest[r["account_id"]] = r
    return {"qualified_accounts": len(latest),
            "account_qualifications": len(records),
            "account_escalations": sum(1 for r in records
                                       if _qualification_order(r["qualification_id"])[1]),
            "accounts_by_queue": dict(Counter(r["queue"] for r in latest.values())
                                      .most_common()),
            "_accounts": sorted(latest.values(), key=lambda r: (-r["score"],
                                                                r["account_id"]))}


def _status(url: str, account_id: str) -> str:
    """The account's status now (/accounts/{id}): it may have moved back since."""
    try:
        return {"QUALIFIED": "qualified", "NOT_QUALIFIED": "moved back"}.get(
            str(_get(f"{url}/accounts/{account_id}").get("status")), "?")
    except (OSError, ValueError, AttributeError):
        return "?"


def account_lines(figs: dict[str, Any], url: str, shown: int = 8) -> list[str]:
    """Accounts that qualified (by queue) and the best ones' buying groups, as their
    latest AccountQualified record has them (score, contacts and roles at qualification)."""
    accounts = figs["_accounts"]
    lines = [f"Qualified accounts: {figs['qualified_accounts']} ("
             + ", ".join(f"{q} {n}" for q, n in figs["accounts_by_queue"].items())
             + f"; {figs['account_qualifications']} AccountQualified records, "
             f"{figs['account_escalations']} of them escalations)"]
    for r in accounts[:shown]:
        group = ", ".join(f"{c['lead_id']} {c['role'] or '-'}" for c in r["contacts"])
        lines.append(f"  {r['account_id']:22} {r['queue']:14} score {r['score']:6.1f}  "
                     f"grade {r['fit_grade']}  now {_status(url, r['account_id']):10}  "
                     f"{group}")
    if len(accounts) > shown:
        lines.append(f"  ... and {len(accounts) - shown} more (leadflow tail "
                     "qualified-accounts)")
    return lines


def summarize(settings: Settings, url: str, figs: dict[str, Any]) -> str:
    handoffs, feedback = figs["_handoffs"], figs["_feedback"]
    lines = ["", "=== leadflow demo: what happened ===", ""]
    lines.append("Leads per stage:   " + ", ".join(f"{s} {n}" for s, n in figs["stages"].items()))
    lines.append("Hand-offs by path: " + ", ".join(
        f"{p} {n}" for p, n in figs["handoffs_by_path"].items()))
    lines.append("Hand-offs by queue: " + ", ".join(
        f"{q} {n}" for q, n in figs["handoffs_by_queue"].items()))
    lines.append(f"SLA breaches:      {figs['sla_breaches']} (escalated: "
                 f"{figs['escalations']})")
    lines.append("Feedback:          " + ", ".join(
        f"{k} {v}" for k, v in figs["feedback"].items()))
    ho_by_c: Counter[str] = Counter()
    won_by_c: Counter[str] = Counter()
    for h in handoffs:
        if h["path"] != "ESCALATION":
            ho_by_c.update(set(h["campaigns"]))
    for f in feedback:
        if f["type"] == "CONVERTED":
            won_by_c.update(set(f["campaigns"]))
    ranked = sorted(ho_by_c, key=lambda c: (-won_by_c[c] / ho_by_c[c], -ho_by_c[c], c))
    lines.append("Top campaigns by conversion (won / hand-offs):")
    for c in ranked[:5]:
        lines.append(f"  {c:28} {won_by_c[c]:3} / {ho_by_c[c]:3} = "
                     f"{100.0 * won_by_c[c] / ho_by_c[c]:5.1f}%")
    if "_accounts" in figs:
        lines += account_lines(figs, url)
    dead = figs["dead_letters"]
    lines.append(f"Dead letters:      {sum(dead.values())} (" + ", ".join(
        f"{k} {v}" for k, v in dead.items()) + ")")
    try:
        kpis = _get(url + "/kpis")
        cur = (kpis.get("current") or {}).get("totals") or {}
        lines.append(f"KPIs (current window, /kpis): hand-offs {cur.get('handoffs')}, "
                     f"accepted {cur.get('accepted')}, SLA breaches {cur.get('sla_breaches')}"
                     f", won {cur.get('won')}")
        accounts = (kpis.get("current") or {}).get("accounts")
        if accounts is not None:
            by_queue = ", ".join(f"{q} {n}" for q, n in accounts["qualified_by_queue"].items())
            lines.append(f"Accounts qualified (current window, /kpis): {accounts['qualified']}"
                         + (f" ({by_queue})" if by_queue else ""))
    except (OSError, ValueError, AttributeError):
        lines.append("KPIs: /kpis did not answer")
    won = [f["lead_id"] for f in feedback if f["type"] == "CONVERTED"]
    example = won[0] if won else (handoffs[0]["lead_id"] if handoffs else "")
    lines += ["", "Look at:",
              f"  {url}/leads/{example}    (or: leadflow lead {example})",
              f"  {url}/kpis", f"  {url}/metrics",
              *([f"  {url}/accounts/{figs['_accounts'][0]['account_id']}    (or: leadflow "
                 f"account {figs['_accounts'][0]['account_id']})"]
                if figs.get("_accounts") else []),
              f"  leadflow tail transitions   (with LEADFLOW_TOPIC_PREFIX={settings.topic_prefix})",
              ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--leads", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    settings = Settings.from_env()
    took = wait_caught_up(settings, args.records, args.timeout)
    if took < 0:
        print(f"worker did not catch up within {args.timeout:.0f}s; summary so far:")
    else:
        print(f"worker caught up with {args.records} records in {took:.1f}s")
    from streams.domain import load_policy

    figs = figures(settings, args.leads, load_policy(settings.policy_path).accounts is not None)
    print(summarize(settings, args.url, figs))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({k: v for k, v in figs.items() if not k.startswith("_")}, f, indent=2)


if __name__ == "__main__":
    main()
