"""``leadflow tail TOPIC``: decode a topic's Avro records and print them as JSON lines.

The lines are the records of docs/records.md (bytes fields as base64), so they can be fed
back to ``leadflow backtest`` (``leadflow tail events --from-beginning > events.jsonl``).
"""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any

import typer

from streams.errors import USAGE

ALIASES = {
    "events": "events", "leads.events": "events",
    "outcomes": "outcomes", "sales.outcomes": "outcomes",
    "transitions": "transitions", "leads.transitions": "transitions",
    "qualified": "qualified", "qualified-leads": "qualified", "handoffs": "qualified",
    "sales.qualified-leads": "qualified",
    "feedback": "feedback", "marketing.feedback": "feedback",
    "sla_reports": "sla_reports", "sla-reports": "sla_reports", "reports": "sla_reports",
    "marketing.sla-reports": "sla_reports",
    "dead_letter": "dead_letter", "dead-letter": "dead_letter", "dead-letters": "dead_letter",
    "leads.dead-letter": "dead_letter",
    "shadow_diffs": "shadow_diffs", "shadow-diffs": "shadow_diffs",
    "leads.shadow-diffs": "shadow_diffs",
    "qualified_accounts": "qualified_accounts", "qualified-accounts": "qualified_accounts",
    "accounts": "qualified_accounts", "sales.qualified-accounts": "qualified_accounts",
}


def resolve_topic(name: str, topic_of: dict[str, str]) -> str:
    """A logical name (``transitions``), a default name (``leads.transitions``) or the real
    topic name (with its prefix) -> the real topic name."""
    if name in topic_of.values():
        return name
    logical = ALIASES.get(name.lower())
    if logical is not None:
        return topic_of[logical]
    return name  # an arbitrary topic: checked against the broker's list


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def run(
    topic: str = typer.Argument(..., help="Logical name (events, outcomes, transitions, "
                                "qualified, feedback, sla_reports, dead_letter, shadow_diffs, "
                                "qualified_accounts), "
                                "a default name such as leads.transitions, or a real topic "
                                "name."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new records "
                                "until Ctrl-C."),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Start at the "
                                        "oldest record (default: the last --last ones)."),
    last: int = typer.Option(10, "--last", "-n", min=0, help="Without --from-beginning: "
                             "start this many records before the end of each partition."),
    max_records: int = typer.Option(0, "--max", min=0, help="Stop after this many records "
                                    "(0: no limit)."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds to wait for the "
                                  "broker."),
) -> None:
    """Decode a topic's records and print them as JSON lines (one per record)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    from streams import clients
    from streams.admin import unreachable
    from streams.codecs import CodecError, SchemaRegistryError
    from streams.settings import Settings

    settings = Settings.from_env()
    topic_of = {logical: settings.topic(logical) for logical in settings.topics.all()}
    real = resolve_topic(topic, topic_of)
    codecs = clients.codecs(settings)  # Confluent wire format when a registry is set
    try:
        consumer = KafkaConsumer(**clients.kafka_python_config(settings, "tail"),
                                 enable_auto_commit=False, consumer_timeout_ms=300,
                                 request_timeout_ms=int(max(timeout, 1) * 1000) + 1000)
    except KafkaError:
        typer.echo(f"leadflow: {unreachable(settings)}", err=True)
        raise typer.Exit(1) from None
    printed = 0
    undecodable = 0
    try:
        partitions = consumer.partitions_for_topic(real)
        if not partitions:
            known = ", ".join(sorted(topic_of))
            typer.echo(f"leadflow: no topic {real!r} on the broker (logical names: {known})",
                       err=True)
            raise typer.Exit(USAGE)
        tps = [TopicPartition(real, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        begins = consumer.beginning_offsets(tps)
        for tp in tps:
            start = begins[tp] if from_beginning else max(begins[tp], ends[tp] - last)
            consumer.seek(tp, start)
        remaining = {tp for tp in tps if consumer.position(tp) < ends[tp]}
        out = sys.stdout
        while follow or remaining:
            batch = consumer.poll(timeout_ms=300)
            msgs = sorted((m for ms in batch.values() for m in ms),
                          key=lambda m: (m.timestamp, m.partition, m.offset))
            for msg in msgs:
                tp = TopicPartition(msg.topic, msg.partition)
                if tp in remaining and msg.offset + 1 >= ends[tp]:
                    remaining.discard(tp)
                if msg.value is None:
                    continue
                try:
                    _kind, record = codecs.decode_any(msg.value)
                except CodecError as err:
                    undecodable += 1
                    typer.echo(f"leadflow: {real}[{msg.partition}]@{msg.offset}: cannot "
                               f"decode ({err})", err=True)
                    continue
                out.write(json.dumps(jsonable(record), ensure_ascii=False) + "\n")
                printed += 1
                if max_records and printed >= max_records:
                    out.flush()
                    return
            out.flush()
            if not batch and not follow:
                remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
            if not batch:
                time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    except KafkaError as err:
        typer.echo(f"leadflow: reading {real} failed: {err}", err=True)
        raise typer.Exit(1) from None
    except SchemaRegistryError as err:
        typer.echo(f"leadflow: {err}", err=True)
        raise typer.Exit(1) from None
    finally:
        consumer.close()
