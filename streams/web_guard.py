"""What the worker's web server exposes, and to whom (contract section 5).

Faust mounts its own views on the web port (``/table/...`` serves raw table state, with
personal data; ``/router/...``, ``/graph/``, ``/assignment/``, ``/``). :func:`harden` drops
every one of them, so only the routes leadflow declares exist; answers every error
(unknown path, wrong method, a crash) as JSON; asks for ``LEADFLOW_WEB_TOKEN`` on the
data routes; and sends no server version.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web as aiohttp_web
from faust.web.base import BlueprintManager

#: Routes that show lead or KPI data: behind the token when one is set. Probes and the
#: scraper (/health/*, /metrics) stay open.
PROTECTED_PREFIXES = ("/leads/", "/accounts/", "/kpis/")
SERVER_HEADER = "leadflow"

Handler = Callable[[aiohttp_web.Request], Awaitable[aiohttp_web.StreamResponse]]
log = logging.getLogger("streams.web")


def is_protected(path: str) -> bool:
    return path == "/kpis" or path.startswith(PROTECTED_PREFIXES)


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _error(status: int, message: str) -> aiohttp_web.Response:
    return aiohttp_web.json_response({"error": message}, status=status)


def guard(token: str | None) -> Any:
    """aiohttp middleware: token check first, then every HTTP error as a JSON body."""

    @aiohttp_web.middleware
    async def middleware(request: aiohttp_web.Request,
                         handler: Handler) -> aiohttp_web.StreamResponse:
        if token and is_protected(request.path) and not authorized(
                request.headers.get("Authorization"), token):
            return _error(401, "unauthorized: send Authorization: Bearer <LEADFLOW_WEB_TOKEN>")
        try:
            return await handler(request)
        except aiohttp_web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error(exc.status, (exc.reason or "error").lower())
        except Exception as exc:  # never a traceback (or state) in a response
            log.error("web request failed: %s", type(exc).__name__)
            return _error(500, "internal error")

    return middleware


async def _no_version(request: aiohttp_web.Request, response: aiohttp_web.StreamResponse) -> None:
    # aiohttp fills in "Python/3.x aiohttp/x.y" only when the header is missing.
    response.headers["Server"] = SERVER_HEADER


def harden(web: Any, token: str | None) -> Any:
    """Apply the rules above to a Faust aiohttp ``Web`` driver before it starts."""
    web.blueprints = BlueprintManager([])  # none of Faust's built-in views
    app: aiohttp_web.Application = web.web_app
    app.middlewares.append(guard(token))
    app.on_response_prepare.append(_no_version)
    return web
