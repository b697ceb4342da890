"""Issue 9.7: a secured broker. deploy/kafka/kafka.sh starts a second, private broker with a
SASL_SSL listener (SCRAM-SHA-512, server certificate signed by a CA made here); topics are
created, a lead story is produced and the worker's transitions are read, all through that
listener with the LEADFLOW_* security settings; a wrong password fails at start with one
clear line and no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.admin import kafka_client_config
from streams.codecs import default_codecs
from streams.settings import Settings
from tests.support.broker import KAFKA_SH
from tests.support.kafka_io import HOUR, known_partitions, now_ms
from tests.support.stories import seed_story
from tests.support.worker import ROOT, WorkerProcess, free_port

USER, PASSWORD = "leadflow-svc", "s3cret-Pw_1"
KEYSTORE_PASSWORD = "keystore-pw"


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str  # host:port of the SASL_SSL listener
    ca_pem: Path
    kafka_env: dict[str, str]


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(cmd[:3])} failed:\n{done.stdout}{done.stderr}"


def _certificates_openssl(d: Path) -> None:
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
          "-out", "ca.pem", "-days", "2", "-subj", "/CN=leadflow test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
          "-out", "server.csr", "-subj", "/CN=localhost"], d)
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"], d)
    _run(["openssl", "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key",
          "-certfile", "ca.pem", "-name", "kafka", "-out", "server.p12",
          "-passout", f"pass:{KEYSTORE_PASSWORD}"], d)


def _certificates_keytool(d: Path) -> None:
    """The same with the JDK's keytool only (the broker needs a JDK anyway)."""
    ks = ["-storetype", "PKCS12", "-storepass", KEYSTORE_PASSWORD]
    _run(["keytool", "-genkeypair", "-alias", "ca", "-dname", "CN=leadflow test CA",
          "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-ext", "bc:c=ca:true",
          "-ext", "ku:c=keyCertSign,cRLSign", "-keystore", "ca.p12", *ks], d)
    _run(["keytool", "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12",
          "-file", "ca.pem", *ks], d)
    _run(["keytool", "-genkeypair", "-alias", "kafka", "-dname", "CN=localhost",
          "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-keystore", "server.p12",
          *ks], d)
    _run(["keytool", "-certreq", "-alias", "kafka", "-keystore", "server.p12",
          "-file", "server.csr", *ks], d)
    _run(["keytool", "-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile", "server.csr",
          "-outfile", "server.pem", "-rfc", "-validity", "2",
          "-ext", "san=ip:127.0.0.1,dns:localhost", "-ext", "ku:c=digitalSignature,keyEncipherment",
          "-ext", "eku=serverAuth", *ks], d)
    _run(["keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem",
          "-keystore", "server.p12", *ks], d)
    _run(["keytool", "-importcert", "-alias", "kafka", "-file", "server.pem",
          "-keystore", "server.p12", *ks], d)


def make_certificates(d: Path) -> None:
    """A self-signed CA (ca.pem) and a server keystore (server.p12) for 127.0.0.1/localhost."""
    d.mkdir(parents=True, exist_ok=True)
    default = "openssl" if shutil.which("openssl") else "keytool"
    tool = os.environ.get("TEST_CERTS_TOOL") or default  # keytool comes with the JDK
    if tool == "openssl":
        _certificates_openssl(d)
    else:
        _certificates_keytool(d)


def _kafka(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KAFKA_SH), command], env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """A private broker (its own LEADFLOW_KAFKA_HOME and ports), always stopped at the end."""
    tmp = tmp_path_factory.mktemp("secure-broker")
    make_certificates(tmp / "certs")
    port, sasl_port = free_port(), free_port()
    kafka_env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    kafka_env.update({
        "LEADFLOW_KAFKA_HOME": str(tmp / "kafka"),
        "LEADFLOW_KAFKA_PORT": str(port),
        "LEADFLOW_KAFKA_CONTROLLER_PORT": str(free_port()),
        "LEADFLOW_KAFKA_SASL_PORT": str(sasl_port),
        "LEADFLOW_KAFKA_SSL_KEYSTORE": str(tmp / "certs" / "server.p12"),
        "LEADFLOW_KAFKA_SSL_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD,
        "LEADFLOW_KAFKA_SCRAM_USERS": f"{USER}:{PASSWORD},spare:other-pw",
        "LEADFLOW_KAFKA_HEAP": "512m",
    })
    try:
        started = _kafka(kafka_env, "start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"SASL_SSL (SCRAM-SHA-512) on 127.0.0.1:{sasl_port}" in started.stdout
        yield SecureBroker(f"127.0.0.1:{sasl_port}", tmp / "certs" / "ca.pem", kafka_env)
    finally:
        _kafka(kafka_env, "stop")


def _client_env(broker: SecureBroker, tmp: Path, password: str = PASSWORD) -> dict[str, str]:
    run_id = "sec" + os.urandom(4).hex()
    return {
        "LEADFLOW_BROKER": f"kafka://{broker.bootstrap}",
        "LEADFLOW_SECURITY_PROTOCOL": "SASL_SSL",
        "LEADFLOW_SASL_MECHANISM": "SCRAM-SHA-512",
        "LEADFLOW_SASL_USERNAME": USER,
        "LEADFLOW_SASL_PASSWORD": password,
        "LEADFLOW_SSL_CAFILE": str(broker.ca_pem),
        "LEADFLOW_TOPIC_PREFIX": run_id + ".",
        "LEADFLOW_APP_ID": run_id,
        "LEADFLOW_DATA_DIR": str(tmp / "data"),
        "LEADFLOW_PARTITIONS": "2",
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120)


def _client_options(settings: Settings) -> dict[str, Any]:
    options = kafka_client_config(settings)
    options.pop("client_id", None)
    return options


def _produce_events(settings: Settings, records: list[dict[str, Any]]) -> None:
    codecs = default_codecs()
    producer = KafkaProducer(acks="all", **_client_options(settings))
    try:
        for r in records:
            producer.send(settings.topic("events"), key=r["lead_id"].encode(),
                          value=codecs.encode("LeadEvent", r))
        producer.flush(30)
    finally:
        producer.close()


def _read(settings: Settings, logical: str, kind: str, want: int,
          timeout: float = 45.0) -> list[dict[str, Any]]:
    codecs = default_codecs()
    topic = settings.topic(logical)
    consumer = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=500,
                             **_client_options(settings))
    out: list[dict[str, Any]] = []
    try:
        parts = [TopicPartition(topic, p) for p in known_partitions(consumer, topic)]
        assert parts, f"no partitions for {topic}"
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            out.extend(codecs.decode(kind, msg.value) for msg in consumer)
    finally:
        consumer.close()
    return out


def test_worker_runs_against_sasl_ssl_broker(secure_broker: SecureBroker,
                                             tmp_path: Path) -> None:
    env = _client_env(secure_broker, tmp_path)
    created = _cli(env, "topics", "create")
    assert created.returncode == 0, created.stdout + created.stderr
    assert "created" in created.stdout
    settings = Settings.from_env(env)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        t = now_ms() - 2 * HOUR
        _produce_events(settings, seed_story("secure-1", t))
        transitions = [tr for tr in _read(settings, "transitions", "StageTransition", 2)
                       if tr["lead_id"] == "secure-1"]
        assert [f"{tr['from_stage']}>{tr['to_stage']}" for tr in transitions] == [
            "RAW>ENGAGED", "ENGAGED>MQL"], worker.tail()
        (handoff,) = _read(settings, "qualified", "QualifiedLead", 1)
        assert handoff["lead_id"] == "secure-1"
    finally:
        assert worker.stop() == 0, worker.tail()


def test_wrong_password_fails_at_start_with_one_line(secure_broker: SecureBroker,
                                                     tmp_path: Path) -> None:
    env = _client_env(secure_broker, tmp_path, password="not-the-password")
    log = tmp_path / "worker.log"
    worker = WorkerProcess(env, log)
    t0 = time.monotonic()
    worker.start()
    assert worker.proc is not None
    try:
        code = worker.proc.wait(45)
    finally:
        worker.kill()
    elapsed = time.monotonic() - t0
    output = log.read_text(errors="replace")
    last = output.strip().splitlines()[-1]
    print(f"\nwrong password: exit {code} after {elapsed:.1f} s: {last}")
    assert code != 0
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert last.startswith(f"leadflow: cannot reach Kafka at kafka://{secure_broker.bootstrap}: "
                           f"authentication failed for user '{USER}' (SCRAM-SHA-512)"), last
    assert "Traceback" not in output
    # the same for the CLI
    res = _cli(env, "topics", "create")
    assert res.returncode == 1 and res.stderr.strip().splitlines()[-1].startswith(
        "leadflow: cannot reach Kafka"), res.stderr
    assert "authentication failed" in res.stderr and "Traceback" not in res.stderr


def test_demo_and_tail_through_sasl_ssl(secure_broker: SecureBroker, tmp_path: Path) -> None:
    """Issue 14.5: `demo` publishes and `tail` reads through the SASL_SSL listener with the
    same LEADFLOW_* security settings as the worker (before, both spoke PLAINTEXT)."""
    env = _client_env(secure_broker, tmp_path)
    created = _cli(env, "topics", "create")
    assert created.returncode == 0, created.stdout + created.stderr
    res = _cli(env, "demo", "--leads", "10", "--seed", "4", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "published 10 leads" in res.stdout
    res = _cli(env, "tail", "events", "--from-beginning", "--max", "12", "--timeout", "20")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 12 and all('"lead_id"' in ln for ln in lines), res.stdout
