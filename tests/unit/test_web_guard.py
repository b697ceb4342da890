"""streams.web_guard without a worker: token check, protected routes, Faust's views gone."""

from __future__ import annotations

import pytest

from streams.settings import Settings, SettingsError
from streams.web_guard import authorized, is_protected

TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize(("path", "protected"), [
    ("/leads/L1", True), ("/accounts/A1", True), ("/kpis", True),
    ("/metrics", False), ("/health/live", False), ("/health/ready", False),
    ("/kpisx", False), ("/", False),
])
def test_which_routes_want_the_token(path: str, protected: bool) -> None:
    assert is_protected(path) is protected


@pytest.mark.parametrize(("header", "ok"), [
    (f"Bearer {TOKEN}", True), (f"bearer {TOKEN}", True), (None, False), ("", False),
    (TOKEN, False), (f"Basic {TOKEN}", False), (f"Bearer {TOKEN}x", False),
    (f"Bearer {TOKEN[:-1]}", False), ("Bearer ", False),
])
def test_bearer_token(header: str | None, ok: bool) -> None:
    assert authorized(header, TOKEN) is ok


def test_token_setting_is_masked_and_checked() -> None:
    s = Settings.from_env({"LEADFLOW_WEB_TOKEN": TOKEN})
    assert s.web_token == TOKEN and TOKEN not in repr(s)
    with pytest.raises(SettingsError, match="at least 16"):
        Settings.from_env({"LEADFLOW_WEB_TOKEN": "short"})
    assert Settings.from_env({}).web_token is None
    assert Settings.from_env({}).web_host == "127.0.0.1"


def test_the_app_serves_none_of_faust_views(tmp_path: object) -> None:
    from streams.app import create_app

    app = create_app(Settings.from_env({"LEADFLOW_STORE": "memory://"}))
    app.web.init_server()
    routes = sorted({r.resource.canonical for r in app.web.web_app.router.routes()
                     if r.resource is not None})
    assert routes == ["/accounts/{account_id}", "/health/live", "/health/ready",
                      "/kpis", "/leads/{lead_id}", "/metrics"]
