"""``leadflow account ACCOUNT_ID``: an account as the worker sees it
(``GET /accounts/{id}``): status, score, grade, buying group, qualification."""

from __future__ import annotations

from typing import Any

import typer

from streams.cli.lead import _num, _when, show


def render(view: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{escape(str(view.get('account_id')))}[/bold]  "
                  f"[bold cyan]{view.get('status')}[/bold cyan]")
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("account score", f"{_num(view.get('score'))} as of "
                  f"{_when(view.get('stream_time'))}")
    facts.add_row("fit grade", str(view.get("fit_grade")))
    facts.add_row("engaged contacts", str(view.get("engaged_contacts")))
    facts.add_row("roles covered", ", ".join(view.get("roles_covered") or []) or "-")
    q = view.get("qualification")
    if isinstance(q, dict):
        facts.add_row("qualification", f"{q.get('qualification_id')} at "
                      f"{_when(q.get('qualified_at'))}")
        facts.add_row("queue / owner", f"{q.get('queue') or '-'} / "
                      f"{q.get('owner_rep_id') or '-'}")
        facts.add_row("SLA due", _when(q.get("sla_due_at")))
    back = view.get("moved_back")
    if isinstance(back, dict):
        facts.add_row("moved back", f"{_when(back.get('at'))}: {escape(str(back.get('reason')))}")
    facts.add_row("policy", str(view.get("policy_version")))
    console.print(facts)
    for why in view.get("why_not") or []:
        console.print(f"why not MQA: {escape(str(why))}")
    contacts = view.get("contacts") or []
    if contacts:
        t = Table(title="buying group (active contacts)", title_justify="left")
        t.add_column("lead")
        t.add_column("role")
        t.add_column("score", justify="right")
        for c in contacts:
            t.add_row(escape(str(c.get("lead_id"))), escape(str(c.get("role") or "-")),
                      _num(c.get("score")))
        console.print(t)


def run(
    account_id: str = typer.Argument(..., help="The account id (e.g. acme.com or the "
                                     "account_id attribute)."),
    as_json: bool = typer.Option(False, "--json", help="Print the worker's JSON answer."),
    url: str = typer.Option(None, "--url", help="The worker's base URL (default: "
                            "http://127.0.0.1:$LEADFLOW_WEB_PORT)."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait."),
) -> None:
    """Show an account's status, score, grade, buying group and qualification, as the
    running worker knows it (needs a policy with an accounts section)."""
    show("accounts", account_id, url, timeout, as_json, render,
         unknown=f"unknown account {account_id!r} (the worker at {{url}} has no state for "
                 "it; does its policy have an accounts section?)")
