"""``leadflow topics create``: make every topic of the contract."""

from __future__ import annotations

import typer

from streams.settings import Settings

app = typer.Typer(help="Manage leadflow's Kafka topics.", no_args_is_help=True)


@app.command("create")
def create(
    partitions: int = typer.Option(None, min=1, max=1024, help="Partitions per topic "
                                   "(default: LEADFLOW_PARTITIONS)."),
    replication: int = typer.Option(None, min=1, max=16, help="Replication factor "
                                    "(default: LEADFLOW_REPLICATION)."),
) -> None:
    """Create every leadflow topic that does not exist yet (idempotent)."""
    import dataclasses

    from streams.admin import create_topics

    settings = Settings.from_env()
    if partitions is not None:
        settings = dataclasses.replace(settings, partitions=partitions)
    if replication is not None:
        settings = dataclasses.replace(settings, replication=replication)
    for name, what in create_topics(settings).items():
        typer.echo(f"{what:8} {name}")
