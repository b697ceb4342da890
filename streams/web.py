"""HTTP views on the worker's web port (contract section 5).

``GET /leads/{lead_id}`` is routed by Faust to the worker that owns the lead's partition;
``GET /kpis`` merges the KPI windows every worker can read; ``GET /metrics`` is this
worker's Prometheus registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust
from faust.web import Request, Response, View

from streams import metrics
from streams.tables import is_lead_key

if TYPE_CHECKING:
    from streams.runtime import Runtime


def is_ready(app: faust.App) -> bool:
    """In the group, not rebalancing, and every table recovered from its changelog.

    A worker the group gave no partition (more workers than partitions) is ready too: it
    is a healthy standby for the next rebalance, and a readiness probe that never passes
    would stall a rollout. Faust completes recovery for an empty assignment as well."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return bool(app.started and not app.rebalancing and recovery.completed.is_set())


def attach(app: faust.App, runtime: Runtime) -> None:
    from streams.domain import decode_state
    from streams.lead_view import lead_view, shadow_summary

    leads = runtime.tables.leads
    shadow_leads = runtime.tables.shadow_leads
    shadow = runtime.shadow_policy

    @app.page("/health/live")
    class Live(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "live"})

    @app.page("/health/ready")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            ready = is_ready(app)
            metrics_ready(ready)
            body: dict[str, Any] = {"status": "ready" if ready else "starting"}
            return self.json(body, status=200 if ready else 503)

    @app.page("/leads/{lead_id}")
    @app.table_route(table=leads, match_info="lead_id")
    async def lead(web: View, request: Request, lead_id: str) -> Response:
        raw = leads.get(lead_id.encode()) if is_lead_key(lead_id.encode()) else None
        if raw is None:
            return web.json({"error": "unknown lead", "lead_id": lead_id}, status=404)
        # "now" is the worker's clock: the wall clock, or stream time with the event clock
        now = runtime.view_clock()
        body = lead_view(decode_state(raw), runtime.policy, now)
        # (an erased lead shows only the fact, under either policy)
        body["shadow"] = None if body["stage"] == "ERASED" else shadow_view(lead_id, now)
        return web.json(body)

    def shadow_view(lead_id: str, now: int) -> dict[str, Any] | None:
        """The shadow policy's stage and score of the lead (same partition, same worker);
        null without a shadow policy or before the shadow saw the lead."""
        if shadow is None or shadow_leads is None:
            return None
        raw = shadow_leads.get(lead_id.encode())
        return None if raw is None else shadow_summary(decode_state(raw), shadow, now)

    accounts = runtime.tables.accounts
    if accounts is None:
        @app.page("/accounts/{account_id}")
        class Account(View):
            # No accounts in the policy: no account is ever known (the route still
            # honours the token, so clients see its final shape).
            async def get(self, request: Request, account_id: str) -> Response:
                return self.json({"error": "unknown account", "account_id": account_id},
                                 status=404)
    else:
        from streams.domain.accounts import AccountState, account_view

        @app.page("/accounts/{account_id}")
        @app.table_route(table=accounts, match_info="account_id")
        async def account(web: View, request: Request, account_id: str) -> Response:
            # routed to the worker that owns the account's partition; lead ids, roles
            # and scores only (no personal data is in an account's state)
            raw = accounts.get(account_id.encode()) if is_lead_key(
                account_id.encode()) else None
            if raw is None:
                return web.json({"error": "unknown account", "account_id": account_id},
                                status=404)
            return web.json(account_view(AccountState.decode(raw), runtime.policy))

    @app.page("/kpis")
    class Kpis(View):
        async def get(self, request: Request) -> Response:
            store = runtime.kpis
            windows = store.windows()
            ws = store.window_containing(runtime.view_clock())
            body = {
                "current": report(ws, windows.get(ws)),
                "windows": [report(w, a) for w, a in sorted(windows.items())[-7:]],
            }
            return self.json(body)

    def report(ws: int, agg: Any) -> dict[str, Any]:
        """A window's live report, with the shadow's hand-offs beside it (null without a
        shadow policy)."""
        store = runtime.kpis
        body = store.report(ws, agg)
        body["shadow"] = None if shadow is None else store.shadow_handoffs(ws)
        # the SlaReport's account figures (contacted, breaches, moved back), with the
        # qualifications counted once per id from sales.qualified-accounts (null without
        # accounts)
        accounts = runtime.account_kpis
        body["accounts"] = None if accounts is None else {**(body.get("accounts") or {}),
                                                          **accounts.window(ws)}
        return body

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            metrics_ready(is_ready(app))
            # aiohttp wants the charset apart from the content type.
            mime, _, _charset = metrics.CONTENT_TYPE.partition("; charset=")
            return self.bytes(metrics.render(), content_type=mime)

    def metrics_ready(ready: bool) -> None:
        engine = runtime.extras.get("engine_metrics")
        if engine is not None:
            engine.set_ready(ready)
