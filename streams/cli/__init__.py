"""The ``leadflow`` command. Each sub-command lives in its own module; this one wires them
and turns user mistakes into one clear line and an exit code (0 ok, 1 failure, 2 usage)."""

from __future__ import annotations

import sys

import typer

from streams.cli import account, backtest, demo, lead, policy, tail, topics, worker

app = typer.Typer(
    name="leadflow",
    help="Event-driven lead scoring, qualification and sales hand-off on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("worker", help="Run the stream processor (agents, tables, web server).")(worker.run)
app.add_typer(topics.app, name="topics")
app.command("demo")(demo.run)
app.command("tail")(tail.run)
app.command("lead")(lead.run)
app.command("account")(account.run)
app.add_typer(policy.app, name="policy")
app.command("backtest")(backtest.run)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"leadflow {version('leadflow')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("leadflow (not installed)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
) -> None:
    """Event-driven lead scoring, qualification and sales hand-off on Kafka."""

def main() -> None:
    from streams.errors import one_line_error

    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: never a traceback for a user
        message, code = one_line_error(exc)
        print(f"leadflow: {message}", file=sys.stderr)
        sys.exit(code)
