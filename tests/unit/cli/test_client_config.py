"""Issue 14.5: every command builds its Kafka clients and codecs from one place
(streams.clients), so SASL/TLS and the schema registry apply to `tail`, `demo` and the demo
summary exactly as to the worker and `topics create`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaError
from typer.testing import CliRunner

from streams import clients
from streams.cli import app
from streams.settings import Settings
from tests.support.registry import fake_registry

runner = CliRunner()


@pytest.fixture()
def secure_env(tmp_path: Path) -> dict[str, str]:
    import ssl

    # any valid CA bundle: the worker's side builds a real TLS context from it
    bundle = ssl.get_default_verify_paths().cafile
    if bundle is None or not Path(bundle).is_file():
        pytest.skip("no system CA bundle to stand in for the broker's CA")
    ca = tmp_path / "ca.pem"
    ca.write_text(Path(bundle).read_text())
    return {
        "LEADFLOW_BROKER": "kafka://broker.example:9094",
        "LEADFLOW_SECURITY_PROTOCOL": "SASL_SSL",
        "LEADFLOW_SASL_MECHANISM": "SCRAM-SHA-512",
        "LEADFLOW_SASL_USERNAME": "svc",
        "LEADFLOW_SASL_PASSWORD": "pw",
        "LEADFLOW_SSL_CAFILE": str(ca),
        "LEADFLOW_SSL_CHECK_HOSTNAME": "false",
    }


class Captured(Exception):
    """Raised by the fake clients once they have seen their configuration."""


def capture(monkeypatch: pytest.MonkeyPatch, name: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        raise KafkaError("stop here")

    import kafka

    monkeypatch.setattr(kafka, name, fake)
    return seen


def assert_secured(config: dict[str, Any], env: dict[str, str]) -> None:
    assert config["bootstrap_servers"] in (["broker.example:9094"], "broker.example:9094")
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("svc", "pw")
    assert config["ssl_cafile"] == env["LEADFLOW_SSL_CAFILE"]
    assert config["ssl_check_hostname"] is False


def test_tail_uses_the_security_settings(monkeypatch: pytest.MonkeyPatch,
                                         secure_env: dict[str, str]) -> None:
    seen = capture(monkeypatch, "KafkaConsumer")
    res = runner.invoke(app, ["tail", "events"], env=secure_env)
    assert res.exit_code == 1 and len(seen) == 1
    assert_secured(seen[0], secure_env)


def test_demo_uses_the_security_settings(monkeypatch: pytest.MonkeyPatch,
                                         secure_env: dict[str, str]) -> None:
    seen = capture(monkeypatch, "KafkaProducer")
    res = runner.invoke(app, ["demo", "--leads", "3", "-q"], env=secure_env)
    assert res.exit_code != 0 and len(seen) == 1
    assert_secured(seen[0], secure_env)


def test_summary_uses_the_security_settings(monkeypatch: pytest.MonkeyPatch,
                                            secure_env: dict[str, str]) -> None:
    from streams.demo import summary

    seen = capture(monkeypatch, "KafkaConsumer")
    settings = Settings.from_env(secure_env)
    for read in (lambda: summary.read_topic(settings, "transitions", "StageTransition"),
                 lambda: summary.input_lag(settings)):
        with pytest.raises(KafkaError):
            read()
    assert len(seen) == 2
    for config in seen:
        assert_secured(config, secure_env)


def test_admin_worker_and_commands_share_one_configuration(secure_env: dict[str, str]) -> None:
    from streams.admin import kafka_client_config
    from streams.app import aiokafka_config, faust_config

    settings = Settings.from_env(secure_env)
    admin = kafka_client_config(settings)
    assert {k: v for k, v in admin.items() if k != "client_id"} == {
        k: v for k, v in clients.kafka_python_config(settings, "x").items() if k != "client_id"}
    aio = aiokafka_config(settings)
    assert aio["security_protocol"] == "SASL_SSL" and aio["ssl_context"].check_hostname is False
    creds = faust_config(settings)["broker_credentials"]
    assert creds is not None and creds.username == "svc"


def test_codecs_follow_the_schema_registry_setting() -> None:
    assert clients.codecs(Settings.from_env({})).wire_format.name == "single-object"
    with fake_registry() as reg:
        codecs = clients.codecs(Settings.from_env({"LEADFLOW_SCHEMA_REGISTRY_URL": reg.url}))
        assert codecs.wire_format.name == "confluent"
