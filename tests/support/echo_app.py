"""A minimal Faust app on leadflow's own Faust configuration (streams.app.faust_config):
relays `events` to `transitions` and counts per key in a table. Used to prove the
foundation (broker, config, changelog recovery) independently of the pipeline."""

from __future__ import annotations

import faust
from faust.worker import Worker

from streams.app import faust_config
from streams.settings import Settings


def build(settings: Settings) -> faust.App:
    app = faust.App(settings.app_id, **faust_config(settings))
    source = app.topic(settings.topic("events"), key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    sink = app.topic(settings.topic("transitions"), key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")
    counts = app.Table("echo-counts", default=int, key_type=str, value_type=int)

    @app.agent(source, name="echo")
    async def echo(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            counts[event.key.decode()] += 1
            await sink.send(key=event.key, value=event.value)

    @app.page("/echo/{key}")
    async def count(web: faust.web.View, request: faust.web.Request,
                    key: str) -> faust.web.Response:
        return web.json({"key": key, "count": counts.get(key, 0)})

    @app.page("/health/ready")
    async def ready(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        ok = app.tables.recovery.completed.is_set() and not app.rebalancing
        return web.json({"ready": ok}, status=200 if ok else 503)

    return app


if __name__ == "__main__":
    s = Settings.from_env()
    Worker(build(s), loglevel="info", quiet=True).execute_from_commandline()
