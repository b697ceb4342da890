"""``leadflow backtest``: replay history through a policy offline; report and chart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from streams.errors import USAGE


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
) -> None:
    """Replay history offline through the same domain core as the worker (SLA clock in event
    time): hand-offs per day, conversion to won by score band, precision and recall of MQLs,
    SLA adherence; with --compare, what changes under another policy. Writes report.md and a
    PNG chart."""
    from streams.backtest import HistoryError, read_history
    from streams.backtest.gcpause import paused_gc
    from streams.backtest.parallel import default_workers
    from streams.backtest.parallel import run as run_replays
    from streams.backtest.report import chart, markdown
    from streams.cli.policy import load_or_exit

    # an invalid policy: every problem with file:line, exit 2 (as `policy check`)
    pa = load_or_exit(policy)
    pb = load_or_exit(compare) if compare is not None else None
    files = [events] + ([outcomes] if outcomes is not None else [])
    for f in files:
        if not f.is_file():
            typer.echo(f"leadflow: no such file: {f}", err=True)
            raise typer.Exit(USAGE)
    with paused_gc():
        t0 = time.perf_counter()
        try:
            hist = read_history(files, now_ms=int(time.time() * 1000))
        except HistoryError as err:
            typer.echo(f"leadflow: {err}", err=True)
            raise typer.Exit(USAGE) from None
        t_read = time.perf_counter() - t0
        if not hist.inputs:
            typer.echo(f"leadflow: no valid records in {', '.join(map(str, files))}", err=True)
            raise typer.Exit(USAGE)
        n = len(hist.inputs)
        res = run_replays(hist.inputs, [pa] if pb is None else [pa, pb],
                          default_workers(n) if workers is None else workers)
    fs = res.figures
    changes = res.changes
    how = (f"{n:,} records x {len(fs)} {'policies' if len(fs) > 1 else 'policy'} in "
           f"{res.seconds:.2f} s wall, {res.cpu_seconds:.2f} s CPU, {res.workers} "
           f"{'processes' if res.workers > 1 else 'process'}; domain core and report "
           "figures, reading excluded")
    out.mkdir(parents=True, exist_ok=True)
    png = out / "handoffs.png"
    chart(fs, png)
    inputs = {"files": ", ".join(f"`{f}`" for f in files), "events": hist.events,
              "outcomes": hist.outcomes, "invalid": hist.invalid, "replay": how}
    report = out / "report.md"
    report.write_text(markdown(fs, changes, inputs, png.name), encoding="utf-8")
    typer.echo(f"replayed {n} records ({hist.events} events, {hist.outcomes} outcomes, "
               f"{hist.invalid} invalid skipped) with policy {pa.version}")
    typer.echo(f"replay rate: {res.rate:,.0f} records/s ({how})")
    typer.echo(f"reading+validating: {n / max(t_read, 1e-9):,.0f} records/s ({t_read:.2f} s, "
               "one process)")
    for fig in fs:
        t = fig.kpi["totals"]
        pn, pd = fig.precision
        rn, rd = fig.recall
        typer.echo(f"[{fig.version}] hand-offs {t['handoffs']} {dict(t['handoffs_by_path'])}, "
                   f"precision {pn}/{pd}, recall {rn}/{rd}, SLA breaches {t['sla_breaches']}")
    if changes is not None:
        typer.echo(f"{len(changes)} leads change path between {pa.version} and {fs[1].version}")
    typer.echo(f"report: {report}  chart: {png}")
