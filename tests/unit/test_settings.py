from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from streams.settings import KNOWN_VARIABLES, Settings, SettingsError


def test_defaults_follow_the_contract() -> None:
    s = Settings.from_env({})
    assert s.broker == "kafka://127.0.0.1:9092"
    assert s.web_port == 6066
    assert s.store == "rocksdb://"
    assert s.topic("events") == "leads.events"
    assert s.topic("dead_letter") == "leads.dead-letter"
    assert s.broker_hosts == "127.0.0.1:9092"


def test_values_are_read_and_frozen(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: x\n")
    s = Settings.from_env({
        "LEADFLOW_BROKER": "kafka://127.0.0.1:19092",
        "LEADFLOW_WEB_PORT": "7000",
        "LEADFLOW_POLICY": str(policy),
        "LEADFLOW_TOPIC_PREFIX": "run1.",
        "LEADFLOW_TOPIC_EVENTS": "in.events",
        "LEADFLOW_AUTO_CREATE_TOPICS": "yes",
        "LEADFLOW_LOG_FORMAT": "JSON",
    })
    assert (s.broker_hosts, s.web_port, s.policy_path) == ("127.0.0.1:19092", 7000, policy)
    assert s.topic("events") == "run1.in.events"
    assert s.auto_create_topics is True
    assert s.log_format == "json"
    with pytest.raises(FrozenInstanceError):
        s.web_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"LEADFLOW_WEB_PORT": "http"}, "LEADFLOW_WEB_PORT='http' is not a whole number"),
        ({"LEADFLOW_WEB_PORT": "70000"}, "out of range"),
        ({"LEADFLOW_BROKER": "http://x:1"}, "kafka://host:port"),
        ({"LEADFLOW_BROKER": "kafka://nohost"}, "kafka://host:port"),
        ({"LEADFLOW_STORE": "redis://"}, "rocksdb:// or memory://"),
        ({"LEADFLOW_POLICY": "/nonexistent.yaml"}, "no such file"),
        ({"LEADFLOW_TOPIC_EVENTS": "bad topic!"}, "not a valid Kafka topic name"),
        ({"LEADFLOW_AUTO_CREATE_TOPICS": "maybe"}, "not a boolean"),
        ({"LEADFLOW_SECURITY_PROTOCOL": "SASL_SSL"}, "needs LEADFLOW_SASL_MECHANISM"),
        ({"LEADFLOW_SASL_MECHANISM": "MD5"}, "must be one of"),
        ({"LEADFLOW_BROKR": "kafka://x:1"}, "unknown setting LEADFLOW_BROKR"),
    ],
)
def test_bad_values_fail_with_one_clear_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_every_known_variable_is_prefixed() -> None:
    assert all(v.startswith("LEADFLOW_") for v in KNOWN_VARIABLES)
