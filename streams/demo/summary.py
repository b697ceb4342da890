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


def events_seen(url: str) -> float | None:
    """Records the worker has taken in (processed, duplicate or dead-lettered), from
    /metrics; None when /metrics does not answer."""
    total = 0.0
    try:
        text = str(_get(url + "/metrics"))
    except (OSError, ValueError):
        return None
    for line in text.splitlines():
        if line.startswith("leadflow_events_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


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


def input_lag(settings: Settings) -> int:
    """Records on the input topics not yet committed by the worker's consumer group."""
    from kafka import KafkaConsumer, TopicPartition

    from streams import clients

    # the worker's group, read only: committed offsets, never a commit of its own
    c = KafkaConsumer(**clients.kafka_python_config(settings, "summary"),
                      group_id=settings.app_id, enable_auto_commit=False)
    try:
        lag = 0
        for logical in ("events", "outcomes"):
            topic = settings.topic(logical)
            tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or []]
            for tp, end in c.end_offsets(tps).items():
                lag += end - (c.committed(tp) or 0)
        return lag
    finally:
        c.close()


def wait_caught_up(settings: Settings, url: str, records: int, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        seen = events_seen(url)
        if seen is not None and seen >= records:
            return time.monotonic() - t0
        if seen is None and input_lag(settings) == 0:
            return time.monotonic() - t0
        time.sleep(0.5)
    return -1.0


def summarize(settings: Settings, url: str, leads: int) -> str:
    transitions = read_topic(settings, "transitions", "StageTransition")
    handoffs = read_topic(settings, "qualified", "QualifiedLead")
    feedback = read_topic(settings, "feedback", "MarketingFeedback")
    dead = read_topic(settings, "dead_letter", "DeadLetter")
    stage: dict[str, str] = {}
    for t in sorted(transitions, key=lambda r: r["occurred_at"]):
        stage[t["lead_id"]] = t["to_stage"]
    stages = Counter(stage.values())
    stages["RAW"] += max(leads - len(stage), 0)
    lines = ["", "=== leadflow demo: what happened ===", ""]
    lines.append("Leads per stage:   " + ", ".join(f"{s} {n}" for s, n in stages.most_common()))
    lines.append("Hand-offs by path: " + ", ".join(
        f"{p} {n}" for p, n in Counter(h["path"] for h in handoffs).most_common()))
    lines.append("Hand-offs by queue: " + ", ".join(
        f"{q} {n}" for q, n in Counter(h["queue"] for h in handoffs).most_common()))
    fb = Counter(f["type"] for f in feedback)
    lines.append(f"SLA breaches:      {fb['SLA_BREACHED']} (escalated: "
                 f"{sum(1 for h in handoffs if h['path'] == 'ESCALATION')})")
    lines.append("Feedback:          " + ", ".join(f"{k} {v}" for k, v in fb.most_common()))
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
    lines.append(f"Dead letters:      {len(dead)} (" + ", ".join(
        f"{k} {v}" for k, v in Counter(d["error_type"] for d in dead).most_common()) + ")")
    try:
        kpis = _get(url + "/kpis")
        cur = (kpis.get("current") or {}).get("totals") or {}
        lines.append(f"KPIs (current window, /kpis): hand-offs {cur.get('handoffs')}, "
                     f"accepted {cur.get('accepted')}, SLA breaches {cur.get('sla_breaches')}"
                     f", won {cur.get('won')}")
    except (OSError, ValueError, AttributeError):
        lines.append("KPIs: /kpis did not answer")
    won = [f["lead_id"] for f in feedback if f["type"] == "CONVERTED"]
    example = won[0] if won else (handoffs[0]["lead_id"] if handoffs else "")
    lines += ["", "Look at:",
              f"  {url}/leads/{example}    (or: leadflow lead {example})",
              f"  {url}/kpis", f"  {url}/metrics",
              f"  leadflow tail transitions   (with LEADFLOW_TOPIC_PREFIX={settings.topic_prefix})",
              ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--leads", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()
    settings = Settings.from_env()
    took = wait_caught_up(settings, args.url, args.records, args.timeout)
    if took < 0:
        print(f"worker did not catch up within {args.timeout:.0f}s; summary so far:")
    else:
        print(f"worker caught up with {args.records} records in {took:.1f}s")
    # let the SLA watcher and the last ticks play out: wait until the outputs stop growing
    last = -1
    for _ in range(40):
        n = len(read_topic(settings, "qualified", "QualifiedLead")) + len(
            read_topic(settings, "feedback", "MarketingFeedback"))
        if n == last:
            break
        last = n
        time.sleep(1.5)
    print(summarize(settings, args.url, args.leads))


if __name__ == "__main__":
    main()
