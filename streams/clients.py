"""One client configuration for every command that talks to Kafka or the schema registry.

The worker (Faust and its aiokafka side clients), ``topics create``, ``demo``, ``tail`` and
the demo summary all build their clients here, from the same ``Settings``: the broker, the
SASL/TLS settings and the schema-registry URL are honoured by every one of them, or by none
(contract section 8).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from streams.settings import Settings

if TYPE_CHECKING:
    import faust

    from streams.codecs import AvroCodecs

__all__ = ["aiokafka_config", "broker_credentials", "codecs", "kafka_python_config",
           "ssl_context"]


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL (the configured CA, hostname check as set)."""
    sec = settings.security
    if sec.protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=str(sec.ssl_cafile) if sec.ssl_cafile else None)
    context.check_hostname = sec.ssl_check_hostname
    return context


def kafka_python_config(settings: Settings, role: str) -> dict[str, Any]:
    """Connection options for a kafka-python client (admin, producer, consumer), security
    included; ``role`` names the client (``<app_id>-<role>``) in the broker's logs."""
    sec = settings.security
    config: dict[str, Any] = {
        "bootstrap_servers": settings.broker_hosts.split(","),
        "security_protocol": sec.protocol,
        "client_id": f"{settings.app_id}-{role}",
        # a broker that does not answer is one line after LEADFLOW_CONNECT_TIMEOUT_S, not 30 s
        "bootstrap_timeout_ms": int(settings.connect_timeout * 1000),
    }
    if sec.protocol.startswith("SASL"):
        config.update(sasl_mechanism=sec.sasl_mechanism, sasl_plain_username=sec.sasl_username,
                      sasl_plain_password=sec.sasl_password)
    if sec.protocol in ("SSL", "SASL_SSL"):
        config["ssl_check_hostname"] = sec.ssl_check_hostname
        if sec.ssl_cafile:
            config["ssl_cafile"] = str(sec.ssl_cafile)
    return config


def aiokafka_config(settings: Settings, role: str = "kpi-view") -> dict[str, Any]:
    """Connection options for a plain aiokafka client, security included."""
    sec = settings.security
    config: dict[str, Any] = {"bootstrap_servers": settings.broker_hosts,
                              "security_protocol": sec.protocol,
                              "client_id": f"{settings.app_id}-{role}"}
    if sec.protocol.startswith("SASL"):
        config.update(sasl_mechanism=sec.sasl_mechanism, sasl_plain_username=sec.sasl_username,
                      sasl_plain_password=sec.sasl_password)
    context = ssl_context(settings)
    if context is not None:
        config["ssl_context"] = context
    return config


def broker_credentials(settings: Settings) -> faust.auth.Credentials | None:
    """Faust's credentials for the same security settings."""
    import faust

    sec = settings.security
    if sec.protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if sec.protocol == "SSL":
        assert context is not None
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=sec.sasl_username,
        password=sec.sasl_password,
        ssl_context=context,
        mechanism=sec.sasl_mechanism,
    )


def codecs(settings: Settings) -> AvroCodecs:
    """The codecs of the configured wire format: Confluent over the schema registry when
    ``LEADFLOW_SCHEMA_REGISTRY_URL`` is set, else single-object encoding."""
    from streams.codecs import make_codecs

    return make_codecs(settings.schema_registry_url)
