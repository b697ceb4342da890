"""report_kpis: publishes each KPI window to marketing.sla-reports once it has closed in
stream time, and again if late outcomes change it (same report_id: the topic is compacted,
the latest report wins). One worker publishes: the owner of the first input partition."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

import faust
from faust.types import TP

from streams.engine.delivery import Send
from streams.web import is_ready

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger("leadflow.report_kpis")


def attach(app: faust.App, runtime: Runtime) -> None:
    published: dict[int, str] = {}  # window start -> digest of what was sent
    topic = runtime.topic_names["sla_reports"]
    first_partition = TP(runtime.topic_names["events"], 0)

    @app.timer(runtime.settings.kpi_flush_interval, name="report-kpis")  # type: ignore[untyped-decorator]
    async def report_kpis() -> None:
        if not is_ready(app) or first_partition not in app.consumer.assignment():
            return
        store = runtime.kpis
        horizon = runtime.watermark
        sends = []
        for ws, agg in sorted(store.windows().items()):
            if ws + store.window_ms > horizon:
                continue  # still open in stream time
            report = store.report(ws, agg)
            digest = hashlib.sha1(json.dumps(report, sort_keys=True).encode()).hexdigest()
            if published.get(ws) == digest:
                continue
            value = runtime.codecs.encode("SlaReport", report)
            sends.append((ws, digest, Send(topic, report["report_id"].encode(), value)))
        if sends:
            await runtime.deliver([s for _, _, s in sends])
            for ws, digest, _ in sends:
                published[ws] = digest
            log.info("published %d KPI report(s)", len(sends),
                     extra={"event": "kpi_report", "count": len(sends)})
