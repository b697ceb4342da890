"""Topic declarations: names from settings, raw bytes on the wire (our codecs do Avro)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import Settings

INPUTS = ("events", "outcomes")
OUTPUTS = ("transitions", "qualified", "feedback", "sla_reports", "dead_letter")


def _raw(app: faust.App, name: str, partitions: int | None = None,
         internal: bool = False) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=partitions, internal=internal)


@dataclass(frozen=True)
class Topics:
    inputs: faust.TopicT  # lead events + sales outcomes + SLA ticks: one ordered stream
    outputs: dict[str, faust.TopicT]
    source_of: dict[str, str]  # real topic name -> logical ("events", "outcomes", "ticks")


def declare(app: faust.App, settings: Settings) -> Topics:
    names = {logical: settings.topic(logical) for logical in settings.topics.all()}
    # SLA ticks are ours: an internal, co-partitioned topic Faust may create.
    ticks = f"{settings.app_id}-sla-ticks"  # see preflight.ticks_topic_name
    inputs = app.topic(names["events"], names["outcomes"], ticks, key_type=bytes,
                       value_type=bytes, key_serializer="raw", value_serializer="raw",
                       partitions=settings.partitions)
    ticks_topic = _raw(app, ticks, partitions=settings.partitions, internal=True)
    outputs = {logical: _raw(app, names[logical]) for logical in OUTPUTS}
    outputs["ticks"] = ticks_topic
    source_of = {names["events"]: "events", names["outcomes"]: "outcomes", ticks: "ticks"}
    return Topics(inputs=inputs, outputs=outputs, source_of=source_of)
