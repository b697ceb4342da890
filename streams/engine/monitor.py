"""Faust's Monitor without its per-message bookkeeping.

Faust's default Monitor sensor updates a dozen counters, dicts and timestamps for every
message in, every stream event in and out and every record sent; nothing of leadflow reads
them (our metrics are in streams.metrics, fed by streams.engine.metrics). Profiling the
worker put the sensor calls at a few percent of its CPU. This Monitor keeps everything else
(commits, rebalances, assignment, the `/stats` views) and skips the per-message hooks.
"""

from __future__ import annotations

from typing import Any

from faust.sensors import Monitor


class LeanMonitor(Monitor):
    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        pass

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any,
                            state: Any = None) -> None:
        pass

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        pass

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int,
                          valsize: int) -> None:
        return None

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        pass

    def on_table_get(self, table: Any, key: Any) -> None:
        pass

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        pass

    def on_table_del(self, table: Any, key: Any) -> None:
        pass
