"""Generate alerts_test.yml (the promtool unit tests of alerts.yml).

promtool compares alert annotations exactly, so the expected annotations are rendered here
from alerts.yml (only ``{{ $labels.x }}`` templates are used there) instead of being
copied by hand. Scenarios live below: for each alert, series that fire it and series that
keep it quiet. Run after editing alerts.yml or the scenarios, then commit both:

    .venv/bin/python deploy/prometheus/make_alerts_test.py
    promtool test rules deploy/prometheus/alerts_test.yml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE / "alerts.yml"
OUT = HERE / "alerts_test.yml"

J = 'job="leadflow", instance="127.0.0.1:6066"'
UP = {"series": f"up{{{J}}}", "values": "1x2000"}


def s(name: str, labels: str, values: str) -> dict[str, str]:
    lab = f"{J}, {labels}" if labels else J
    return {"series": f"{name}{{{lab}}}", "values": values}


# (test name, input series, [(eval_time, alertname, [expected label sets])])
Case = tuple[str, list[dict[str, str]], list[tuple[str, str, list[dict[str, str]]]]]
JOB = {"job": "leadflow"}
INST = {"job": "leadflow", "instance": "127.0.0.1:6066"}

CASES: list[Case] = [
    (
        "worker down fires after 2m, not before",
        [s("up", "", "1 1 0 0 0 0 0 0 0 0")],
        [
            ("3m", "LeadflowWorkerDown", []),  # down 1m: pending only
            ("6m", "LeadflowWorkerDown", [INST]),
        ],
    ),
    (
        "worker up stays quiet",
        [s("up", "", "1x10")],
        [("8m", "LeadflowWorkerDown", [])],
    ),
    (
        "consumer lag above 1000 and growing fires",
        [
            UP,
            s("leadflow_consumer_lag", 'topic="leads.events", partition="0"', "0+100x40"),
            s("leadflow_consumer_lag", 'topic="leads.events", partition="1"', "0+50x40"),
        ],
        [("35m", "LeadflowConsumerLagGrowing", [{**JOB, "topic": "leads.events"}])],
    ),
    (
        "consumer lag high but flat, or growing but small, stays quiet",
        [
            UP,
            s("leadflow_consumer_lag", 'topic="leads.events", partition="0"', "5000x40"),
            s("leadflow_consumer_lag", 'topic="sales.outcomes", partition="0"', "0+10x40"),
        ],
        [("35m", "LeadflowConsumerLagGrowing", [])],
    ),
    (
        "stalled: messages arrive, nothing processed",
        [
            UP,
            s("leadflow_messages_received_total", 'topic="leads.events"', "0+100x30"),
            s("leadflow_events_total", 'type="DEMO_VIEWED", result="processed"', "50x30"),
            s("leadflow_outcomes_total", 'type="ACCEPTED"', "7x30"),
        ],
        [("25m", "LeadflowStalled", [JOB])],
    ),
    (
        "stalled: lag and no events_total series at all",
        [UP, s("leadflow_consumer_lag", 'topic="leads.events", partition="0"', "300x30")],
        [("25m", "LeadflowStalled", [JOB])],
    ),
    (
        "processing keeps up, or idle: not stalled",
        [
            UP,
            s("leadflow_messages_received_total", 'topic="leads.events"', "0+100x30"),
            s("leadflow_events_total", 'type="DEMO_VIEWED", result="processed"', "0+100x30"),
            s("leadflow_consumer_lag", 'topic="leads.events", partition="0"', "3x30"),
        ],
        [("25m", "LeadflowStalled", [])],
    ),
    (
        "idle worker (no input, no lag) is not stalled",
        [
            UP,
            s("leadflow_messages_received_total", 'topic="leads.events"', "500x30"),
            s("leadflow_events_total", 'type="DEMO_VIEWED", result="processed"', "500x30"),
            s("leadflow_consumer_lag", 'topic="leads.events", partition="0"', "0x30"),
        ],
        [("25m", "LeadflowStalled", [])],
    ),
    (
        "a dead letter fires, and clears 5m later",
        [
            UP,
            s("leadflow_dead_letters_total", 'error_type="DECODE"', "0 0 0 1 1 1 1 1 1 1 1 1 1 1"),
            s("leadflow_dead_letters_total", 'error_type="SCHEMA"', "0x14"),
        ],
        [
            ("4m", "LeadflowDeadLetters", [{**JOB, "error_type": "DECODE"}]),
            ("12m", "LeadflowDeadLetters", []),
        ],
    ),
    (
        "no dead letters stays quiet",
        [UP, s("leadflow_dead_letters_total", 'error_type="DECODE"', "0x20")],
        [("15m", "LeadflowDeadLetters", [])],
    ),
    (
        "SLA breach ratio 0.2 above target 0.1 fires",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0+10x120"),
            s("leadflow_handoffs_total", 'path="ESCALATION", queue="escalation"', "0+2x120"),
            s("leadflow_sla_breaches_total", 'queue="emea-smb"', "0+2x120"),
            s("leadflow_sla_target_max_breach_ratio", "", "0.1x120"),
        ],
        [("100m", "LeadflowSlaBreachRateHigh", [JOB])],
    ),
    (
        "SLA breach ratio 0.2 under target 0.3 stays quiet",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0+10x120"),
            s("leadflow_sla_breaches_total", 'queue="emea-smb"', "0+2x120"),
            s("leadflow_sla_target_max_breach_ratio", "", "0.3x120"),
        ],
        [("100m", "LeadflowSlaBreachRateHigh", [])],
    ),
    (
        "SLA breaches with no target set (0) stay quiet",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0+10x120"),
            s("leadflow_sla_breaches_total", 'queue="emea-smb"', "0+9x120"),
            s("leadflow_sla_target_max_breach_ratio", "", "0x120"),
        ],
        [("100m", "LeadflowSlaBreachRateHigh", [])],
    ),
    (
        # 100 records/min per record: 60 under 1 ms, 30 at 25-50 ms, 10 at 50-100 ms
        "p99 per-record time between 25ms and 100ms fires after 15m",
        [
            UP,
            s("leadflow_processing_seconds_bucket", 'le="0.001"', "0+60x40"),
            s("leadflow_processing_seconds_bucket", 'le="0.025"', "0+60x40"),
            s("leadflow_processing_seconds_bucket", 'le="0.05"', "0+90x40"),
            s("leadflow_processing_seconds_bucket", 'le="0.1"', "0+100x40"),
            s("leadflow_processing_seconds_bucket", 'le="+Inf"', "0+100x40"),
        ],
        [
            ("10m", "LeadflowProcessingSlow", []),  # pending: 15m "for"
            ("30m", "LeadflowProcessingSlow", [JOB]),
        ],
    ),
    (
        # what the old per-batch histogram showed for a healthy worker: batches of
        # 0.05-0.5 s are 0.2-2 ms per record, far under the threshold
        "per-record times of 0.2-2ms stay quiet",
        [
            UP,
            s("leadflow_processing_seconds_bucket", 'le="0.00025"', "0+10x40"),
            s("leadflow_processing_seconds_bucket", 'le="0.001"', "0+60x40"),
            s("leadflow_processing_seconds_bucket", 'le="0.0025"', "0+100x40"),
            s("leadflow_processing_seconds_bucket", 'le="0.025"', "0+100x40"),
            s("leadflow_processing_seconds_bucket", 'le="+Inf"', "0+100x40"),
        ],
        [("30m", "LeadflowProcessingSlow", [])],
    ),
    (
        "three resyncs of the events input in an hour fire",
        [
            UP,
            s("leadflow_resyncs_total", 'source="events"', "0 0 1 1 1 2 2 3 3 3 3"),
            s("leadflow_resyncs_total", 'source="outcomes"', "0x10"),
        ],
        [("10m", "LeadflowInputResyncs", [{**JOB, "source": "events"}])],
    ),
    (
        "one resync stays quiet",
        [
            UP,
            s("leadflow_resyncs_total", 'source="events"', "0 0 1 1 1 1 1 1 1 1 1"),
            s("leadflow_resyncs_total", 'source="outcomes"', "0x10"),
        ],
        [("10m", "LeadflowInputResyncs", [])],
    ),
    (
        "an outcomes input waited for every minute fires after 15m",
        [
            UP,
            s("leadflow_idle_waits_total", 'input="outcomes"', "0+1x40"),
            s("leadflow_idle_waits_total", 'input="events"', "0x40"),
        ],
        [
            ("15m", "LeadflowInputIdleWaits", []),  # pending
            ("30m", "LeadflowInputIdleWaits", [{**JOB, "input": "outcomes"}]),
        ],
    ),
    (
        "a few idle waits at start stay quiet",
        [
            UP,
            s("leadflow_idle_waits_total", 'input="outcomes"', "0 3 4 4 4 4x35"),
            s("leadflow_idle_waits_total", 'input="events"', "0x40"),
        ],
        [("30m", "LeadflowInputIdleWaits", [])],
    ),
    (
        "1440 hand-offs/day under a minimum of 2000 per day fires",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0+1x1800"),
            s("leadflow_sla_target_window_seconds", "", "86400x1800"),
            s("leadflow_sla_target_min_handoffs_per_window", "", "2000x1800"),
            s("leadflow_sla_target_max_handoffs_per_window", "", "0x1800"),
        ],
        [("28h", "LeadflowHandoffQuantityOutOfRange", [JOB])],
    ),
    (
        "1440 hand-offs/day over a maximum of 1000 per day fires",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0+1x1800"),
            s("leadflow_sla_target_window_seconds", "", "86400x1800"),
            s("leadflow_sla_target_min_handoffs_per_window", "", "0x1800"),
            s("leadflow_sla_target_max_handoffs_per_window", "", "1000x1800"),
        ],
        [("28h", "LeadflowHandoffQuantityOutOfRange", [JOB])],
    ),
    (
        "1440 hand-offs/day within 1000..2000 stays quiet",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0+1x1800"),
            s("leadflow_sla_target_window_seconds", "", "86400x1800"),
            s("leadflow_sla_target_min_handoffs_per_window", "", "1000x1800"),
            s("leadflow_sla_target_max_handoffs_per_window", "", "2000x1800"),
        ],
        [("28h", "LeadflowHandoffQuantityOutOfRange", [])],
    ),
    (
        "fresh deployment (less than a day of data) stays quiet",
        [
            UP,
            s("leadflow_handoffs_total", 'path="SCORE", queue="emea-smb"', "0x300"),
            s("leadflow_sla_target_window_seconds", "", "86400x300"),
            s("leadflow_sla_target_min_handoffs_per_window", "", "2000x300"),
        ],
        [("4h", "LeadflowHandoffQuantityOutOfRange", [])],
    ),
]


def _render(template: str, labels: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        return labels[m.group(1)]

    out = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", sub, template)
    if "{{" in out:
        sys.exit(f"unsupported template in {template!r}: use only {{{{ $labels.x }}}}")
    return out


def main() -> None:
    rules = {
        r["alert"]: r
        for g in yaml.safe_load(RULES.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    covered: dict[str, set[bool]] = {name: set() for name in rules}
    tests: list[dict[str, Any]] = []
    for name, series, checks in CASES:
        alert_tests = []
        for eval_time, alertname, expected in checks:
            rule = rules[alertname]
            covered[alertname].add(bool(expected))
            exp = []
            for labels in expected:
                full = {**labels, **rule.get("labels", {})}
                ann = {k: _render(v, full) for k, v in rule["annotations"].items()}
                exp.append({"exp_labels": full, "exp_annotations": ann})
            alert_tests.append({"eval_time": eval_time, "alertname": alertname, "exp_alerts": exp})
        tests.append(
            {"name": name, "interval": "1m", "input_series": series, "alert_rule_test": alert_tests}
        )
    missing = [n for n, seen in covered.items() if seen != {True, False}]
    if missing:
        sys.exit(f"every alert needs a firing and a quiet case; incomplete: {missing}")
    doc = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": tests}
    header = (
        "# GENERATED by make_alerts_test.py from alerts.yml and the scenarios there; edit those\n"
        "# and regenerate. Run: promtool test rules deploy/prometheus/alerts_test.yml\n"
    )
    OUT.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=100))
    print(f"wrote {OUT} ({len(tests)} tests)")


if __name__ == "__main__":
    main()
