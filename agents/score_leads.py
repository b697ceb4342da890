"""score_leads: lead events and sales outcomes -> state, transitions, hand-offs, feedback,
dead letters and SLA escalations. One agent over both inputs; the engine merges each
partition's records and deadlines in event time (streams.engine.runner)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust

from streams.engine.faust_io import LiveRunner

if TYPE_CHECKING:
    from streams.runtime import Runtime

BATCH_MAX = 500
BATCH_WITHIN = 0.01  # seconds: a lone event waits at most this long for company (latency)
POLL_EVERY = 0.1  # seconds: how often a waiting partition looks again between batches


def attach(app: faust.App, runtime: Runtime) -> None:
    runner = LiveRunner(app, runtime)

    # The agent subscribes the worker to its inputs; their fetches go to the runner whole,
    # below Faust's per-event stream (streams.engine.fetch). Its stream stays as a fallback.
    @app.agent(runtime.topics.inputs, name="score-leads", concurrency=1)
    async def score_leads(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):  # type: ignore[attr-defined]
            await runner.feed(events)

    @app.timer(POLL_EVERY, name="merge-poll")  # type: ignore[untyped-decorator]
    async def merge_poll() -> None:
        await runner.poll()
