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
#
# Secure mode (off unless LEADFLOW_KAFKA_SASL_PORT is set): a second listener,
# SASL_SSL://127.0.0.1:<sasl port>, authenticating with SCRAM-SHA-512 over TLS. The
# PLAINTEXT listener stays (loopback only) for the controller, inter-broker traffic and the
# start probe; clients that should authenticate use the SASL_SSL port.
#
# LEADFLOW_KAFKA_SASL_PORT              port of the SASL_SSL listener on 127.0.0.1
# LEADFLOW_KAFKA_SSL_KEYSTORE           PKCS12 file: the server's private key + certificate
#                                       (chain) for 127.0.0.1/localhost
# LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD  its password (also used as the key password)
# LEADFLOW_KAFKA_SCRAM_USERS            user:password[,user2:password2] - the SCRAM-SHA-512
#                                       credentials, written into the KRaft metadata when the
#                                       storage is formatted (StorageTool format --add-scram)
#
# Users are created at format time only: to change them, `reset` (drops all data) or use a
# fresh LEADFLOW_KAFKA_HOME; `start` refuses storage formatted with another
# LEADFLOW_KAFKA_SCRAM_USERS value (a digest of it is kept in data/, mode 600). User names
# are [A-Za-z0-9._-]; passwords may not contain , : [ ] = " ' or spaces. config/
# server.properties (it holds the keystore password) is written with mode 600. This is for
# local development and tests: the PLAINTEXT port stays open without authentication to
# anyone on this machine, and the passwords are on StorageTool's command line while it
# formats. Example:
#
#   LEADFLOW_KAFKA_HOME=/tmp/k2 LEADFLOW_KAFKA_PORT=19092 LEADFLOW_KAFKA_SASL_PORT=19094 \
#   LEADFLOW_KAFKA_SSL_KEYSTORE=server.p12 LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD=changeit \
#   LEADFLOW_KAFKA_SCRAM_USERS=leadflow:s3cret deploy/kafka/kafka.sh start
#
# and the worker: LEADFLOW_BROKER=kafka://127.0.0.1:19094 LEADFLOW_SECURITY_PROTOCOL=SASL_SSL
# LEADFLOW_SASL_MECHANISM=SCRAM-SHA-512 LEADFLOW_SASL_USERNAME=leadflow
# LEADFLOW_SASL_PASSWORD=s3cret LEADFLOW_SSL_CAFILE=ca.pem leadflow worker
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
sasl_port="${LEADFLOW_KAFKA_SASL_PORT:-}"
keystore="${LEADFLOW_KAFKA_SSL_KEYSTORE:-}"
keystore_password="${LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD:-}"
scram_users="${LEADFLOW_KAFKA_SCRAM_USERS:-}"
scram_stamp="$data/leadflow-scram.sha256"   # which users the storage was formatted with

die() { echo "kafka.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed: $2"; }

secure() { [[ -n "$sasl_port" ]]; }

# Secure mode settings are all given and sane, or the script stops with one line.
check_secure() {
  if ! secure; then
    if [[ -n "$keystore$keystore_password$scram_users" ]]; then
      die "LEADFLOW_KAFKA_SSL_KEYSTORE, LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD and LEADFLOW_KAFKA_SCRAM_USERS need LEADFLOW_KAFKA_SASL_PORT (the SASL_SSL listener's port)"
    fi
    return 0
  fi
  [[ "$sasl_port" =~ ^[0-9]+$ ]] && (( sasl_port > 0 && sasl_port < 65536 )) \
    || die "LEADFLOW_KAFKA_SASL_PORT=$sasl_port is not a port number"
  [[ "$sasl_port" != "$port" && "$sasl_port" != "$controller_port" ]] \
    || die "LEADFLOW_KAFKA_SASL_PORT=$sasl_port is already the client or controller port"
  [[ -n "$keystore" ]] || die "LEADFLOW_KAFKA_SASL_PORT needs LEADFLOW_KAFKA_SSL_KEYSTORE (a PKCS12 file)"
  [[ -r "$keystore" ]] || die "LEADFLOW_KAFKA_SSL_KEYSTORE=$keystore is not a readable file"
  keystore="$(cd "$(dirname "$keystore")" && pwd)/$(basename "$keystore")"
  [[ -n "$keystore_password" ]] || die "LEADFLOW_KAFKA_SASL_PORT needs LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD"
  [[ "$keystore_password" != *$'\n'* ]] || die "LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD may not hold a line break"
  [[ -n "$scram_users" ]] || die "LEADFLOW_KAFKA_SASL_PORT needs LEADFLOW_KAFKA_SCRAM_USERS (user:password[,user2:password2])"
  local entry user pass
  local -a entries
  IFS=',' read -r -a entries <<<"$scram_users"
  for entry in "${entries[@]}"; do
    user="${entry%%:*}"; pass="${entry#*:}"
    [[ "$entry" == *:* && "$user" =~ ^[A-Za-z0-9._-]+$ && -n "$pass" ]] \
      || die "LEADFLOW_KAFKA_SCRAM_USERS: '${user}' is not user:password (user names are [A-Za-z0-9._-])"
    case "$pass" in
      *[],:=\"\'[]* | *[[:space:]]*) die "LEADFLOW_KAFKA_SCRAM_USERS: the password of '$user' may not contain , : [ ] = \" ' or spaces" ;;
    esac
  done
}

# --add-scram arguments for StorageTool, one per user.
scram_args() {
  local entry
  local -a entries
  IFS=',' read -r -a entries <<<"$scram_users"
  for entry in "${entries[@]}"; do
    printf '%s\0' --add-scram "SCRAM-SHA-512=[name=${entry%%:*},password=${entry#*:}]"
  done
}

scram_user_names() {
  local entry out=""
  local -a entries
  IFS=',' read -r -a entries <<<"$scram_users"
  for entry in "${entries[@]}"; do out="${out:+$out, }${entry%%:*}"; done
  echo "$out"
}

scram_digest() { printf '%s' "$scram_users" | sha256sum | cut -c1-64; }

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
  local listeners="PLAINTEXT://127.0.0.1:$port"
  local protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if secure; then
    listeners="$listeners,SASL_SSL://127.0.0.1:$sasl_port"
    protocols="$protocols,SASL_SSL:SASL_SSL"
  fi
  if secure; then (umask 077; : >"$conf/server.properties"; chmod 600 "$conf/server.properties"); fi
  cat >"$conf/server.properties" <<PROPS
# Written by deploy/kafka/kafka.sh; edits are overwritten on start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=$listeners,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
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
# Compacted topics (state changelogs, erasures) are cleaned within seconds, not 15 s+.
log.cleaner.backoff.ms=2000
log.segment.bytes=268435456
PROPS
  if secure; then
    cat >>"$conf/server.properties" <<PROPS
# Secure mode: SCRAM-SHA-512 over TLS on the SASL_SSL listener; users are in the metadata log.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$keystore
listener.name.sasl_ssl.ssl.keystore.password=$keystore_password
listener.name.sasl_ssl.ssl.key.password=$keystore_password
listener.name.sasl_ssl.ssl.client.auth=none
PROPS
  fi
}

format_storage() {
  if [[ -f "$data/meta.properties" ]]; then
    if secure && [[ "$(cat "$scram_stamp" 2>/dev/null)" != "$(scram_digest)" ]]; then
      die "storage in $data was formatted without these SCRAM users (they are only created at format time): run 'kafka.sh reset' (drops its data) or use a fresh LEADFLOW_KAFKA_HOME"
    fi
    return 0
  fi
  local id
  local -a extra=()
  if secure; then mapfile -d '' -t extra < <(scram_args); fi
  id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logs" \
    kafka.tools.StorageTool format -t "$id" -c "$conf/server.properties" --standalone "${extra[@]}" >"$logs/format.log" 2>&1 \
    || { cat "$logs/format.log" >&2; die "could not format storage in $data"; }
  if secure; then (umask 077; scram_digest >"$scram_stamp"); fi
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
  check_secure
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
    if secure; then
      echo "kafka.sh: SASL_SSL (SCRAM-SHA-512) on 127.0.0.1:$sasl_port, users: $(scram_user_names)"
    fi
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
