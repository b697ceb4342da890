"""State tables and how their values are encoded.

- ``leads``: lead id -> compact encoded ``LeadState`` (the domain's own encoding).
  Under ``PROGRESS_KEY`` (in each partition) the partition's progress: its stream time and
  the input offsets its states include, written last in the same changelog record batch
  as the states (contract 1b: stream time is kept with the partition's state). A restarted
  or new owner resumes the time-ordered merge exactly there.
- ``sla-deadlines``: lead id -> next SLA deadline ("<epoch ms>|<partition>"), only for open
  hand-offs, so a worker rebuilds a partition's deadline heap from open deadlines, not from
  every lead.
- ``kpi-windows``: "<window start>|<partition>" -> KPI aggregate (JSON), one writer per
  partition, so partial aggregates merge without races; with a shadow policy also
  "shadow|<window start>|<partition>" -> the shadow's hand-off counts.
- ``shadow-leads`` and ``shadow-sla-deadlines``: the same as ``leads`` and
  ``sla-deadlines`` for the shadow policy (``LEADFLOW_SHADOW_POLICY``), declared only when
  one is configured (so their changelogs exist only then).
- ``accounts``: account id -> encoded ``AccountState`` (streams.domain.accounts), declared
  only when the policy has an ``accounts`` section; keyed like the account signal topic.

Keys are raw UTF-8 bytes: the same bytes the input records are keyed (and partitioned) by,
so Faust's key routing for ``GET /leads/{id}`` finds the worker that owns the lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

from streams.settings import Settings

# Lead ids are validated non-empty text without control characters: no lead has this key.
PROGRESS_KEY = b"\x00progress"


def is_lead_key(key: bytes) -> bool:
    return not key.startswith(b"\x00")


@dataclass(frozen=True)
class Tables:
    leads: TableT[bytes, bytes]
    deadlines: TableT[bytes, bytes]
    kpis: TableT[bytes, bytes]
    shadow_leads: TableT[bytes, bytes] | None = None
    shadow_deadlines: TableT[bytes, bytes] | None = None
    accounts: TableT[bytes, bytes] | None = None


STATE_BATCH_MAX_BYTES = 16 * 1024 * 1024


def declare(app: faust.App, settings: Settings, *, accounts: bool = False) -> Tables:
    common: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                              "partitions": settings.partitions}
    # Personal data in a lead's earlier states must leave the changelog soon after an
    # erasure: roll segments often enough and let the cleaner compact eagerly.
    erasure_ms = str(int(settings.erasure_compaction_seconds * 1000))
    leads_changelog = {"segment.ms": erasure_ms, "min.cleanable.dirty.ratio": "0.01",
                       "max.compaction.lag.ms": erasure_ms,
                       # a batch's states of one partition go in one record batch (with
                       # the partition's progress record): room for a large batch
                       "max.message.bytes": str(STATE_BATCH_MAX_BYTES)}
    shadow = settings.shadow_policy_path is not None
    return Tables(
        leads=app.Table("leads", help="Per-lead state", extra_topic_configs=leads_changelog,
                        **common),
        deadlines=app.Table("sla-deadlines", help="Open SLA deadlines", **common),
        kpis=app.Table("kpi-windows", help="KPI aggregates per window and partition",
                       **common),
        shadow_leads=app.Table("shadow-leads", help="Per-lead state under the shadow policy",
                               extra_topic_configs=leads_changelog, **common)
        if shadow else None,
        shadow_deadlines=app.Table("shadow-sla-deadlines",
                                   help="Open SLA deadlines under the shadow policy",
                                   **common) if shadow else None,
        # erased contacts leave an account's changelog as soon as a lead's
        accounts=app.Table("accounts", help="Per-account state (contract 4b)",
                           extra_topic_configs=leads_changelog, **common)
        if accounts else None,
    )
