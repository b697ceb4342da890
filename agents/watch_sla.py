"""watch_sla: finds open hand-offs past their SLA deadline and asks score_leads to tick them.

The watcher never touches lead state itself: it sends a tick record to the lead's own
partition of the internal ticks topic, so the state change, the SLA_BREACHED feedback and
the ESCALATION hand-off all happen in score_leads, in order with the lead's other events,
with the same delivery guarantees. Ticks are idempotent in the domain, so a repeated one
changes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import faust

from streams import metrics
from streams.delivery import Send
from streams.processor import tick_request
from streams.web import is_ready

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger("leadflow.watch_sla")


def attach(app: faust.App, runtime: Runtime) -> None:
    deadlines = runtime.tables.deadlines
    ticks_topic = runtime.topics.outputs["ticks"].get_topic_name()
    requested: dict[bytes, int] = {}  # key -> deadline already asked for

    @app.timer(runtime.settings.sla_check_interval, name="watch-sla")  # type: ignore[untyped-decorator]
    async def watch_sla() -> None:
        if not is_ready(app):
            return
        now = runtime.sla_clock()
        sends = []
        open_count = 0
        for key, raw in list(deadlines.items()):
            open_count += 1
            due_text, _, partition = raw.decode().partition("|")
            due = int(due_text)
            if due <= now and requested.get(key) != due:
                requested[key] = due
                sends.append(Send(ticks_topic, key, tick_request(key.decode(), due),
                                  int(partition)))
        metrics.set_open_handoffs(open_count)
        if len(requested) > 4 * max(open_count, 1000):
            requested.clear()  # bounded memory; a repeated tick is harmless
        if sends:
            log.info("SLA due for %d hand-off(s)", len(sends),
                     extra={"event": "sla_due", "count": len(sends)})
            await runtime.deliver(sends)
