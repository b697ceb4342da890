"""``create_app(settings)``: the Faust app, its stores, web views and agents.

Agents are discovered explicitly: each module listed in ``agents.ALL`` has an
``attach(app, runtime)`` that declares its agents, tables and timers on the app.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import faust

from streams.clock import Clock, system_clock
from streams.settings import Settings


@dataclass
class Runtime:
    """What every agent needs besides the app: settings, the clock, shared services."""

    settings: Settings
    clock: Clock
    extras: dict[str, Any] = field(default_factory=dict)


def broker_credentials(settings: Settings) -> faust.auth.Credentials | None:
    sec = settings.security
    if sec.protocol == "PLAINTEXT":
        return None
    context: ssl.SSLContext | None = None
    if sec.protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(sec.ssl_cafile) if sec.ssl_cafile else None
        )
        context.check_hostname = sec.ssl_check_hostname
    if sec.protocol == "SSL":
        assert context is not None
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=sec.sasl_username,
        password=sec.sasl_password,
        ssl_context=context,
        mechanism=sec.sasl_mechanism,
    )


def faust_config(settings: Settings) -> dict[str, Any]:
    """The Faust settings leadflow runs with, and why each differs from the default."""
    return {
        "broker": settings.broker,
        "broker_credentials": broker_credentials(settings),
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "web_in_thread": False,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication,
        # Faust only ever declares its own internal topics (changelogs); ours are created
        # on purpose by `leadflow topics create`.
        "topic_allow_declare": True,
        # No on_leader timers: every worker watches the SLA of the partitions it owns.
        "topic_disable_leader": True,
        # A new group starts at the beginning: no event published before the first start
        # may be skipped.
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "producer_linger_ms": 5,
        "producer_compression_type": None,
        "stream_wait_empty": True,
        # Tables only grow through our own writes; a bigger buffer means fewer changelog
        # flushes on the hot path.
        "table_standby_replicas": 0,
        "logging_config": None,
    }


def create_app(settings: Settings, *, clock: Clock | None = None) -> faust.App:
    """Build the worker app. Nothing here talks to Kafka; that happens when it starts."""
    app = faust.App(settings.app_id, **faust_config(settings))
    runtime = Runtime(settings=settings, clock=clock or system_clock(settings.clock_offset_seconds))
    app.leadflow = runtime  # type: ignore[attr-defined]

    from agents import ALL as agent_modules  # explicit discovery, no scanning
    from streams import web

    web.attach(app, runtime)
    for module in agent_modules:
        module.attach(app, runtime)
    return app
