"""``leadflow lead LEAD_ID``: a lead as the worker sees it (``GET /leads/{id}``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import typer

from streams.errors import FAILURE, USAGE


def _when(ms: Any) -> str:
    if not isinstance(ms, int):
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def fetch(base: str, lead_id: str, timeout: float,
          token: str | None = None, route: str = "leads") -> tuple[int, Any]:
    url = f"{base.rstrip('/')}/{route}/{urllib.parse.quote(lead_id, safe='')}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=timeout) as resp:
            return int(resp.status), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return int(err.code), json.loads(body)
        except ValueError:
            return int(err.code), body.decode(errors="replace")


def _num(x: Any) -> str:
    """A score or points for people: one decimal, as the worker rounds it."""
    return f"{x:.1f}" if isinstance(x, int | float) else "-"


def render(view: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{escape(str(view.get('lead_id')))}[/bold]  stage [bold cyan]"
                  f"{view.get('stage')}[/bold cyan]")
    if view.get("stage") == "ERASED":
        console.print("personal data erased; only the fact remains")
        return
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("score", f"{_num(view.get('score'))} at its last event "
                  f"({_when(view.get('stream_time'))})")
    facts.add_row("score now", f"{_num(view.get('score_now'))} as of "
                  f"{_when(view.get('now'))} (decayed)")
    for m in view.get("model_scores") or []:  # policy `models:` (product lines)
        need = m.get("mql_score")
        facts.add_row(f"{m.get('model')} score",
                      f"{_num(m.get('score'))} at its last event, {_num(m.get('score_now'))} "
                      "now" + (f" (MQL at {need:g})" if isinstance(need, int | float) else ""))
    facts.add_row("fit grade", str(view.get("fit_grade")))
    facts.add_row("criteria met", ", ".join(view.get("criteria_met") or []) or "-")
    facts.add_row("queue / owner", f"{view.get('queue') or '-'} / "
                  f"{view.get('owner_rep_id') or '-'}")
    facts.add_row("handed off", _when(view.get("handed_off_at"))
                  + (f" by model {view['handoff_model']}" if view.get("handoff_model") else ""))
    facts.add_row("SLA due", _when(view.get("sla_due_at")))
    facts.add_row("campaigns", ", ".join(view.get("campaigns") or []) or "-")
    facts.add_row("events", str(view.get("events")))
    facts.add_row("policy", str(view.get("policy_version")))
    shadow = view.get("shadow")
    if isinstance(shadow, dict):  # LEADFLOW_SHADOW_POLICY: what the candidate policy says
        facts.add_row("shadow policy", f"{shadow.get('stage')}, score "
                      f"{_num(shadow.get('score'))} ({shadow.get('policy_version')})")
    console.print(facts)
    why = view.get("why_not_mql")
    if isinstance(why, dict):
        _render_why(console, why)
    reasons = view.get("reasons") or []
    if reasons:
        t = Table(title="why this score (top reasons, at its last event)", title_justify="left")
        t.add_column("rule")
        t.add_column("points", justify="right")
        for r in reasons:
            t.add_row(escape(str(r.get("rule"))), _num(r.get("points")))
        console.print(t)
    history = view.get("recent_history") or []
    if history:
        h = Table(title="recent history (events and sales)", title_justify="left")
        h.add_column("when")
        h.add_column("what")
        for e in history:
            what = str(e.get("type"))
            if e.get("queue"):
                what += f" to {e['queue']}"
            when = _when(e.get("occurred_at")) if e.get("occurred_at") is not None else (
                "(time not kept)")
            h.add_row(when, escape(what))
        console.print(h)


def _render_why(console: Any, why: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    unmet = why.get("unmet") or []
    if not why.get("applies") or not unmet:
        console.print(f"why not MQL: {escape(str(why.get('summary')))}")
        return
    t = Table(title=f"why not MQL (as of {_when(why.get('as_of'))})", title_justify="left")
    t.add_column("unmet condition")
    t.add_column("lead", justify="right")
    t.add_column("needs", justify="right")
    t.add_column("detail")
    names = {"score": "score", "fit_grade": "fit grade", "criteria": "criteria met"}
    for c in unmet:
        cond = str(c.get("condition"))
        value, threshold = c.get("value"), c.get("threshold")
        if cond == "score":
            shown, need = _num(value), f">= {threshold:g}" if isinstance(
                threshold, int | float) else str(threshold)
        elif cond == "fit_grade":
            shown, need = str(value), f"{threshold} or better"
        else:
            shown, need = str(value), f">= {threshold}"
        detail = str(c.get("text"))
        if cond == "criteria" and c.get("missing"):
            detail = "missing: " + ", ".join(c["missing"])
        t.add_row(names.get(cond, cond), shown, need, escape(detail))
    console.print(t)


def run(
    lead_id: str = typer.Argument(..., help="The lead id, e.g. L7-00042."),
    as_json: bool = typer.Option(False, "--json", help="Print the worker's JSON answer."),
    url: str = typer.Option(None, "--url", help="The worker's base URL (default: "
                            "http://127.0.0.1:$LEADFLOW_WEB_PORT)."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait."),
) -> None:
    """Show a lead's stage, score, grade, criteria, reasons, history, owner and SLA due,
    as the running worker knows it."""
    show("leads", lead_id, url, timeout, as_json, render,
         unknown=f"unknown lead {lead_id!r} (the worker at {{url}} has no state for it)")


def show(route: str, item_id: str, url: str | None, timeout: float, as_json: bool,
         render_body: Callable[[dict[str, Any]], None], unknown: str) -> None:
    """Ask the running worker for ``/<route>/<item_id>`` and print it; every failure is
    one line (``unknown`` for a 404, with ``{url}`` filled in) and a non-zero exit."""
    from streams.settings import Settings

    settings = Settings.from_env()
    if url is None:
        host = settings.web_host if settings.web_host not in ("0.0.0.0", "", "::") else (
            "127.0.0.1")
        url = f"http://{host}:{settings.web_port}"
    try:
        status, body = fetch(url, item_id, timeout, settings.web_token, route=route)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        typer.echo(f"leadflow: no worker answering at {url} ({reason}); start one with "
                   "`leadflow worker` or pass --url", err=True)
        raise typer.Exit(FAILURE) from None
    if status == 404:
        typer.echo("leadflow: " + unknown.format(url=url), err=True)
        raise typer.Exit(USAGE)
    if status == 401:
        typer.echo(f"leadflow: the worker at {url} wants a token: set LEADFLOW_WEB_TOKEN",
                   err=True)
        raise typer.Exit(FAILURE)
    if status != 200 or not isinstance(body, dict):
        typer.echo(f"leadflow: the worker at {url} answered {status}: {str(body)[:200]}",
                   err=True)
        raise typer.Exit(FAILURE)
    if as_json:
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        render_body(body)
