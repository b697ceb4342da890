"""The lead view (``GET /leads/{id}``) and ``leadflow lead``: why not MQL, scores for people,
sales history, no personal data."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.domain import LeadState, load_policy
from streams.domain.policy import Policy
from streams.lead_view import lead_view
from streams.paths import DEFAULT_POLICY
from tests.unit.domain.test_domain_stories import BANT, T0, D, ev, mql, oc, run

PII = ("vp@acme.com", "Acme", "VP Marketing", "+1 555", "Jane", "Doe")
PROFILE = {**BANT, "first_name": "Jane", "last_name": "Doe", "phone": "+1 555 0100"}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY)


def not_mql(policy: Policy) -> LeadState:
    """Score 89, grade A, 1 criterion of 3 (the issue's lead), silent for 60 days after."""
    attrs = {**PROFILE, "budget": "no", "authority": "no", "timeframe": "none"}
    s, _ = run(policy, [ev("DEMO_REQUESTED", T0, attrs=attrs, campaign="c-demo"),
                        ev("PRICING_PAGE_VISIT", T0 + 1), ev("CONTENT_DOWNLOAD", T0 + 2),
                        ev("NEWSLETTER_SIGNUP", T0 + 3), ev("EMAIL_OPENED", T0 + 4),
                        ev("EMAIL_CLICKED", T0 + 5)])
    return s


def test_not_mql_lists_each_unmet_condition_with_value_and_threshold(policy: Policy) -> None:
    s = not_mql(policy)
    view = lead_view(s, policy, now=s.clock + 60 * D)
    assert view["stage"] == "ENGAGED" and view["fit_grade"] == "A"
    assert view["criteria_met"] == ["need"]
    # the score at its last event, and as of now (two half-lives later)
    assert (view["score"], view["stream_time"]) == (89.0, T0 + 5)
    assert view["score_now"] == 22.2 and view["now"] == T0 + 5 + 60 * D
    why = view["why_not_mql"]
    assert why["applies"] and why["as_of"] == view["now"]
    assert [(u["condition"], u["value"], u["threshold"]) for u in why["unmet"]] == [
        ("score", 22.2, 50), ("criteria", 1, 3)]
    assert why["unmet"][1]["missing"] == ["budget", "authority", "timeframe", "demo_viewed",
                                          "met_rep"]
    # points for people: one decimal
    assert all(r["points"] == round(r["points"], 1) for r in view["reasons"])
    assert {"rule": "DEMO_REQUESTED", "points": 40.0} in view["reasons"]


def test_history_includes_sales_outcomes(policy: Policy) -> None:
    s, _ = mql(policy)
    s, _ = run(policy, [oc("CONTACTED", T0 + 2 * D + 3_600_000), oc("ACCEPTED", T0 + 3 * D),
                        oc("WON", T0 + 9 * D, amount=5.0)], s)
    view = lead_view(s, policy, now=T0 + 10 * D)
    hist = [(h["kind"], h["type"], h["occurred_at"]) for h in view["recent_history"]]
    assert hist[0] == ("sales", "OUTCOME -> WON", None)
    assert ("sales", "FIRST_CONTACT", T0 + 2 * D + 3_600_000) in hist
    assert ("handoff", "HANDED_OFF SCORE", T0 + 2 * D) in hist
    assert ("event", "PRICING_PAGE_VISIT", T0 + 2 * D) in hist
    times = [t for _, _, t in hist if t is not None]
    assert times == sorted(times, reverse=True)
    assert view["why_not_mql"] == {"applies": False, "summary": "closed by sales: WON",
                                   "as_of": T0 + 10 * D, "unmet": []}


def test_no_personal_data_in_the_view(policy: Policy) -> None:
    for s in (not_mql(policy), mql(policy)[0]):
        text = json.dumps(lead_view(s, policy, now=s.clock))
        assert s.profile  # the state has it...
        for pii in PII:  # ...the view never shows it
            assert pii not in text, pii


def test_erased_shows_only_the_fact(policy: Policy) -> None:
    s, _ = mql(policy)
    s, _ = run(policy, [ev("ERASURE_REQUESTED", T0 + 5 * D)], s)
    assert lead_view(s, policy, now=T0 + 6 * D) == {"lead_id": "L1", "stage": "ERASED"}


class _Worker(BaseHTTPRequestHandler):
    body: dict[str, Any] = {}

    def do_GET(self) -> None:
        data = json.dumps(self.body).encode()
        self.send_response(200 if self.path == f"/leads/{self.body['lead_id']}" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def worker(policy: Policy) -> Iterator[str]:
    s = not_mql(policy)
    _Worker.body = lead_view(s, policy, now=s.clock + 60 * D)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Worker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_cli_lead_says_why_not_mql(worker: str) -> None:
    res = CliRunner().invoke(app, ["lead", "L1", "--url", worker], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    out = res.output
    assert "stage ENGAGED" in out
    assert "89.0 at its last event" in out and "22.2 as of" in out
    assert "why not MQL" in out
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert any(line.startswith("score 22.2 >= 50") for line in lines), out
    assert any(line.startswith("criteria met 1 >= 3 missing: budget, authority") for line in
               lines), out
    assert "40.0" in out and "38.2024" not in out
    assert "Jane" not in out and "acme" not in out.lower()


def test_shadow_summary_shows_stage_and_score_only() -> None:
    from streams.domain import LeadEvent, load_policy, step
    from streams.lead_view import shadow_summary
    from streams.paths import DEFAULT_POLICY
    from tests.support.kafka_io import lead_event
    from tests.support.stories import BANT

    policy = load_policy(DEFAULT_POLICY)
    state, _ = step(None, LeadEvent.from_record(lead_event(
        "e1", "L1", "DEMO_REQUESTED", 1_767_225_600_000, attributes=BANT)), policy, 0)
    body = shadow_summary(state, policy)
    assert body == {"stage": state.stage.value, "score": 40.0, "score_now": 40.0,
                    "queue": None, "policy_version": policy.version}
    assert "acme" not in str(body).lower()


def test_cli_lead_shows_the_shadow_when_there_is_one() -> None:
    import io

    from rich.console import Console

    from streams.cli.lead import render

    base = {"lead_id": "L1", "stage": "ENGAGED", "score": 60.0}
    for shadow, shown in ((None, False), ({"stage": "RAW", "score": 12.5,
                                           "policy_version": "v+1"}, True)):
        out = io.StringIO()
        render(dict(base, shadow=shadow), Console(file=out, width=120))
        text = out.getvalue()
        assert ("shadow policy" in text) is shown
        if shown:
            assert "RAW, score 12.5 (v+1)" in text
