"""HTTP views on the worker's web port: health now; leads, KPIs and metrics join them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust
from faust.web import Request, Response, View

if TYPE_CHECKING:
    from streams.app import Runtime


def is_ready(app: faust.App) -> bool:
    """Consuming and every table recovered from its changelog."""
    recovery = app.tables.recovery
    return bool(
        app.started
        and not app.rebalancing
        and recovery.completed.is_set()
        and app.consumer is not None
        and app.consumer.assignment()
    )


def attach(app: faust.App, runtime: Runtime) -> None:
    @app.page("/health/live")
    class Live(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "live"})

    @app.page("/health/ready")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            ready = is_ready(app)
            body: dict[str, Any] = {"status": "ready" if ready else "starting"}
            return self.json(body, status=200 if ready else 503)
