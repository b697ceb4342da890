"""``leadflow worker``: run the stream processor until SIGTERM/SIGINT.

Logging is leadflow's own (``LEADFLOW_LOG_FORMAT``/``LEADFLOW_LOG_LEVEL``): Faust's worker
is told not to set up logging, so it neither replaces the handler nor prints its banner
and terminal spinner into the log.
"""

from __future__ import annotations

import gc
from typing import Annotated

import typer

# Annotated, so that run() called directly (tests, embedding) gets a plain 1.
Processes = Annotated[int, typer.Option(
    "--processes", min=1, max=64,
    help="Worker processes of the same consumer group on this host (one per core), each "
         "with web port LEADFLOW_WEB_PORT+i and data folder LEADFLOW_DATA_DIR/worker-i; a "
         "process that fails (exit 70/75, killed) is restarted.")]


def run(processes: Processes = 1) -> None:
    """Start the worker: agents, tables, web server; stops cleanly on SIGTERM."""
    if processes > 1:
        _supervise(processes)
        return
    import logging

    from faust.worker import Worker

    from streams.app import create_app
    from streams.cli.policy import load_or_exit
    from streams.logs import (
        EVENT_POLICY_LOADED,
        EVENT_START,
        EVENT_STOP,
        configure_logging,
        log_event,
    )
    from streams.preflight import ensure_internal_topics, preflight
    from streams.settings import Settings, describe, shadowed_settings
    from streams.startup import check_web_port, ensure_data_dir

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    logging.captureWarnings(True)
    log = logging.getLogger("streams.worker")
    for name in settings.ignored_variables:
        log.debug("ignored %s: a Kubernetes service link, not a setting", name)
    for name in shadowed_settings(settings):
        log.warning("%s holds a Kubernetes service link (tcp://host:port), not a value: "
                    "ignored, the default applies (set enableServiceLinks: false)", name)
    log_event(log, EVENT_START, **describe(settings))
    # The user's own mistakes first: a bad policy is refused before Kafka is even asked.
    policy = load_or_exit(settings.policy_path)
    shadow = (None if settings.shadow_policy_path is None
              else load_or_exit(settings.shadow_policy_path))
    ensure_data_dir(settings)
    check_web_port(settings)
    preflight(settings)
    app = create_app(settings, policy=policy, shadow_policy=shadow)
    ensure_internal_topics(settings, app)
    log_event(log, EVENT_POLICY_LOADED, version=policy.version, source=str(policy.source))
    if shadow is not None:
        log_event(log, EVENT_POLICY_LOADED, version=shadow.version, source=str(shadow.source),
                  shadow=True)
    worker = Worker(app, loglevel=settings.log_level.lower(), quiet=True,
                    override_logging=False, redirect_stdouts=False)
    worker.spinner = None  # it writes terminal escapes to stdout even when not a tty
    tune_gc()
    try:
        worker.execute_from_commandline()
    finally:
        log_event(log, EVENT_STOP)


def _supervise(processes: int) -> None:
    import logging

    from streams.cli import supervisor
    from streams.logs import configure_logging
    from streams.settings import Settings

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    logging.captureWarnings(True)
    try:
        code = supervisor.run(settings, processes)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        code = 2
    raise typer.Exit(code)


GC_GEN0_THRESHOLD = 50_000  # allocations between young-generation collections (default 700)


def tune_gc() -> None:
    """The cyclic GC cost 15-20% of the worker's per-event CPU (bench/core.py --processor,
    GC on vs off): a batch allocates thousands of short-lived objects, nearly none in
    cycles, and the default threshold scanned them every 700 allocations. Everything
    loaded at start (policy, schemas, libraries) is frozen out of the scans; the young
    generation is collected every 50,000 allocations (reference counting still frees all
    the rest at once)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
