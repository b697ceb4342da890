"""``leadflow worker``: run the stream processor until SIGTERM/SIGINT."""

from __future__ import annotations


def run() -> None:
    """Start the worker: agents, tables, web server; stops cleanly on SIGTERM."""
    from faust.worker import Worker

    from streams.app import create_app
    from streams.preflight import preflight
    from streams.settings import Settings

    settings = Settings.from_env()
    preflight(settings)
    app = create_app(settings)
    worker = Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()
