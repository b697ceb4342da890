"""Topic administration with kafka-python: create the contract's topics, check them."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, SaslAuthenticationFailedError, TopicAlreadyExistsError

from streams.clients import kafka_python_config
from streams.settings import Settings

# Dead letters are kept longer: someone has to look at them.
_RETENTION_MS = {"dead_letter": 30 * 24 * 3600 * 1000}


class AdminError(RuntimeError):
    """The broker refused or could not be reached; the message is one line."""


def kafka_client_config(settings: Settings) -> dict[str, Any]:
    """Connection options for the admin client (streams.clients, as every command)."""
    return kafka_python_config(settings, "admin")


@dataclass(frozen=True)
class TopicPlan:
    name: str
    partitions: int
    replication: int
    config: dict[str, str]


def planned_topics(settings: Settings) -> list[TopicPlan]:
    plans = []
    for logical in settings.topics.all():
        config = {}
        if logical in _RETENTION_MS:
            config["retention.ms"] = str(_RETENTION_MS[logical])
        # KPI reports: one per window id matters, the latest wins.
        if logical == "sla_reports":
            config["cleanup.policy"] = "compact"
        plans.append(
            TopicPlan(settings.topic(logical), settings.partitions, settings.replication, config)
        )
    return plans


_BOOTSTRAP_STEP_SECONDS = 2.0


def unreachable(settings: Settings, detail: str = "") -> str:
    """The one line for a broker that does not answer in time."""
    return (f"no Kafka broker answered at {settings.broker_hosts} within "
            f"{settings.connect_timeout:g} s (LEADFLOW_CONNECT_TIMEOUT_S)"
            + (f": {detail}" if detail else ""))


class _SecurityFailures(logging.Handler):
    """Remembers why kafka-python's connections failed: its bootstrap retries a refused
    login or a TLS handshake error until its timeout, then says only 'Unable to bootstrap'."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.reason: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.reason is not None:
            return
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            text = " ".join(str(arg).split())
            if isinstance(arg, SaslAuthenticationFailedError) or (
                isinstance(arg, Exception) and "SaslAuthenticationFailedError" in text
            ):
                self.reason = "auth:" + text.rpartition("SaslAuthenticationFailedError: ")[2]
            elif isinstance(arg, KafkaError) and "Handshake failed" in text:
                self.reason = "tls:" + text.partition("Handshake failed: ")[2]

    def message(self, settings: Settings) -> str | None:
        if self.reason is None:
            return None
        kind, _, detail = self.reason.partition(":")
        sec = settings.security
        if kind == "auth":
            return (
                f"authentication failed for user {sec.sasl_username!r} ({sec.sasl_mechanism}): "
                f"{detail or 'refused by the broker'} "
                "(check LEADFLOW_SASL_USERNAME and LEADFLOW_SASL_PASSWORD)"
            )
        return f"TLS handshake failed: {detail} (check LEADFLOW_SSL_CAFILE)"


class _ClosingAdmin(KafkaAdminClient):  # type: ignore[misc]
    """Closes its IO thread when the bootstrap in its constructor fails (kafka-python
    leaves it running), so that retrying in steps leaks nothing."""

    def __init__(self, **config: Any) -> None:
        try:
            super().__init__(**config)
        except BaseException:
            if hasattr(self, "_net"):
                self._closed = False
                with contextlib.suppress(Exception):
                    self.close()
            raise


def _admin(settings: Settings) -> KafkaAdminClient:
    config = kafka_client_config(settings)
    if settings.security.protocol == "PLAINTEXT":
        try:
            return _ClosingAdmin(request_timeout_ms=15000, **config)
        except KafkaError:
            raise AdminError(unreachable(settings)) from None
    # Secured: bootstrap in short steps so that a refused login or an untrusted certificate
    # fails at once with its reason instead of a bare timeout 30 s later.
    watch = _SecurityFailures()
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.addHandler(watch)
    if kafka_log.getEffectiveLevel() > logging.ERROR:
        kafka_log.setLevel(logging.ERROR)  # the failures are logged at ERROR
    deadline = time.monotonic() + settings.connect_timeout
    try:
        while True:
            step = min(_BOOTSTRAP_STEP_SECONDS, max(0.1, deadline - time.monotonic()))
            try:
                return _ClosingAdmin(request_timeout_ms=15000,
                                     **{**config, "bootstrap_timeout_ms": int(step * 1000)})
            except KafkaError as exc:
                reason = watch.message(settings)
                if reason is not None:
                    raise AdminError(f"cannot reach Kafka at {settings.broker}: {reason}") from None
                if time.monotonic() >= deadline:
                    raise AdminError(unreachable(settings, str(exc))) from None
    finally:
        kafka_log.removeHandler(watch)
        kafka_log.setLevel(level)


def create_topics(settings: Settings) -> dict[str, str]:
    """Create every leadflow topic that does not exist yet. Returns name -> created|exists."""
    admin = _admin(settings)
    result: dict[str, str] = {}
    try:
        existing = set(admin.list_topics())
        for plan in planned_topics(settings):
            if plan.name in existing:
                result[plan.name] = "exists"
                continue
            try:
                admin.create_topics(
                    [NewTopic(plan.name, plan.partitions, plan.replication,
                              topic_configs=plan.config)]
                )
                result[plan.name] = "created"
            except TopicAlreadyExistsError:
                result[plan.name] = "exists"
            except KafkaError as exc:
                raise AdminError(f"cannot create topic {plan.name}: {exc}") from None
    finally:
        admin.close()
    if "created" in result.values():
        _wait_until_visible(settings, list(result))
    return result


def _wait_until_visible(settings: Settings, names: list[str], timeout: float = 15.0) -> None:
    """A created topic reaches every broker's metadata a moment later (KRaft): return only
    once all of them describe, so that a worker started next does not find them missing."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(n is not None for n in partition_counts(settings, names).values()):
            return
        time.sleep(0.2)
    raise AdminError(f"topics created but not visible after {timeout:.0f} s: {', '.join(names)}")


def partition_counts(settings: Settings, names: list[str]) -> dict[str, int | None]:
    """Partitions per topic; None for a topic that does not exist."""
    admin = _admin(settings)
    try:
        described = admin.describe_topics(names)
    except KafkaError as exc:
        raise AdminError(f"cannot describe topics: {exc}") from None
    finally:
        admin.close()
    counts: dict[str, int | None] = dict.fromkeys(names)
    for topic in described:
        if topic.get("error_code", 0) == 0:
            counts[topic.get("name") or topic.get("topic")] = len(topic["partitions"])
    return counts
