"""``leadflow lead LEAD_ID``: a lead as the worker sees it (``GET /leads/{id}``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

import typer

from streams.errors import FAILURE, USAGE


def _when(ms: Any) -> str:
    if not isinstance(ms, int):
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def fetch(base: str, lead_id: str, timeout: float,
          token: str | None = None) -> tuple[int, Any]:
    url = f"{base.rstrip('/')}/leads/{urllib.parse.quote(lead_id, safe='')}"
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


def render(view: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{view.get('lead_id')}[/bold]  stage [bold cyan]{view.get('stage')}"
                  f"[/bold cyan]")
    if view.get("stage") == "ERASED":
        console.print("personal data erased; only the fact remains")
        return
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("score", f"{view.get('score')}")
    facts.add_row("fit grade", str(view.get("fit_grade")))
    facts.add_row("criteria met", ", ".join(view.get("criteria_met") or []) or "-")
    facts.add_row("queue / owner", f"{view.get('queue') or '-'} / "
                  f"{view.get('owner_rep_id') or '-'}")
    facts.add_row("handed off", _when(view.get("handed_off_at")))
    facts.add_row("SLA due", _when(view.get("sla_due_at")))
    facts.add_row("campaigns", ", ".join(view.get("campaigns") or []) or "-")
    facts.add_row("events", str(view.get("events")))
    facts.add_row("policy", str(view.get("policy_version")))
    console.print(facts)
    reasons = view.get("reasons") or []
    if reasons:
        t = Table(title="why (top reasons)", title_justify="left")
        t.add_column("rule")
        t.add_column("points", justify="right")
        for r in reasons:
            t.add_row(str(r.get("rule")), f"{r.get('points', 0):g}")
        console.print(t)
    history = view.get("recent_history") or []
    if history:
        h = Table(title="recent history", title_justify="left")
        h.add_column("when")
        h.add_column("event")
        for e in history:
            h.add_row(_when(e.get("occurred_at")), str(e.get("type")))
        console.print(h)


def run(
    lead_id: str = typer.Argument(..., help="The lead id, e.g. L7-00042."),
    as_json: bool = typer.Option(False, "--json", help="Print the worker's JSON answer."),
    url: str = typer.Option(None, "--url", help="The worker's base URL (default: "
                            "http://127.0.0.1:$LEADFLOW_WEB_PORT)."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait."),
) -> None:
    """Show a lead's stage, score, grade, criteria, reasons, history, owner and SLA due,
    as the running worker knows it."""
    from streams.settings import Settings

    settings = Settings.from_env()
    if url is None:
        host = settings.web_host if settings.web_host not in ("0.0.0.0", "", "::") else (
            "127.0.0.1")
        url = f"http://{host}:{settings.web_port}"
    try:
        status, body = fetch(url, lead_id, timeout, settings.web_token)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        typer.echo(f"leadflow: no worker answering at {url} ({reason}); start one with "
                   "`leadflow worker` or pass --url", err=True)
        raise typer.Exit(FAILURE) from None
    if status == 404:
        typer.echo(f"leadflow: unknown lead {lead_id!r} (the worker at {url} has no state "
                   "for it)", err=True)
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
        render(body)
