"""`make run` (scripts/run_demo.sh) is deterministic, and its summary is `leadflow backtest`
of the same history (issue 13, "Proof", last paragraph).

Twice the whole script (fresh topics, a worker with the event clock, the demo paced, the
summary) with the same seed and pinned now: every output record is the same (ids and
content; a dead letter's ``failed_at`` aside), each lead's records in the same order. Then
the summary's figures equal `leadflow backtest` on `leadflow demo --export-dir` of the same
seed, now and leads, on the same partitions. The export holds only the well-formed records;
the live demo also sends malformed ones, which the worker dead-letters: they sort first in
the merge (no event time), never move stream time and touch no state, so they change
nothing. The ~1% duplicates are in both (the export writes them too) and change nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from streams import clients
from streams.backtest import read_history, replay
from streams.domain import MarketingFeedback, QualifiedLead, StageTransition, load_policy
from streams.paths import DEFAULT_POLICY
from streams.settings import Settings
from tests.support.kafka_io import known_partitions
from tests.support.worker import ROOT, free_port

pytestmark = pytest.mark.integration

LEADS, SEED, NOW_MS, PARTITIONS = 300, 11, 1_780_000_000_000, 4
OUTPUTS = {"transitions": "StageTransition", "qualified": "QualifiedLead",
           "feedback": "MarketingFeedback", "dead_letter": "DeadLetter"}


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADFLOW_", "DEMO_"))}
    env.update(extra)
    return env


def _run_demo(broker: str, run_id: str, tmp: Path) -> tuple[Settings, dict[str, Any], str]:
    summary = tmp / f"{run_id}.json"
    env = _env({"LEADFLOW_BROKER": broker, "LEADFLOW_PARTITIONS": str(PARTITIONS),
                "LEADFLOW_WEB_PORT": str(free_port()), "DEMO_RUN_ID": run_id,
                "DEMO_DATA_DIR": str(tmp / run_id), "DEMO_EXIT": "1",
                "DEMO_LEADS": str(LEADS), "DEMO_SEED": str(SEED), "DEMO_NOW_MS": str(NOW_MS),
                "DEMO_RATE": "400", "DEMO_SUMMARY_JSON": str(summary)})
    res = subprocess.run(["bash", "scripts/run_demo.sh"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "worker caught up" in res.stdout, res.stdout[-3000:]
    settings = Settings.from_env({"LEADFLOW_BROKER": broker, "LEADFLOW_TOPIC_PREFIX":
                                  run_id + ".", "LEADFLOW_APP_ID": run_id})
    return settings, json.loads(summary.read_text()), res.stdout


def _outputs(settings: Settings) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """Per output topic, per partition: the decoded records in offset order."""
    codecs = clients.codecs(settings)
    out: dict[str, dict[int, list[dict[str, Any]]]] = {}
    consumer = KafkaConsumer(bootstrap_servers=settings.broker_hosts, enable_auto_commit=False)
    try:
        for logical, kind in OUTPUTS.items():
            topic = settings.topic(logical)
            tps = [TopicPartition(topic, p) for p in known_partitions(consumer, topic)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            parts: dict[int, list[dict[str, Any]]] = defaultdict(list)
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                for tp, msgs in consumer.poll(timeout_ms=1000).items():
                    for m in msgs:
                        rec = codecs.decode(kind, m.value)
                        rec.pop("failed_at", None)  # a dead letter's wall-clock time
                        if "topic" in rec:  # a dead letter's input topic: this run's prefix
                            rec["topic"] = rec["topic"].removeprefix(settings.topic_prefix)
                        parts[tp.partition].append(rec)
            out[logical] = dict(parts)
    finally:
        consumer.close()
    return out


def _per_lead(parts: dict[int, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Each lead's records, in the order its partition holds them."""
    out: dict[str, list[str]] = defaultdict(list)
    for p in sorted(parts):
        for rec in parts[p]:
            out[str(rec.get("lead_id") or rec.get("key") or "")].append(
                json.dumps(rec, sort_keys=True, default=str))
    return dict(out)


def _keyed(parts: dict[int, list[dict[str, Any]]]) -> dict[int, list[str]]:
    """Per partition, its records as a multiset (a dead letter of an unkeyed input is
    unkeyed too, and goes to partition 0 of the dead-letter topic)."""
    out = {p: sorted(repr(r) for r in recs) for p, recs in parts.items()}
    return {p: recs for p, recs in out.items() if recs}


def _backtest(tmp: Path) -> tuple[str, dict[str, Any]]:
    """`leadflow backtest` of the export, and the replay's outputs it reports on."""
    hist = tmp / "export"
    env = _env({"LEADFLOW_PARTITIONS": str(PARTITIONS)})
    cli = [sys.executable, "-m", "streams.cli"]
    res = subprocess.run([*cli, "demo", "--leads", str(LEADS), "--seed", str(SEED),
                          "--now-ms", str(NOW_MS), "--export-dir", str(hist)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    files = [hist / "events.jsonl", hist / "outcomes.jsonl"]
    res = subprocess.run([*cli, "backtest", "--policy", str(DEFAULT_POLICY), "--events",
                          str(files[0]), "--outcomes", str(files[1]), "--out",
                          str(tmp / "report"), "-q"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"on {PARTITIONS} partitions" in res.stdout
    rep = replay(read_history(files, NOW_MS + 86_400_000).inputs, load_policy(DEFAULT_POLICY),
                 partitions=PARTITIONS)
    handoffs = [o for o in rep.outputs if isinstance(o, QualifiedLead)]
    feedback = [o for o in rep.outputs if isinstance(o, MarketingFeedback)]
    fb = Counter(o.type.value for o in feedback)
    figures = {
        "stages": Counter(s.stage.value for s in rep.states.values()),
        "handoffs_by_path": Counter(o.path.value for o in handoffs),
        "handoffs_by_queue": Counter(o.queue for o in handoffs),
        "sla_breaches": fb["SLA_BREACHED"],
        "escalations": sum(1 for o in handoffs if o.path.value == "ESCALATION"),
        "feedback": fb,
        "ids": {"transitions": {o.transition_id for o in rep.outputs
                                if isinstance(o, StageTransition)},
                "qualified": {o.handoff_id for o in handoffs},
                "feedback": {o.feedback_id for o in feedback}},
    }
    return res.stdout, figures


def test_make_run_twice_is_identical_and_equals_the_backtest(broker: str, run_id: str,
                                                             tmp_path: Path) -> None:
    s1, fig1, printed1 = _run_demo(broker, run_id + "a", tmp_path)
    s2, fig2, _ = _run_demo(broker, run_id + "b", tmp_path)
    o1, o2 = _outputs(s1), _outputs(s2)
    for logical in OUTPUTS:
        # per lead the same sequence; per partition (batch boundaries aside) the same records
        assert _per_lead(o1[logical]) == _per_lead(o2[logical]), logical
        assert _keyed(o1[logical]) == _keyed(o2[logical]), logical
    assert sum(len(r) for r in o1["feedback"].values()) > 0
    assert fig1 == fig2
    print(printed1[printed1.index("=== leadflow demo"):])  # the summary, for the record
    printed, want = _backtest(tmp_path)
    print("make run summary:", json.dumps(fig1, sort_keys=True))
    print("backtest:", {k: v for k, v in want.items() if k != "ids"})
    print(printed)
    assert fig1["escalations"] > 0 and fig1["sla_breaches"] > fig1["escalations"]
    for name in ("stages", "handoffs_by_path", "handoffs_by_queue", "feedback"):
        assert fig1[name] == dict(want[name]), name
    assert fig1["sla_breaches"] == want["sla_breaches"]
    assert fig1["escalations"] == want["escalations"]
    # the CLI's own line: hand-offs by path, escalations included
    paths = re.search(r"hand-offs \d+ \(([^)]*)\)", printed)
    assert paths is not None, printed
    assert dict((k, int(v)) for k, v in (x.rsplit(" ", 1) for x in paths.group(1).split(", "))
                ) == fig1["handoffs_by_path"]
    # and record for record: the same output ids
    id_field = {"transitions": "transition_id", "qualified": "handoff_id",
                "feedback": "feedback_id"}
    for logical, field in id_field.items():
        live = {r[field] for recs in o1[logical].values() for r in recs}
        assert live == want["ids"][logical], logical
