"""``leadflow backtest``: replay history through a policy offline; report and charts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streams.errors import USAGE

if TYPE_CHECKING:
    from streams.backtest.accounts import AccountFigures
    from streams.backtest.history import History


def swapped(events: Path, outcomes: Path | None, hist: History) -> str | None:
    """One line when --events holds sales outcomes (or --outcomes lead events), else None."""
    ev = hist.kinds.get(events, {})
    if ev.get("LeadEvent", 0) == 0 and ev.get("SalesOutcome", 0) > 0:
        if outcomes is not None and hist.kinds.get(outcomes, {}).get("LeadEvent", 0):
            return (f"--events {events} holds sales outcomes and --outcomes {outcomes} "
                    "holds lead events: swapped? Pass the lead events with --events")
        return (f"--events {events} holds sales outcomes, no lead events: pass the lead "
                "events with --events and the outcomes with --outcomes")
    if outcomes is not None:
        oc = hist.kinds.get(outcomes, {})
        if oc.get("SalesOutcome", 0) == 0 and oc.get("LeadEvent", 0) > 0:
            return (f"--outcomes {outcomes} holds lead events, no sales outcomes: pass "
                    "them with --events")
    return None


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A progress bar on stderr (only on a terminal: piped output stays the report's)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=quiet or not console.is_terminal) as progress:
        yield progress


def _paths(counts: dict[str, int]) -> str:
    order = ("SCORE", "REFERRAL", "ESCALATION")
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return ", ".join(f"{k} {counts[k]}" for k in keys)


def run(
    policy: Annotated[Path, typer.Option("--policy", help="The policy to replay with (A).")],
    events: Annotated[Path, typer.Option("--events", help="Lead events: JSON Lines (as "
                                         "`leadflow tail` prints them) or an Avro container "
                                         "file.")],
    outcomes: Annotated[Path | None, typer.Option("--outcomes", help="Sales outcomes, same "
                                                  "formats.")] = None,
    compare: Annotated[Path | None, typer.Option("--compare", help="A second policy (B): "
                                                 "which leads change path, and why.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for report.md and "
                                      "handoffs.png.")] = Path("backtest-report"),
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes replaying shards of leads (same results for "
        "any number). Default: one per core, at most 2; 1 for small histories.")] = None,
    partitions: Annotated[int | None, typer.Option(
        "--partitions", min=1, max=1024, help="Partitions of the input topics: records go "
        "to them as the producer put them (murmur2 of the lead id) and each is replayed as "
        "the worker runs it. Default: LEADFLOW_PARTITIONS (4).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Replay history offline exactly as the worker does with LEADFLOW_SLA_CLOCK=event (per
    partition, inputs merged in event time, SLA deadlines on the partition's stream time):
    hand-offs per day, conversion to won by score band, precision and recall, SLA
    adherence; with --compare, A, B and the difference, counting recorded outcomes under B
    only where B hands the lead to the same queue or owner as A ("no evidence" otherwise),
    and which leads change and why. With a policy that has an `accounts` section, the
    account side too (qualified accounts by queue, with their buying groups). Writes
    report.md, report.html (charts embedded), PNG charts, with --compare
    changed_leads.csv, and with accounts qualified_accounts.csv."""
    from streams.backtest import HistoryError, read_history
    from streams.backtest.accounts import account_figures
    from streams.backtest.accounts import write_csv as write_accounts_csv
    from streams.backtest.charts import chart, compare_chart
    from streams.backtest.counterfactual import scorecard
    from streams.backtest.document import build, markdown, to_html, write_csv
    from streams.backtest.gcpause import paused_gc
    from streams.backtest.parallel import default_workers
    from streams.backtest.parallel import run as run_replays
    from streams.cli.policy import load_or_exit
    from streams.settings import Settings

    if partitions is None:
        partitions = Settings.from_env().partitions
    # an invalid policy: every problem with file:line, exit 2 (as `policy check`)
    pa = load_or_exit(policy)
    pb = load_or_exit(compare) if compare is not None else None
    files = [events] + ([outcomes] if outcomes is not None else [])
    for f in files:
        if not f.is_file():
            typer.echo(f"leadflow: no such file: {f}", err=True)
            raise typer.Exit(USAGE)
    policies = [pa] if pb is None else [pa, pb]
    with paused_gc(), _progress(quiet) as progress:
        t0 = time.perf_counter()
        reading = progress.add_task("reading and validating", total=None)
        now_ms = int(time.time() * 1000)
        try:
            hist = read_history(files, now_ms=now_ms,
                                progress=lambda k: progress.update(reading, completed=k))
        except HistoryError as err:
            progress.stop()
            typer.echo(f"leadflow: {err}", err=True)
            raise typer.Exit(USAGE) from None
        t_read = time.perf_counter() - t0
        n = len(hist.inputs)
        progress.update(reading, total=n + hist.invalid, completed=n + hist.invalid)
        mistake = swapped(events, outcomes, hist)
        if mistake is not None:
            progress.stop()
            typer.echo(f"leadflow: {mistake}", err=True)
            raise typer.Exit(USAGE)
        if not hist.inputs:
            progress.stop()
            typer.echo(f"leadflow: no valid records in {', '.join(map(str, files))}", err=True)
            raise typer.Exit(USAGE)
        # the replay reports no progress of its own: the bar fills when it is done
        replaying = progress.add_task(f"replaying x {len(policies)} "
                                      f"{'policies' if pb else 'policy'}", total=n)
        res = run_replays(hist.inputs, policies,
                          default_workers(n) if workers is None else workers, partitions)
        progress.update(replaying, completed=n)
        accounts: list[AccountFigures | None] = []
        for p in policies:  # the account side, for a policy with an accounts section
            if p.accounts is None:
                accounts.append(None)
                continue
            task = progress.add_task(f"replaying accounts ({p.version})", total=n)
            accounts.append(account_figures(hist.inputs, p, partitions, now_ms))
            progress.update(task, completed=n)
    fs = res.figures
    for fig, acc in zip(fs, accounts, strict=True):  # the SlaReport's account figures
        if acc is not None:
            fig.kpi["accounts"] = acc.sla.to_record()
    changes = res.changes
    cards = [scorecard(fs[0], f) for f in fs]
    how = (f"{n:,} records x {len(fs)} {'policies' if len(fs) > 1 else 'policy'} in "
           f"{res.seconds:.2f} s wall, {res.cpu_seconds:.2f} s CPU, {res.workers} "
           f"{'processes' if res.workers > 1 else 'process'}; domain core and report "
           "figures, reading excluded")
    out.mkdir(parents=True, exist_ok=True)
    png = out / "handoffs.png"
    chart(fs, png)
    charts = [(png.name, "Hand-offs per day (A by path, B as a line) and by score band")]
    if len(cards) > 1:
        cmp_png = out / "compare.png"
        compare_chart(cards, cmp_png)
        charts.append((cmp_png.name, "A and B: hand-offs, evidence, and conversion by band"))
    unknown = fs[0].unknown_outcomes
    inputs = {"files": ", ".join(f"`{f}`" for f in files), "events": hist.events,
              "outcomes": hist.outcomes, "invalid": hist.invalid, "unknown": unknown,
              "partitions": partitions}
    blocks = build(fs, cards, changes, inputs, charts, accounts)
    report = out / "report.md"
    report.write_text(markdown(blocks), encoding="utf-8")
    page = out / "report.html"
    page.write_text(to_html(blocks, {name: (out / name).read_bytes() for name, _ in charts}),
                    encoding="utf-8")
    written = [report.name, page.name]
    if changes is not None:
        write_csv(changes, fs[0], cards[1], out / "changed_leads.csv")
        written.append("changed_leads.csv")
    for i, acc in enumerate(accounts):
        if acc is not None:
            name = "qualified_accounts.csv" if i == 0 else "qualified_accounts_b.csv"
            write_accounts_csv(acc, out / name)
            written.append(name)
    typer.echo(f"replayed {n} records ({hist.events} events, {hist.outcomes} outcomes, "
               f"{hist.invalid} invalid skipped, {unknown} outcomes for unknown leads "
               f"skipped) on {partitions} partitions with policy {pa.version}")
    typer.echo(f"replay rate: {res.rate:,.0f} records/s ({how})")
    typer.echo(f"reading+validating: {n / max(t_read, 1e-9):,.0f} records/s ({t_read:.2f} s, "
               "one process)")
    for i, (fig, card) in enumerate(zip(fs, cards, strict=True)):
        t = fig.kpi["totals"]
        pn, pd = card.precision
        rn, rd = card.recall
        label = "AB"[i] + " " if len(fs) > 1 else ""
        extra = f", no evidence {card.no_evidence}" if i else ""
        typer.echo(f"[{label}{fig.version}] hand-offs {t['handoffs']} "
                   f"({_paths(t['handoffs_by_path'])}), precision {pn}/{pd}, recall {rn}/{rd}, "
                   f"won {len(card.won)}{extra}, SLA breaches {card.breaches}")
    for i, acc in enumerate(accounts):
        if acc is not None:
            label = "AB"[i] + " " if len(fs) > 1 else ""
            queues = ", ".join(f"{q} {k}" for q, k in acc.by_queue.most_common())
            typer.echo(f"[{label}{acc.version}] qualified accounts {len(acc.latest)}"
                       f"{f' ({queues})' if queues else ''}, {len(acc.records)} "
                       f"AccountQualified records, {acc.qualified_at_end} still qualified "
                       f"at the end (account replay {acc.seconds:.2f} s)")
    if changes is not None:
        typer.echo(f"{len(changes)} leads change hand-off between {pa.version} and "
                   f"{fs[1].version}")
    typer.echo(f"report: {out}/ ({', '.join(written)}; charts: "
               f"{', '.join(name for name, _ in charts)})")
