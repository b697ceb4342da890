"""Issue 13 item 6: the live worker equals the offline time-ordered replay, record for
record (every output's id and content, every final lead state, every dead letter, each
partition's progress), on three weeks of history whose SLA deadlines fall due inside it.

(a) a backlog written first, worker started after; (b) the same paced at ~500 records/s
while the worker runs; (c) (a) with 3 SIGKILLs during catch-up; (e) the accounts policy,
a backlog with SIGKILLs, sales.qualified-accounts and the account states compared too.
(d), a second worker joining and leaving, is tests/reliability/test_rebalance.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from streams.admin import create_topics
from streams.paths import POLICY_DIR
from streams.settings import Settings
from tests.support.accounts import wait_accounts_caught_up, with_companies
from tests.support.chaos import Producer, lag, send_backlog, wait_caught_up
from tests.support.checks import compare_with_offline
from tests.support.kafka_io import now_ms
from tests.support.worker import WorkerProcess, metric_sum
from tests.support.workload import history

ACCOUNTS_POLICY = POLICY_DIR / "accounts.yaml"


def scenario_env(worker_env: dict[str, str]) -> dict[str, str]:
    # event clock: deadlines fire on stream time, as in the offline replay (deterministic)
    return {**worker_env, "LEADFLOW_PARTITIONS": "4", "LEADFLOW_SLA_CLOCK": "event"}


def wait_lag_below(settings: Settings, worker: WorkerProcess, limit: int,
                   timeout: float = 300.0) -> int:
    """Wait until the lag is at or below ``limit``; return the lag seen (kill right after:
    a second look may find the worker done)."""
    deadline = time.monotonic() + timeout
    while (seen := lag(settings)) > limit:
        assert time.monotonic() < deadline, f"lag stayed above {limit}:\n{worker.tail()}"
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        time.sleep(0.1)
    return seen


def idle_waits_of(worker: WorkerProcess) -> float:
    return metric_sum(worker.get_text("/metrics"), "leadflow_idle_waits_total")


def idle_waits_of_log(worker: WorkerProcess) -> float:
    """Waits given up, from the log of a worker that was killed (each is logged)."""
    return float(worker.log_path.read_text(errors="replace").count('event="idle_wait"'))


def assert_deadlines_exercised(figures: dict[str, int]) -> None:
    assert figures["escalations"] > 0 and figures["sla_breaches"] > figures["escalations"], \
        figures
    assert figures["expected_dead_letters"] > 0, figures


def test_backlog_equals_replay(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = scenario_env(worker_env)
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = history(50_000, now, seed=13)
    sent_in = send_backlog(settings, records)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(120)
        t0 = time.monotonic()
        wait_caught_up(settings, worker, timeout=400)
        caught_up_in = time.monotonic() - t0
    finally:
        worker.stop()
    print(f"\n[backlog] {len(records)} records written in {sent_in:.1f}s, "
          f"caught up in {caught_up_in:.1f}s")
    figures = compare_with_offline(settings, records, now, "backlog 50k")
    assert figures["differences"] == 0
    assert_deadlines_exercised(figures)


def test_paced_stream_equals_replay(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = scenario_env(worker_env)
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = history(15_000, now, seed=17)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    producer = Producer(settings, records, seconds=len(records) / 500)
    try:
        worker.wait_ready(120)
        producer.start()
        producer.join()
        assert producer.error is None, producer.error
        wait_caught_up(settings, worker, timeout=300)
    finally:
        worker.stop()
    figures = compare_with_offline(settings, records, now, "paced 500/s")
    assert figures["differences"] == 0
    assert_deadlines_exercised(figures)


def test_backlog_with_sigkills_equals_replay(worker_env: dict[str, str],
                                             tmp_path: Path) -> None:
    # With the default bounded wait (LEADFLOW_MAX_IDLE_MS=2000).
    env = scenario_env(worker_env)
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = history(50_000, now, seed=19)
    send_backlog(settings, records)
    total = lag(settings)
    lags_at_kill = []
    idle_waits: list[float] = []  # merges that stopped waiting for a lagging input
    worker = WorkerProcess(env, tmp_path / "worker-0.log").start()
    try:
        for n in range(1, 4):
            # SIGKILL once the commits show progress (a quarter more of the backlog each
            # time), while the lag is still > 0: mid catch-up, states and outputs half done
            lags_at_kill.append(wait_lag_below(settings, worker, total * (4 - n) // 4))
            worker.kill()  # at once: a look at its metrics first may find it done
            idle_waits.append(idle_waits_of_log(worker))
            worker = WorkerProcess(env, tmp_path / f"worker-{n}.log").start()
        worker.wait_ready(120)
        wait_caught_up(settings, worker, timeout=400)
        idle_waits.append(idle_waits_of(worker))
    finally:
        worker.stop()
    print(f"\n[backlog + 3 SIGKILLs] lag at each kill: {lags_at_kill}; idle waits given up "
          f"per worker: {idle_waits}")
    assert len(lags_at_kill) == 3 and min(lags_at_kill) > 0, lags_at_kill
    figures = compare_with_offline(settings, records, now, "backlog 50k, 3 SIGKILLs")
    assert figures["differences"] == 0
    assert_deadlines_exercised(figures)


def test_accounts_backlog_with_sigkills_equals_replay(worker_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    """(e) The accounts policy (contract 4b): leads of ~1,000 companies (several contacts
    each, titles that make buying-group roles); a backlog with 2 SIGKILLs during catch-up.
    Besides the lead outputs and states, every AccountQualified record (id and every
    field) and every account state equal the offline replay's: the account side's
    decisions do not depend on how the lead partitions' signals interleaved, nor on the
    crashes."""
    env = {**scenario_env(worker_env), "LEADFLOW_POLICY": str(ACCOUNTS_POLICY)}
    settings = Settings.from_env(env)
    create_topics(settings)
    now = now_ms()
    records = with_companies(history(40_000, now, seed=23), seed=23)
    send_backlog(settings, records)
    total = lag(settings)
    lags_at_kill = []
    idle_waits: list[float] = []
    worker = WorkerProcess(env, tmp_path / "worker-0.log").start()
    try:
        for n in range(1, 3):
            # first at 3/4 of the backlog, then once the restarted worker has done half of
            # what was left (fixed marks let it be killed at once, or done before)
            mark = total * 3 // 4 if not lags_at_kill else lags_at_kill[-1] // 2
            lags_at_kill.append(wait_lag_below(settings, worker, mark))
            worker.kill()
            idle_waits.append(idle_waits_of_log(worker))
            worker = WorkerProcess(env, tmp_path / f"worker-{n}.log").start()
        worker.wait_ready(120)
        wait_caught_up(settings, worker, timeout=400)
        wait_accounts_caught_up(settings)
        idle_waits.append(idle_waits_of(worker))
    finally:
        worker.stop()
    print(f"\n[accounts backlog + 2 SIGKILLs] lag at each kill: {lags_at_kill}; idle waits "
          f"given up per worker: {idle_waits}")
    assert len(lags_at_kill) == 2 and min(lags_at_kill) > 0, lags_at_kill
    figures = compare_with_offline(settings, records, now, "accounts 40k, 2 SIGKILLs",
                                   policy=ACCOUNTS_POLICY)
    assert figures["differences"] == 0
    assert figures["expected_account_qualifications"] >= 10, figures
    assert_deadlines_exercised(figures)
