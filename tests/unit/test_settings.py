from __future__ import annotations

import re
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


# --------------------------------------------------------------------------- service links

LINKS = {
    "LEADFLOW_WORKER_SERVICE_HOST": "10.96.0.17",
    "LEADFLOW_WORKER_SERVICE_PORT": "6066",
    "LEADFLOW_WORKER_SERVICE_PORT_HTTP": "6066",
    "LEADFLOW_WORKER_PORT": "tcp://10.96.0.17:6066",
    "LEADFLOW_WORKER_PORT_6066_TCP": "tcp://10.96.0.17:6066",
    "LEADFLOW_WORKER_PORT_6066_TCP_PROTO": "tcp",
    "LEADFLOW_WORKER_PORT_6066_TCP_PORT": "6066",
    "LEADFLOW_WORKER_PORT_6066_TCP_ADDR": "10.96.0.17",
    "LEADFLOW_METRICS_V6_PORT": "tcp://[fd00::17]:9090",
    "LEADFLOW_DNS_PORT_53_UDP_PROTO": "udp",
}


def test_kubernetes_service_links_are_not_settings() -> None:
    s = Settings.from_env({**LINKS, "LEADFLOW_WEB_PORT": "7000"})
    assert s.web_port == 7000
    assert set(s.ignored_variables) == set(LINKS)


def test_a_service_link_on_a_real_setting_name_is_ignored_and_reported() -> None:
    from streams.settings import shadowed_settings

    # A Service named leadflow-web (or leadflow-kafka) injects these.
    s = Settings.from_env({"LEADFLOW_WEB_PORT": "tcp://10.0.0.1:6066",
                           "LEADFLOW_KAFKA_PORT": "tcp://10.0.0.2:9092"})
    assert s.web_port == 6066  # the default, not a crash
    assert shadowed_settings(s) == ["LEADFLOW_KAFKA_PORT", "LEADFLOW_WEB_PORT"]


@pytest.mark.parametrize(("env", "fragment"), [
    ({"LEADFLOW_WEB_PORT": "http://10.0.0.1:6066"}, "not a whole number"),
    ({"LEADFLOW_WEB_PORT": "tcp://10.0.0.1"}, "not a whole number"),
    ({"LEADFLOW_WBE_PORT": "6066"}, "unknown setting LEADFLOW_WBE_PORT"),
    ({"LEADFLOW_BROKR": "kafka://x:1", **LINKS}, "unknown setting LEADFLOW_BROKR"),
    ({"LEADFLOW_BROKER": "tcp://10.0.0.1:9092"}, "kafka://host:port"),
])
def test_malformed_settings_and_typos_are_still_refused(env: dict[str, str],
                                                        fragment: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(fragment)):
        Settings.from_env(env)


def test_the_statefulset_pod_environment_is_accepted() -> None:
    """Every variable the kubelet would give the worker container (service links of every
    Service in deploy/k8s included) is read without error."""
    from tests.support.k8s import pod_env, render

    objects, _how = render()
    env = pod_env(objects, "worker", "leadflow-worker-0", "10.0.3.7")
    assert "LEADFLOW_LEADFLOW_WORKER_PORT" not in env and "LEADFLOW_WORKER_PORT" in env
    env = {k: v for k, v in env.items() if k != "LEADFLOW_POLICY"}  # a path in the pod
    s = Settings.from_env(env)
    assert s.instance_id == "leadflow-worker-0" and s.web_host == "10.0.3.7"
    assert "LEADFLOW_WORKER_SERVICE_HOST" in s.ignored_variables


def test_standby_replicas_reach_faust_and_are_bounded() -> None:
    from streams.app import faust_config

    assert faust_config(Settings.from_env({}))["table_standby_replicas"] == 0
    s = Settings.from_env({"LEADFLOW_STANDBY_REPLICAS": "1"})
    assert s.standby_replicas == 1
    assert faust_config(s)["table_standby_replicas"] == 1
    with pytest.raises(SettingsError, match="LEADFLOW_STANDBY_REPLICAS"):
        Settings.from_env({"LEADFLOW_STANDBY_REPLICAS": "-1"})
