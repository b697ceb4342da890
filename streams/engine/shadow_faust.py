"""The shadow's ports bound to the Faust app: its own tables (``shadow-leads``,
``shadow-sla-deadlines``), the ``leads.shadow-diffs`` topic, its KPI hand-off counts and
its metric. Built by ``LiveRunner`` only when a shadow policy is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from streams import metrics
from streams.engine.delivery import Send
from streams.engine.faust_io import TableStore, lead_writes
from streams.engine.shadow import ShadowResult, ShadowRunner
from streams.processor import LeadProcessor

if TYPE_CHECKING:
    from streams.runtime import Runtime


class ShadowTableStore(TableStore):
    """``TableStore``'s load and timers over the shadow's tables; its own save."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        super().__init__(app, runtime)
        assert runtime.tables.shadow_leads is not None
        assert runtime.tables.shadow_deadlines is not None
        self.leads = runtime.tables.shadow_leads
        self.deadlines = runtime.tables.shadow_deadlines

    async def save(self, result: ShadowResult, progress: dict[int, Any]  # type: ignore[override]
                   ) -> None:
        runtime, leads, deadlines = self.runtime, self.leads, self.deadlines
        # Only the diffs leave: the shadow's own outputs are never sent (contract 4a).
        sends = [Send(runtime.topic_names[o.logical], o.key, o.value) for o in result.outbound]
        if sends:
            await runtime.deliver(sends)
        batch = result.batch
        timers, states = lead_writes(batch, progress, leads, deadlines)
        await timers.apply(runtime.deliver)
        await states.apply(runtime.deliver, atomic=True)  # with the progress records
        # (flushed with the live save that follows, before the batch is committed)
        runtime.kpis.observe_shadow(batch.outputs)


def record_shadow_metrics(result: ShadowResult) -> None:
    for kind, n in result.kinds.items():
        metrics.count_shadow_diff(kind, n)


def shadow_runner(app: faust.App, runtime: Runtime) -> ShadowRunner | None:
    """The worker's shadow, or None without ``LEADFLOW_SHADOW_POLICY``."""
    if runtime.shadow_policy is None:
        return None
    processor = LeadProcessor(runtime.shadow_policy, runtime.codecs, runtime.topic_names)
    return ShadowRunner(processor, runtime.policy, ShadowTableStore(app, runtime),
                        on_batch=record_shadow_metrics)
