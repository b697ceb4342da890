#!/usr/bin/env bash
# make run: the newcomer's demo end to end on the local broker.
# Creates fresh topics (prefix demo<timestamp>.), starts a worker in the background with the
# SLA clock following stream time, plays `leadflow demo`, waits for the worker to catch up,
# prints a summary and the URLs to look at, then keeps the worker up until Ctrl-C.
# DEMO_EXIT=1 exits after the summary; DEMO_LEADS / DEMO_SEED / DEMO_RATE / DEMO_NOW_MS /
# DEMO_RUN_ID / DEMO_DATA_DIR / DEMO_SUMMARY_JSON (the summary's figures as JSON) /
# LEADFLOW_WEB_PORT tune it.
# DEMO_POLICY=policy/accounts.yaml runs the worker with that policy (LEADFLOW_POLICY); a
# policy with an `accounts` section makes `leadflow demo` grow companies with buying
# groups and the summary list the qualified accounts (sales.qualified-accounts).
# 'now' is pinned (DEMO_NOW_MS, epoch ms): the same seed gives the same records, so the same
# output records, and the summary equals `leadflow backtest` of
# `leadflow demo --export-dir DIR --leads L --seed S --now-ms N` (same LEADFLOW_PARTITIONS).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN_ID="${DEMO_RUN_ID:-demo$(date +%Y%m%d%H%M%S)}"
LEADS="${DEMO_LEADS:-500}"
SEED="${DEMO_SEED:-7}"
NOW_MS="${DEMO_NOW_MS:-1780000000000}"  # 2026-05-28T20:26:40Z
if [[ -n "${DEMO_POLICY:-}" ]]; then export LEADFLOW_POLICY="$DEMO_POLICY"; fi
export LEADFLOW_TOPIC_PREFIX="$RUN_ID." LEADFLOW_APP_ID="$RUN_ID" LEADFLOW_SLA_CLOCK=event
export LEADFLOW_DATA_DIR="${DEMO_DATA_DIR:-.local/demo/$RUN_ID}" LEADFLOW_WEB_PORT="${LEADFLOW_WEB_PORT:-6066}"
export LEADFLOW_SLA_CHECK_INTERVAL="${LEADFLOW_SLA_CHECK_INTERVAL:-0.5}"
export LEADFLOW_KPI_FLUSH_INTERVAL="${LEADFLOW_KPI_FLUSH_INTERVAL:-1}"
URL="http://127.0.0.1:$LEADFLOW_WEB_PORT"
mkdir -p "$LEADFLOW_DATA_DIR"
LOG="$LEADFLOW_DATA_DIR/worker.log"
WPID=""

cleanup() {
  if [[ -n "$WPID" ]] && kill -0 "$WPID" 2>/dev/null; then
    echo "stopping the worker (pid $WPID)..."
    kill -TERM "$WPID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$WPID" 2>/dev/null || true
  fi
  echo "the broker keeps running; 'make kafka-stop' stops it."
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== topics ($LEADFLOW_TOPIC_PREFIX*)"
$BIN/leadflow topics create
echo "== worker (log: $LOG)"
$BIN/leadflow worker >"$LOG" 2>&1 &
WPID=$!
ready=0
for _ in $(seq 1 240); do
  kill -0 "$WPID" 2>/dev/null || { echo "the worker exited; see $LOG"; tail -20 "$LOG"; exit 1; }
  if $BIN/python -c "import sys,urllib.request as u; sys.exit(0 if u.urlopen('$URL/health/ready',timeout=1).status==200 else 1)" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.5
done
[[ $ready == 1 ]] || { echo "the worker was not ready in 120 s; see $LOG"; exit 1; }
echo "== worker ready at $URL"
echo "== demo: $LEADS leads, seed $SEED, now $NOW_MS${LEADFLOW_POLICY:+, policy $LEADFLOW_POLICY}"
# Paced (DEMO_RATE records/s): compressed simulated time that plays out in well under a
# minute, while the worker keeps up, as it would with real traffic.
OUT=$($BIN/leadflow demo --leads "$LEADS" --seed "$SEED" --now-ms "$NOW_MS" --rate "${DEMO_RATE:-100}" | tee /dev/stderr)
RECORDS=$(echo "$OUT" | $BIN/python -c "
import re,sys
m=re.search(r'(\d+) events .*?, (\d+) outcomes, (\d+) malformed', sys.stdin.read())
print(sum(int(x) for x in m.groups()))")
$BIN/python -m streams.demo.summary --url "$URL" --records "$RECORDS" --leads "$LEADS" \
  ${DEMO_SUMMARY_JSON:+--json "$DEMO_SUMMARY_JSON"}
if [[ "${DEMO_EXIT:-0}" == "1" ]]; then
  exit 0
fi
echo "the worker keeps running at $URL; Ctrl-C stops it."
wait "$WPID"
