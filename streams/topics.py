"""Topic declarations: names from settings, raw bytes on the wire (our codecs do Avro)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import Settings

INPUTS = ("events", "outcomes")
OUTPUTS = ("transitions", "qualified", "feedback", "sla_reports", "dead_letter")


def _raw(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw")


@dataclass(frozen=True)
class Topics:
    inputs: faust.TopicT  # lead events + sales outcomes, merged per partition by the engine
    outputs: dict[str, faust.TopicT]
    source_of: dict[str, str]  # real topic name -> logical ("events", "outcomes")


def declare(app: faust.App, settings: Settings) -> Topics:
    names = {logical: settings.topic(logical) for logical in settings.topics.all()}
    inputs = app.topic(names["events"], names["outcomes"], key_type=bytes,
                       value_type=bytes, key_serializer="raw", value_serializer="raw",
                       partitions=settings.partitions)
    outputs = {logical: _raw(app, names[logical]) for logical in OUTPUTS}
    source_of = {names["events"]: "events", names["outcomes"]: "outcomes"}
    return Topics(inputs=inputs, outputs=outputs, source_of=source_of)
