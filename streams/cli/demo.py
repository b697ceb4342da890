"""``leadflow demo``: publish a realistic synthetic stream (seeded) to the input topics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from streams.demo import Demo
    from streams.settings import Settings


def run(
    leads: int = typer.Option(500, "--leads", "-n", min=1, max=1_000_000,
                              help="How many leads to simulate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same "
                             "records."),
    rate: float = typer.Option(0.0, "--rate", min=0.0,
                               help="Records per second (0: as fast as possible)."),
    days: int = typer.Option(14, "--days", min=2, max=365,
                             help="Simulated days, ending now."),
    now_ms: int = typer.Option(None, "--now-ms", help="Pin 'now' (epoch ms) for a "
                               "reproducible history (default: the wall clock)."),
    export_dir: Annotated[Path | None, typer.Option(
        "--export-dir", help="Write events.jsonl and outcomes.jsonl there instead of "
        "publishing to Kafka (input for `leadflow backtest`).")] = None,
    accounts: Annotated[bool | None, typer.Option(
        "--accounts/--no-accounts", help="Companies with buying groups: up to 40% of the "
        "leads are several contacts per company (titles for the buying-group roles, a "
        "shared domain, mostly an account_id). Default: on when the policy "
        "(LEADFLOW_POLICY) has an `accounts` section.")] = None,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Publish N synthetic leads: personas, campaigns, a funnel with drop-off, trade-show
    scans, rep referrals, sales outcomes hours later, missed SLAs, ~1% duplicates and a few
    malformed records. Simulated time covers the last --days days, in time order, so a worker
    with LEADFLOW_SLA_CLOCK=event plays the whole funnel out in about a minute."""
    from streams.cli.policy import load_or_exit
    from streams.demo import export, generate
    from streams.settings import Settings

    settings = Settings.from_env()
    policy = load_or_exit(settings.policy_path)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    with_accounts = policy.accounts is not None if accounts is None else accounts
    demo = generate(seed, leads, now, policy, days=days, accounts=with_accounts)
    kinds = demo.counts()
    summary = (f"{leads} leads, {kinds.get('LeadEvent', 0)} events "
               f"({demo.duplicates} duplicates), {kinds.get('SalesOutcome', 0)} outcomes, "
               f"{demo.malformed} malformed, seed {seed}")
    if demo.companies:
        summary += (f", {len(demo.companies)} companies with buying groups "
                    f"({sum(len(c.contacts) for c in demo.companies)} contacts)")
    if export_dir is not None:
        ev, so = export(demo, export_dir)
        typer.echo(f"wrote {ev} and {so}: {summary}")
        return
    _publish(settings, demo, rate, quiet)
    typer.echo(f"published {summary}")
    typer.echo(f"example lead: {_example(demo)}")


def _example(demo: Demo) -> str:
    for r in demo.records:
        if r.kind == "SalesOutcome" and r.record is not None and r.record["type"] == "WON":
            return str(r.record["lead_id"])
    for r in demo.records:
        if r.kind == "SalesOutcome" and r.record is not None:
            return str(r.record["lead_id"])
    return demo.lead_ids[0] if demo.lead_ids else ""


def _publish(settings: Settings, demo: Demo, rate: float, quiet: bool) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from streams import clients
    from streams.admin import unreachable
    from streams.codecs import SchemaRegistryError

    codecs = clients.codecs(settings)  # Confluent wire format when a registry is set
    try:
        producer = KafkaProducer(**clients.kafka_python_config(settings, "demo"), acks="all",
                                 linger_ms=20, request_timeout_ms=15000)
    except KafkaError:
        typer.echo(f"leadflow: {unreachable(settings)} (start one: make kafka-start)",
                   err=True)
        raise typer.Exit(1) from None
    topics = {"events": settings.topic("events"), "outcomes": settings.topic("outcomes")}
    total = len(demo.records)
    started = time.monotonic()
    try:
        with Progress(TextColumn("demo"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]:>8.0f} rec/s"), disable=quiet,
                      transient=False) as progress:
            task = progress.add_task("publish", total=total, rate=0.0)
            for i, rec in enumerate(demo.records, 1):
                # An unkeyed record (the malformed one without a lead id) goes to
                # partition 0, not a random one: the same seed gives the same records at
                # the same offsets, so the same outputs (dead letters name the offset).
                producer.send(topics[rec.logical], key=rec.key, value=rec.value(codecs),
                              partition=0 if rec.key is None else None)
                if rate > 0:
                    ahead = i / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
                if i % 200 == 0 or i == total:
                    elapsed = max(time.monotonic() - started, 1e-6)
                    progress.update(task, completed=i, rate=i / elapsed)
        producer.flush(timeout=60)
    except KafkaError as err:
        typer.echo(f"leadflow: publishing failed: {err}", err=True)
        raise typer.Exit(1) from None
    except SchemaRegistryError as err:
        typer.echo(f"leadflow: publishing failed: {err}", err=True)
        raise typer.Exit(1) from None
    finally:
        producer.close(timeout=10)

