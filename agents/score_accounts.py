"""score_accounts: the leads' account signals (repartition topic keyed by account id) ->
account state, ``AccountQualified`` on sales.qualified-accounts (contract 4b). Attached
only when the policy has an ``accounts`` section; the engine does the work
(streams.engine.accounts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust

from streams.engine.accounts import LOGICAL
from streams.engine.accounts_faust import account_runner, inbound
from streams.engine.faust_io import guarded

if TYPE_CHECKING:
    from streams.runtime import Runtime

BATCH_MAX = 500
BATCH_WITHIN = 0.05  # seconds
POLL_EVERY = 0.1  # seconds: how often a waiting account partition looks again


def attach(app: faust.App, runtime: Runtime) -> None:
    if runtime.policy.accounts is None:
        return
    topic = app.topic(runtime.topic_names[LOGICAL], key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw",
                      partitions=runtime.settings.partitions)
    runner = account_runner(app, runtime)

    @app.agent(topic, name="score-accounts", concurrency=1)
    async def score_accounts(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):  # type: ignore[attr-defined]
            await guarded(runner.run(inbound(events)))

    @app.timer(POLL_EVERY, name="account-merge-poll")  # type: ignore[untyped-decorator]
    async def account_merge_poll() -> None:
        await guarded(runner.poll())
