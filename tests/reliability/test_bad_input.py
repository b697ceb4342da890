"""Issue 9.5: 10,000 malformed, mistyped, oversized and hostile records mixed into a valid
stream: no crash, every one dead-lettered with its reason, valid records unaffected.
Policies with mistakes are refused at start; a policy change shows in policy_version."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from streams.admin import create_topics
from streams.codecs import default_codecs
from streams.domain import load_policy
from streams.paths import DEFAULT_POLICY
from streams.settings import Settings
from tests.support.chaos import wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import HOUR, Io, lead_event, now_ms, outcome
from tests.support.replay import read_topic
from tests.support.stories import seed_story
from tests.support.worker import WorkerProcess
from tests.support.workload import generate


def hostile_records(n: int, now: int, rng: random.Random
                    ) -> list[tuple[str, bytes, bytes | None, str]]:
    """(logical topic, key, value, expected error type)."""
    codecs = default_codecs()
    valid = codecs.encode("LeadEvent", lead_event("ok", "bad", "EMAIL_OPENED", now - HOUR))
    makers = [
        lambda i: (b"not avro at all %d" % i, "DECODE"),
        lambda i: (b"\xc3\x01" + rng.randbytes(8) + b"x" * 20, "DECODE"),  # unknown schema
        lambda i: (valid[:10] + rng.randbytes(rng.randrange(1, 40)), "SCHEMA"),  # bad body
        lambda i: (valid + b"trailing", "SCHEMA"),
        lambda i: (None, "VALIDATION"),  # a tombstone where events belong
        lambda i: (codecs.encode("LeadEvent", lead_event(f"f{i}", "bad", "EMAIL_OPENED",
                                                         now + 90 * 24 * HOUR)), "VALIDATION"),
        lambda i: (codecs.encode("LeadEvent", lead_event(f"p{i}", "bad", "EMAIL_OPENED",
                                                         946_684_800_000 - 1)), "VALIDATION"),
        lambda i: (codecs.encode("LeadEvent", lead_event(f"x{i}", "bad", "EMAIL_OPENED",
                                                         now - HOUR,
                                                         attributes={"k": "v" * 10_000})),
                   "VALIDATION"),
        lambda i: (codecs.encode("LeadEvent", lead_event(f"m{i}", "bad", "EMAIL_OPENED",
                                                         now - HOUR, attributes={
                                                             f"a{j}": "x" for j in range(100)})),
                   "VALIDATION"),
        lambda i: (codecs.encode("LeadEvent", lead_event("", "bad", "EMAIL_OPENED", now)),
                   "VALIDATION"),
        lambda i: (codecs.encode("LeadEvent", lead_event(f"i{i}", "x" * 500, "EMAIL_OPENED",
                                                         now)), "VALIDATION"),
        lambda i: (codecs.encode("SalesOutcome", outcome(f"r{i}", "bad", "REJECTED", now,
                                                         reason=None)), "VALIDATION"),
    ]
    out = []
    for i in range(n):
        value, error = makers[i % len(makers)](i)
        out.append(("events", b"bad", value, error))
    return out


def test_ten_thousand_hostile_records(worker_env: dict[str, str], tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    now = now_ms()
    rng = random.Random(99)
    valid = generate(5_000, 500, now, seed=8)
    valid_events = [r for r in valid if r[0] == "events"]
    bad = hostile_records(10_000, now, rng)
    io = Io(settings)
    codecs = io.codecs
    mixed: list[tuple[str, bytes, bytes | None]] = [
        (t, r["lead_id"].encode(), codecs.encode("LeadEvent", r)) for t, r in valid_events]
    mixed += [(t, k, v) for t, k, v, _ in bad]
    rng.shuffle(mixed)
    # keep each valid lead's own events in order after the shuffle
    order = iter(valid_events)
    mixed = [(t, k, v) if k == b"bad" else _next_valid(order, codecs) for t, k, v in mixed]
    worker = WorkerProcess(worker_env, tmp_path / "w.log").start()
    try:
        worker.wait_ready()
        for t, k, v in mixed:
            io.send_raw(t, k, v)
        io.flush()
        wait_caught_up(settings, worker, timeout=300)
        assert worker.proc is not None and worker.proc.poll() is None
    finally:
        worker.stop()
        io.close()
    letters = [codecs.decode("DeadLetter", v) for _, v in read_topic(settings,
                                                                  settings.topic("dead_letter"))
               if v is not None]
    got = Counter(d["error_type"] for d in letters)
    want = Counter(e for *_, e in bad)
    print(f"\n[bad input] sent bad={len(bad)} dead-lettered={len(letters)} by type={dict(got)}")
    assert got == want
    assert all(d["error"] for d in letters)
    compare_with_offline(settings, valid_events, now, "bad input: valid records",
                         exact_input=False)  # the bad records are checked above


def _next_valid(order, codecs):  # type: ignore[no-untyped-def]
    t, r = next(order)
    return (t, r["lead_id"].encode(), codecs.encode("LeadEvent", r))


def test_policy_with_mistakes_is_refused_at_start(worker_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_POLICY.read_text().replace("version:", "versoin:", 1))
    worker = WorkerProcess({**worker_env, "LEADFLOW_POLICY": str(bad)}, tmp_path / "w.log")
    worker.start()
    assert worker.proc is not None and worker.proc.wait(60) == 2
    out = (tmp_path / "w.log").read_text()
    assert "invalid policy" in out and "Traceback" not in out


def test_policy_change_on_restart_shows_in_policy_version(worker_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    text = DEFAULT_POLICY.read_text()
    version = next(line for line in text.splitlines() if line.startswith("version:"))
    v2 = tmp_path / "v2.yaml"
    v2.write_text(text.replace(version, 'version: "2026.12-test"', 1))
    io = Io(settings)
    t = now_ms() - HOUR
    worker = WorkerProcess(worker_env, tmp_path / "w1.log").start()
    worker.wait_ready()
    io.send_events(seed_story("pv-1", t)[:2])
    wait_caught_up(settings, worker)
    worker.stop()
    worker = WorkerProcess({**worker_env, "LEADFLOW_POLICY": str(v2)}, tmp_path / "w2.log")
    worker.start()
    try:
        worker.wait_ready()
        io.send_events(seed_story("pv-1", t)[2:])
        wait_caught_up(settings, worker)
    finally:
        worker.stop()
        io.close()
    transitions = [default_codecs().decode("StageTransition", v)
                   for _, v in read_topic(settings, settings.topic("transitions"))]
    versions = [(tr["to_stage"], tr["policy_version"]) for tr in transitions]
    # contract 4a: the declared version plus a hash of the file's content
    assert versions == [("ENGAGED", load_policy(DEFAULT_POLICY).version),
                        ("MQL", load_policy(v2).version)]
    assert versions[1][1].startswith("2026.12-test+")
