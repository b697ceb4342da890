"""What every agent shares besides the app: settings, policy, codecs, topics, tables,
clocks. Built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streams.clock import Clock
from streams.codecs import AvroCodecs
from streams.domain import Policy
from streams.engine.delivery import Deliver
from streams.engine.offsets import BrokerOffsets
from streams.settings import Settings

if TYPE_CHECKING:
    from streams.account_kpis import AccountKpis
    from streams.engine.commits import InputCommits
    from streams.kpi_store import KpiStore
    from streams.tables import Tables
    from streams.topics import Topics


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    policy: Policy
    codecs: AvroCodecs
    topic_names: dict[str, str]
    topics: Topics = field(init=False)
    tables: Tables = field(init=False)
    kpis: KpiStore = field(init=False)
    input_commits: InputCommits = field(init=False)
    # Highest event time this worker has processed (over its partitions; each partition's
    # own stream time is kept by the engine): the horizon of closed KPI windows.
    watermark: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    # The shadow policy (LEADFLOW_SHADOW_POLICY), run beside the live one; None: none.
    shadow_policy: Policy | None = None
    # accounts qualified per KPI window (policies with accounts only), for GET /kpis
    account_kpis: AccountKpis | None = None
    # Sends records in batches and waits for Kafka's acks (streams.engine.delivery), set by
    # create_app: last offset per (topic, partition).
    deliver: Deliver = field(init=False)
    # Log start and end offsets on a connection of their own (streams.engine.offsets).
    broker_offsets: BrokerOffsets = field(init=False)

    def advance_watermark(self, event_time: int) -> None:
        if event_time > self.watermark:
            self.watermark = event_time

    def view_clock(self) -> int:
        """Now, for the views (a lead's score as of now, the current KPI window): stream
        time with the event clock (replays, the demo), else the wall clock."""
        if self.settings.sla_clock == "event":
            return self.watermark
        return self.clock()
