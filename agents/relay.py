"""Placeholder agent proving the round trip: counts events per lead in a table and relays
them to the transitions topic. Replaced by the real pipeline (score_leads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust

if TYPE_CHECKING:
    from streams.app import Runtime


def attach(app: faust.App, runtime: Runtime) -> None:
    s = runtime.settings
    source = app.topic(s.topic("events"), key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    sink = app.topic(s.topic("transitions"), key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")
    counts = app.Table("relay-counts", default=int, key_type=str, value_type=int)

    @app.agent(source, name="relay")
    async def relay(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            key = event.key
            counts[key.decode()] += 1
            await sink.send(key=key, value=event.value)

    @app.page("/relay/{key}")
    async def count(web: faust.web.View, request: faust.web.Request, key: str) -> faust.web.Response:
        return web.json({"key": key, "count": counts.get(key, 0)})
