"""State tables and how their values are encoded.

- ``leads``: lead id -> compact encoded ``LeadState`` (the domain's own encoding).
- ``sla-deadlines``: lead id -> next SLA deadline (epoch ms), only for open hand-offs, so
  the SLA watcher scans open deadlines, not every lead.
- ``kpi-windows``: "<window start>|<partition>" -> KPI aggregate (JSON), one writer per
  partition, so partial aggregates merge without races.

Keys are raw UTF-8 bytes: the same bytes the input records are keyed (and partitioned) by,
so Faust's key routing for ``GET /leads/{id}`` finds the worker that owns the lead.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import TableT

from streams.settings import Settings


@dataclass(frozen=True)
class Tables:
    leads: TableT[bytes, bytes]
    deadlines: TableT[bytes, bytes]
    kpis: TableT[bytes, bytes]


def declare(app: faust.App, settings: Settings) -> Tables:
    common: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                              "partitions": settings.partitions}
    # Personal data in a lead's earlier states must leave the changelog soon after an
    # erasure: roll segments often enough and let the cleaner compact eagerly.
    erasure_ms = str(int(settings.erasure_compaction_seconds * 1000))
    leads_changelog = {"segment.ms": erasure_ms, "min.cleanable.dirty.ratio": "0.01",
                       "max.compaction.lag.ms": erasure_ms}
    return Tables(
        leads=app.Table("leads", help="Per-lead state", extra_topic_configs=leads_changelog,
                        **common),
        deadlines=app.Table("sla-deadlines", help="Open SLA deadlines", **common),
        kpis=app.Table("kpi-windows", help="KPI aggregates per window and partition",
                       **common),
    )


class at_event:
    """Make ``event`` Faust's current event while touching tables.

    Faust picks the store partition and the changelog partition of a table write from the
    current event. When a batch is processed after ``take_events``, that would be the
    batch's last event for every write; each lead's write must land on the partition of
    the record that carried it. (A class, not a generator: it runs for every lead.)
    """

    __slots__ = ("_ref", "_token")

    def __init__(self, event: Any) -> None:
        self._ref = weakref.ref(event)

    def __enter__(self) -> None:
        self._token = _current_event.set(self._ref)

    def __exit__(self, *exc: object) -> None:
        _current_event.reset(self._token)
