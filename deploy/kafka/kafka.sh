#!/usr/bin/env bash
# A local, single-node Apache Kafka (KRaft: broker + controller in one JVM) run from the
# Maven Central jars. No Docker, no ZooKeeper, loopback only.
#
#   deploy/kafka/kafka.sh install|start|stop|status|reset
#
# LEADFLOW_KAFKA_PORT             client port on 127.0.0.1 (default 9092)
# LEADFLOW_KAFKA_CONTROLLER_PORT  KRaft controller port (default client port + 1)
# LEADFLOW_KAFKA_HOME             state folder (default <repo>/.local/kafka): libs, data, logs
# LEADFLOW_KAFKA_HEAP             JVM heap (default 1g)
# LEADFLOW_KAFKA_START_TIMEOUT    seconds to wait for the first metadata answer (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${LEADFLOW_KAFKA_PORT:-9092}"
controller_port="${LEADFLOW_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
home="${LEADFLOW_KAFKA_HOME:-$root/.local/kafka}"
libs="$root/.local/kafka/libs"          # jars are shared by every instance
conf="$home/config"
data="$home/data"
logs="$home/logs"
pidfile="$home/kafka.pid"
heap="${LEADFLOW_KAFKA_HEAP:-1g}"
timeout="${LEADFLOW_KAFKA_START_TIMEOUT:-90}"

die() { echo "kafka.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed: $2"; }

install() {
  need java "install OpenJDK 17 or newer (apt-get install openjdk-17-jre-headless)"
  local stamp="$libs/.resolved-$(sha1sum "$here/pom.xml" | cut -c1-12)"
  if [[ -f "$stamp" ]]; then return 0; fi
  need mvn "install Maven (apt-get install maven) to fetch the Kafka jars"
  echo "kafka.sh: resolving Apache Kafka jars into $libs ..."
  rm -rf "$libs"
  mkdir -p "$root/.local"
  mvn -q -B -f "$here/pom.xml" package -Dlibs.dir="$libs" >"$root/.local/kafka-install.log" 2>&1 \
    || { tail -n 20 "$root/.local/kafka-install.log" >&2; die "maven could not resolve the Kafka jars (log: .local/kafka-install.log)"; }
  touch "$stamp"
  echo "kafka.sh: $(ls "$libs"/*.jar | wc -l) jars, $(du -sh "$libs" | cut -f1)"
}

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid; pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

write_config() {
  mkdir -p "$conf" "$data" "$logs"
  cat >"$conf/server.properties" <<PROPS
# Written by deploy/kafka/kafka.sh; edits are overwritten on start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=1
# One node: internal topics cannot be replicated.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Topics are created on purpose (leadflow topics create), never by a typo.
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=268435456
PROPS
}

format_storage() {
  [[ -f "$data/meta.properties" ]] && return 0
  local id
  id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
    kafka.tools.StorageTool format -t "$id" -c "$conf/server.properties" --standalone >"$logs/format.log" 2>&1 \
    || { cat "$logs/format.log" >&2; die "could not format storage in $data"; }
}

probe() {
  java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
    "$here/Probe.java" "127.0.0.1:$port" "$1" 2>>"$logs/probe.log"
}

start() {
  if pid="$(running_pid)"; then
    echo "kafka.sh: already running (pid $pid) on 127.0.0.1:$port"
    return 0
  fi
  install
  write_config
  format_storage
  local t0=$SECONDS
  nohup java -Xms256m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
    -cp "$libs/*" kafka.Kafka "$conf/server.properties" >"$logs/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  if probe "$timeout" >/dev/null && running_pid >/dev/null; then
    echo "kafka.sh: broker ready on 127.0.0.1:$port in $((SECONDS - t0)) s (pid $(cat "$pidfile"), data $data)"
  else
    echo "kafka.sh: broker did not answer within ${timeout} s; last log lines:" >&2
    tail -n 30 "$logs/server.log" "$logs/stdout.log" >&2 2>/dev/null || true
    stop >/dev/null 2>&1 || true
    exit 1
  fi
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    echo "kafka.sh: not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "kafka.sh: stopped"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "kafka.sh: killed after 30 s"
}

status() {
  if pid="$(running_pid)"; then
    echo "kafka.sh: running (pid $pid) on 127.0.0.1:$port"
  else
    echo "kafka.sh: not running"
    return 3
  fi
}

reset() {
  stop
  rm -rf "$data" "$logs" "$conf"
  echo "kafka.sh: data removed"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) reset ;;
  *) echo "usage: deploy/kafka/kafka.sh install|start|stop|status|reset" >&2; exit 2 ;;
esac
