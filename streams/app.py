"""``create_app(settings)``: the Faust app, its stores, web views and agents.

Agents are discovered explicitly: each module listed in ``agents.ALL`` has an
``attach(app, runtime)`` that declares its agents and timers on the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust

from streams import metrics
from streams.clients import aiokafka_config, broker_credentials, codecs
from streams.clock import Clock, system_clock
from streams.domain import Policy, load_policy
from streams.engine import faust_private
from streams.engine.commits import InputCommits
from streams.engine.delivery import Send, deliver_all
from streams.engine.fetch import FetchWaitClock, Sink, divert_inputs
from streams.engine.offsets import BrokerOffsets
from streams.runtime import Runtime
from streams.settings import Settings

__all__ = ["Runtime", "aiokafka_config", "broker_credentials", "create_app", "faust_config"]


def faust_config(settings: Settings) -> dict[str, Any]:
    """The Faust settings leadflow runs with, and why each differs from the default."""
    return {
        "broker": settings.broker,
        "broker_credentials": broker_credentials(settings),
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "web_in_thread": False,
        # None of Faust's own views (streams.web_guard drops them all; these are the ones
        # with a switch): /table/ would serve raw lead state.
        "web_tables_enabled": False,
        "web_router_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "web_metrics_enabled": False,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication,
        # Faust only ever declares its own internal topics (changelogs); ours are created
        # on purpose by `leadflow topics create`.
        "topic_allow_declare": True,
        # No on_leader timers: every worker watches the SLA of the partitions it owns.
        "topic_disable_leader": True,
        # A new group starts at the beginning: no event published before the first start
        # may be skipped.
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": max(1.0, settings.session_timeout / 4),
        "consumer_group_instance_id": settings.instance_id,
        "producer_acks": -1,
        # No linger: the engine sends a batch's records together and then waits for their
        # acks (streams.engine.delivery), so they are batched anyway; a linger only delayed
        # each of a batch's sequential steps (outputs, then states). 5 ms gave p50 52 ms at
        # 1,000 events/s and a worker waiting 1/3 of a backlog's time; 0 gives 6 ms.
        "producer_linger_ms": 0,
        "producer_compression_type": None,
        # Outputs and changelog records go out as one record batch per partition
        # (streams.engine.delivery): room for a whole take_events batch's worth.
        "producer_max_batch_size": 256 * 1024,
        # Small fetches per partition keep the partitions of a backlog interleaved: with a
        # 1 MB fetch, aiokafka hands over a whole partition's chunk (thousands of records)
        # before the next partition's, and the event-time merge of a partition whose other
        # input was still behind that chunk gave up its bounded wait (contract 1b).
        "consumer_max_fetch_size": 64 * 1024,
        "stream_wait_empty": True,
        # A warm copy of each state partition on another worker (LEADFLOW_STANDBY_REPLICAS):
        # a failover is ready in seconds instead of a full changelog restore.
        "table_standby_replicas": settings.standby_replicas,
        # Faust's recovery, with a bulk changelog restore of far-behind active partitions
        # first (streams.engine.restore; the app's ``restore_actives``).
        "TableManager": faust_private.RestoringTableManager,
        "logging_config": None,
        # Faust's Monitor without its per-message bookkeeping (nothing reads it).
        "Monitor": "streams.engine.monitor:LeanMonitor",
    }


class LeadflowApp(faust.App):
    """Faust's app, whose consumer commits the input offsets leadflow marks done
    (streams.engine.commits)."""

    input_commits: InputCommits | None = None
    web_token: str | None = None
    # called by faust_private.RestoringRecovery (None: Faust's recovery alone)
    restore_actives: faust_private.RestoreActives | None = None
    # the engine's sink for whole fetches of these topics (streams.engine.fetch)
    input_sink: tuple[frozenset[str], Sink, FetchWaitClock,
                      Callable[[], Awaitable[None]]] | None = None

    def _new_web(self) -> Any:
        from streams.web_guard import harden

        return harden(faust_private.base_new_web(self), self.web_token)

    def _new_consumer(self) -> Any:
        consumer = faust_private.base_new_consumer(self)
        if self.input_commits is not None:
            self.input_commits.install(consumer, lambda: self.consumer_generation_id)
        if self.input_sink is not None:
            divert_inputs(self, consumer, *self.input_sink)
        return consumer


def create_app(settings: Settings, *, clock: Clock | None = None,
               policy: Policy | None = None, shadow_policy: Policy | None = None
               ) -> LeadflowApp:
    """Build the worker app. Nothing here talks to Kafka; that happens when it starts.
    A shadow policy is used when ``settings.shadow_policy_path`` is set (``shadow_policy``:
    that file, already loaded)."""
    from agents import ALL as agent_modules  # explicit discovery, no scanning
    from streams import tables, topics, web
    from streams.engine import metrics as engine_metrics
    from streams.engine import watchdog
    from streams.kpi_store import KpiStore

    policy = policy or load_policy(settings.policy_path)
    if settings.shadow_policy_path is None:
        shadow_policy = None
    elif shadow_policy is None:
        shadow_policy = load_policy(settings.shadow_policy_path)
    app = LeadflowApp(settings.app_id, **faust_config(settings))
    app.web_token = settings.web_token
    if settings.bulk_restore_min_records > 0:
        from streams.engine import restore_faust

        app.restore_actives = restore_faust.hook(aiokafka_config(settings, "restore"),
                                                 settings.bulk_restore_min_records)
    runtime = Runtime(
        settings=settings,
        clock=clock or system_clock(settings.clock_offset_seconds),
        policy=policy,
        codecs=codecs(settings),
        topic_names={n: settings.topic(n) for n in settings.topics.all()},
        shadow_policy=shadow_policy,
    )
    if policy.accounts is not None:  # the lead side's repartition topic (contract 4b)
        from streams.engine.accounts import LOGICAL, signal_topic

        runtime.topic_names[LOGICAL] = signal_topic(settings.app_id)
        runtime.extras["internal_topics"] = [runtime.topic_names[LOGICAL]]
    runtime.topics = topics.declare(app, settings)
    runtime.tables = tables.declare(app, settings, accounts=policy.accounts is not None)
    # the account agent commits the signals it marks done, as the lead agent its inputs
    app.input_commits = runtime.input_commits = InputCommits(
        [*runtime.topics.source_of, *runtime.extras.get("internal_topics", ())])
    runtime.kpis = KpiStore(runtime.tables.kpis, policy)
    offsets = runtime.broker_offsets = BrokerOffsets(aiokafka_config(settings, "offsets"))

    @app.task  # type: ignore[untyped-decorator]
    async def close_broker_offsets() -> None:
        try:  # (a task lives until the app stops)
            await asyncio.Event().wait()
        finally:
            await offsets.close()
    kpi_changelog = runtime.tables.kpis.changelog_topic.get_topic_name()

    @app.task  # type: ignore[untyped-decorator]
    async def follow_kpis() -> None:
        from streams.kpi_store import follow

        await follow(runtime.kpis, kpi_changelog, settings.partitions, aiokafka_config(settings))

    if policy.accounts is not None:
        from streams.account_kpis import AccountKpis

        account_kpis = runtime.account_kpis = AccountKpis(policy.sla.report_window_ms)

        @app.task  # type: ignore[untyped-decorator]
        async def follow_account_kpis() -> None:
            from streams.account_kpis import follow

            await follow(account_kpis, settings.topic("qualified_accounts"),
                         settings.partitions, runtime.codecs, aiokafka_config(settings))

    _setup_metrics(runtime)
    engine = runtime.extras["engine_metrics"]

    async def deliver(sends: Sequence[Send], atomic: bool = False
                      ) -> dict[tuple[str, int], int]:
        producer = faust_private.aiokafka_producer(app.producer)  # for its batch API
        return await deliver_all(producer, sends, atomic=atomic, on_sent=engine.count_sent)

    runtime.deliver = deliver
    app.leadflow = runtime  # type: ignore[attr-defined]
    web.attach(app, runtime)
    for module in agent_modules:
        module.attach(app, runtime)
    engine_metrics.attach(app, runtime)
    watchdog.attach(app, runtime)
    return app


def _setup_metrics(runtime: Runtime) -> None:
    policy = runtime.policy
    metrics.set_policy_version(policy.version)
    metrics.set_known_queues(q.name for q in policy.routing.queues)
    sla = policy.sla
    metrics.set_sla_targets(
        max_breach_ratio=sla.max_breach_rate or 0.0,
        min_handoffs_per_window=sla.min_handoffs or 0,
        max_handoffs_per_window=sla.max_handoffs or 0,
        window_seconds=sla.report_window_ms / 1000.0,
    )
    names = list(runtime.topic_names.values())
    tables: tuple[str, ...] = ("leads", "sla-deadlines", "kpi-windows")
    if runtime.shadow_policy is not None:
        tables += ("shadow-leads", "shadow-sla-deadlines")
    if policy.accounts is not None:
        tables += ("accounts",)
    runtime.extras["engine_metrics"] = metrics.EngineMetrics(names, tables)
