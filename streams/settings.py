"""The one frozen settings object, read from ``LEADFLOW_*`` environment variables.

Nothing else in leadflow reads the environment: code receives a ``Settings``. A bad value
raises :class:`SettingsError` whose message is one line naming the variable and the fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from streams.paths import CHECKOUT, DEFAULT_POLICY, IN_CHECKOUT

T = TypeVar("T")

PREFIX = "LEADFLOW_"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
# Kubernetes service links: for a Service `leadflow-worker` a pod gets
# LEADFLOW_WORKER_SERVICE_HOST, _SERVICE_PORT, _SERVICE_PORT_<PORTNAME>, _PORT,
# _PORT_<n>_TCP and _PORT_<n>_TCP_{PROTO,PORT,ADDR}. None of them is a setting.
_LINK_NAME = re.compile(
    r"^LEADFLOW_[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
    r"|PORT_\d{1,5}_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$"
)
# ..._PORT alone is recognised by its value, tcp://10.0.0.1:6066: a typo such as
# LEADFLOW_WBE_PORT=6066 is still refused.
_LINK_PORT_NAME = re.compile(r"^LEADFLOW_[A-Z0-9_]+_PORT$")
_LINK_PORT_VALUE = re.compile(r"^(tcp|udp|sctp)://([^\s:/\[\]]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$")


# RocksDB state: beside the checkout when run from one, else in the user's home (an
# installed package must not write into site-packages).
DEFAULT_DATA_DIR = (CHECKOUT / ".local" / "leadflow" if IN_CHECKOUT
                    else Path.home() / ".leadflow")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is the one line a user sees."""


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Kafka topic names (contract section 2), each overridable."""

    events: str = "leads.events"
    outcomes: str = "sales.outcomes"
    transitions: str = "leads.transitions"
    qualified: str = "sales.qualified-leads"
    feedback: str = "marketing.feedback"
    sla_reports: str = "marketing.sla-reports"
    dead_letter: str = "leads.dead-letter"
    shadow_diffs: str = "leads.shadow-diffs"
    qualified_accounts: str = "sales.qualified-accounts"

    def all(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Security:
    """How to reach a secured broker. PLAINTEXT needs nothing else."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: Path | None = None
    ssl_check_hostname: bool = True


@dataclass(frozen=True, slots=True)
class Settings:
    broker: str = "kafka://127.0.0.1:9092"
    app_id: str = "leadflow"
    policy_path: Path = DEFAULT_POLICY
    # A second policy run beside the live one, writing only ShadowDiff records (contract 4a).
    shadow_policy_path: Path | None = None
    store: str = "rocksdb://"
    data_dir: Path = DEFAULT_DATA_DIR
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    # Bearer token for /leads, /accounts and /kpis (streams.web_guard); None: open.
    web_token: str | None = field(default=None, repr=False)
    topic_prefix: str = ""
    topics: TopicNames = TopicNames()
    partitions: int = 4
    replication: int = 1
    auto_create_topics: bool = False
    schema_registry_url: str | None = None
    security: Security = Security()
    log_level: str = "INFO"
    log_format: str = "text"
    # How often wall-clock SLA deadlines are looked at, and KPI reports are flushed.
    sla_check_interval: float = 5.0
    kpi_flush_interval: float = 10.0
    # "wall": SLA deadlines against the wall clock; "event": against stream time (the
    # highest event time processed), for replays and the compressed-time demo.
    sla_clock: str = "wall"
    # How long the time-ordered merge waits for a lagging input of a partition (records
    # exist past what was read) before it goes on without it (contract 1b).
    max_idle_ms: int = 2000
    # At most how long an erased lead's personal data may stay in the state changelog
    # (segment roll + log compaction).
    erasure_compaction_seconds: float = 3600.0
    # A worker with input waiting that commits nothing for this long exits (to be restarted).
    stall_timeout: float = 120.0
    # How long a command waits for the broker's first answer before it gives up (one line,
    # exit 1): worker, topics create, and every other command that talks to Kafka.
    connect_timeout: float = 10.0
    # Consumer group liveness: how soon a crashed worker's partitions move on.
    session_timeout: float = 10.0
    # Standby replicas of each state partition kept warm on other workers (Faust's
    # table_standby_replicas): a failover takes over a ready copy instead of restoring the
    # whole changelog. Each one costs its worker a copy of the state and reading the
    # changelog as it is written.
    standby_replicas: int = 0
    # A state partition whose local RocksDB is at least this many changelog records behind
    # (a lost data dir, a new owner) is restored in bulk (streams.engine.restore) before
    # Faust's per-record recovery reads the rest; 0 leaves it all to Faust.
    bulk_restore_min_records: int = 1000
    # Input partitions read in whole fetches below Faust's per-event stream
    # (streams.engine.fetch): ~1.5-1.7x a backlog's catch-up (see docs/benchmarks.md).
    whole_fetches: bool = True
    # Static group membership (e.g. the StatefulSet pod name): a restarted worker takes its
    # partitions back at once, without a rebalance.
    instance_id: str | None = None
    # Added to the wall clock wherever the worker asks for "now": lets tests move time.
    clock_offset_seconds: float = 0.0
    # LEADFLOW_* variables read as Kubernetes service links and ignored (names only).
    ignored_variables: tuple[str, ...] = field(default=(), compare=False)

    @property
    def broker_hosts(self) -> str:
        """``host:port[,host:port]`` as kafka-python and the Java tools want it."""
        return ",".join(u.split("://", 1)[-1] for u in self.broker.split(";"))

    def topic(self, name: str) -> str:
        """The full topic name for a logical name such as ``events``."""
        return self.topic_prefix + str(getattr(self.topics, name))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return _read(env)


def _get(env: Mapping[str, str], name: str, parse: Callable[[str, str], T], default: T) -> T:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    return parse(PREFIX + name, raw.strip())


def _int_in(lo: int, hi: int) -> Callable[[str, str], int]:
    def parse(var: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise SettingsError(f"{var}={value} is out of range ({lo}..{hi})")
        return value

    return parse


def _float_in(lo: float, hi: float) -> Callable[[str, str], float]:
    def parse(var: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a number") from None
        if not lo <= value <= hi:
            raise SettingsError(f"{var}={value} is out of range ({lo}..{hi})")
        return value

    return parse


def _bool(var: str, raw: str) -> bool:
    low = raw.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{var}={raw!r} is not a boolean (use true or false)")


def _choice(options: tuple[str, ...], upper: bool = True) -> Callable[[str, str], str]:
    def parse(var: str, raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise SettingsError(f"{var}={raw!r} must be one of {', '.join(options)}")
        return value

    return parse


def _text(var: str, raw: str) -> str:
    return raw


def _path(var: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _existing_file(var: str, raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SettingsError(f"{var}={raw!r}: no such file")
    return path


def _token(var: str, raw: str) -> str:
    if len(raw) < 16 or any(c.isspace() or not c.isprintable() for c in raw):
        raise SettingsError(f"{var} must be at least 16 printable characters without spaces")
    return raw


def _broker(var: str, raw: str) -> str:
    for part in raw.split(";"):
        url = urlparse(part if "://" in part else "kafka://" + part)
        if url.scheme != "kafka" or not url.hostname or url.port is None:
            raise SettingsError(f"{var}={raw!r} must look like kafka://host:port")
    return ";".join(p if "://" in p else "kafka://" + p for p in raw.split(";"))


def _store(var: str, raw: str) -> str:
    if raw not in ("rocksdb://", "memory://"):
        raise SettingsError(f"{var}={raw!r} must be rocksdb:// or memory://")
    return raw


def _topic(var: str, raw: str) -> str:
    if not _TOPIC_NAME.match(raw):
        raise SettingsError(f"{var}={raw!r} is not a valid Kafka topic name")
    return raw


def _prefix(var: str, raw: str) -> str:
    if not re.match(r"^[A-Za-z0-9._-]{0,100}$", raw):
        raise SettingsError(f"{var}={raw!r} may only hold letters, digits, '.', '_' and '-'")
    return raw


def _url(var: str, raw: str) -> str:
    url = urlparse(raw)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise SettingsError(f"{var}={raw!r} must be an http(s) URL")
    return raw


def _app_id(var: str, raw: str) -> str:
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$", raw):
        raise SettingsError(f"{var}={raw!r} may only hold letters, digits, '.', '_' and '-'")
    return raw


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``overrides``: how a supervisor hands each child
    process its own settings (``leadflow worker --processes N``), the child reading them
    as usual."""
    env = dict(os.environ)
    env.update(overrides)
    return env


def is_service_link(name: str, value: str) -> bool:
    """A variable Kubernetes injects for a Service, not a setting (contract section 8).

    A real setting with a link's name and value (a Service named ``leadflow-web`` injects
    LEADFLOW_WEB_PORT=tcp://10.0.0.1:6066) is a link too: ignored, so the default applies;
    the worker says so in a warning (:func:`shadowed_settings`)."""
    if _LINK_NAME.match(name):
        return True
    return bool(_LINK_PORT_NAME.match(name) and _LINK_PORT_VALUE.match(value.strip()))


def shadowed_settings(settings: Settings) -> list[str]:
    """Real setting names whose value was a service link (and so ignored)."""
    return [n for n in settings.ignored_variables if n in KNOWN_VARIABLES]


def _read(environ: Mapping[str, str]) -> Settings:
    ignored = tuple(sorted(k for k, v in environ.items()
                           if k.startswith(PREFIX) and is_service_link(k, v)))
    env = {k: v for k, v in environ.items() if k not in ignored}
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in KNOWN_VARIABLES)
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]} (known: see README, Settings)")
    d = Settings()
    topics = TopicNames(
        **{
            name: _get(env, "TOPIC_" + name.upper(), _topic, default)
            for name, default in TopicNames().all().items()
        }
    )
    security = Security(
        protocol=_get(env, "SECURITY_PROTOCOL", _choice(SECURITY_PROTOCOLS), "PLAINTEXT"),
        sasl_mechanism=_get(env, "SASL_MECHANISM", _choice(SASL_MECHANISMS), None),
        sasl_username=_get(env, "SASL_USERNAME", _text, None),
        sasl_password=_get(env, "SASL_PASSWORD", _text, None),
        ssl_cafile=_get(env, "SSL_CAFILE", _existing_file, None),
        ssl_check_hostname=_get(env, "SSL_CHECK_HOSTNAME", _bool, True),
    )
    if security.protocol.startswith("SASL") and not (
        security.sasl_mechanism and security.sasl_username and security.sasl_password
    ):
        raise SettingsError(
            f"{PREFIX}SECURITY_PROTOCOL={security.protocol} needs {PREFIX}SASL_MECHANISM, "
            f"{PREFIX}SASL_USERNAME and {PREFIX}SASL_PASSWORD"
        )
    settings = Settings(
        broker=_get(env, "BROKER", _broker, d.broker),
        app_id=_get(env, "APP_ID", _app_id, d.app_id),
        policy_path=_get(env, "POLICY", _existing_file, d.policy_path),
        shadow_policy_path=_get(env, "SHADOW_POLICY", _existing_file, None),
        store=_get(env, "STORE", _store, d.store),
        data_dir=_get(env, "DATA_DIR", _path, d.data_dir),
        web_host=_get(env, "WEB_HOST", _text, d.web_host),
        web_port=_get(env, "WEB_PORT", _int_in(1, 65535), d.web_port),
        web_token=_get(env, "WEB_TOKEN", _token, None),
        topic_prefix=_get(env, "TOPIC_PREFIX", _prefix, d.topic_prefix),
        topics=topics,
        partitions=_get(env, "PARTITIONS", _int_in(1, 1024), d.partitions),
        replication=_get(env, "REPLICATION", _int_in(1, 16), d.replication),
        auto_create_topics=_get(env, "AUTO_CREATE_TOPICS", _bool, d.auto_create_topics),
        schema_registry_url=_get(env, "SCHEMA_REGISTRY_URL", _url, None),
        security=security,
        log_level=_get(env, "LOG_LEVEL", _choice(LOG_LEVELS), d.log_level),
        log_format=_get(env, "LOG_FORMAT", _choice(LOG_FORMATS, upper=False), d.log_format),
        sla_check_interval=_get(env, "SLA_CHECK_INTERVAL", _float_in(0.05, 3600), 5.0),
        kpi_flush_interval=_get(env, "KPI_FLUSH_INTERVAL", _float_in(0.05, 3600), 10.0),
        erasure_compaction_seconds=_get(env, "ERASURE_COMPACTION_SECONDS",
                                        _float_in(1.0, 30 * 86400.0), 3600.0),
        stall_timeout=_get(env, "STALL_TIMEOUT", _float_in(10.0, 86400.0), 120.0),
        session_timeout=_get(env, "SESSION_TIMEOUT", _float_in(6.0, 300.0), 10.0),
        connect_timeout=_get(env, "CONNECT_TIMEOUT_S", _float_in(0.5, 600.0), 10.0),
        instance_id=_get(env, "INSTANCE_ID", _app_id, None),
        standby_replicas=_get(env, "STANDBY_REPLICAS", _int_in(0, 8), 0),
        bulk_restore_min_records=_get(env, "BULK_RESTORE_MIN_RECORDS",
                                      _int_in(0, 1_000_000_000), 1000),
        whole_fetches=_get(env, "WHOLE_FETCHES", _bool, True),
        sla_clock=_get(env, "SLA_CLOCK", _choice(("wall", "event"), upper=False), "wall"),
        max_idle_ms=_get(env, "MAX_IDLE_MS", _int_in(0, 3_600_000), 2000),
        clock_offset_seconds=_get(env, "CLOCK_OFFSET_SECONDS", _float_in(-1e9, 1e9), 0.0),
        ignored_variables=ignored,
    )
    return settings


KNOWN_VARIABLES: frozenset[str] = frozenset(
    PREFIX + name
    for name in (
        "BROKER", "APP_ID", "POLICY", "SHADOW_POLICY", "STORE", "DATA_DIR", "WEB_HOST", "WEB_PORT",
        "WEB_TOKEN",
        "TOPIC_PREFIX", "PARTITIONS", "REPLICATION", "AUTO_CREATE_TOPICS",
        "SCHEMA_REGISTRY_URL", "SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME",
        "SASL_PASSWORD", "SSL_CAFILE", "SSL_CHECK_HOSTNAME", "LOG_LEVEL", "LOG_FORMAT",
        "SLA_CHECK_INTERVAL", "KPI_FLUSH_INTERVAL", "CLOCK_OFFSET_SECONDS", "SLA_CLOCK",
        "MAX_IDLE_MS", "SESSION_TIMEOUT", "INSTANCE_ID", "ERASURE_COMPACTION_SECONDS",
        "STALL_TIMEOUT", "CONNECT_TIMEOUT_S", "STANDBY_REPLICAS", "BULK_RESTORE_MIN_RECORDS",
        "WHOLE_FETCHES",
        # Read by deploy/kafka/kafka.sh only; known here so a worker does not refuse them.
        "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "KAFKA_HOME", "KAFKA_HEAP",
        "KAFKA_START_TIMEOUT", "KAFKA_SASL_PORT", "KAFKA_SSL_KEYSTORE",
        "KAFKA_SSL_KEYSTORE_PASSWORD", "KAFKA_SCRAM_USERS",
        *("TOPIC_" + n.upper() for n in TopicNames().all()),
    )
)


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as a loggable dict, with secrets masked."""
    sec = settings.security
    return {
        "broker": settings.broker,
        "app_id": settings.app_id,
        "policy": str(settings.policy_path),
        "shadow_policy": None if settings.shadow_policy_path is None
        else str(settings.shadow_policy_path),
        "store": settings.store,
        "web": f"{settings.web_host}:{settings.web_port}",
        "topic_prefix": settings.topic_prefix,
        "partitions": settings.partitions,
        "security_protocol": sec.protocol,
        "sasl_password": "***" if sec.sasl_password else None,
        "web_token": "***" if settings.web_token else None,
    }
