"""Checks before the worker starts: what would otherwise fail later, or silently."""

from __future__ import annotations

from streams.admin import AdminError, create_topics, partition_counts
from streams.settings import Settings


class PreflightError(AdminError):
    """The worker must not start; the message says why in one line."""


def preflight(settings: Settings) -> None:
    if settings.auto_create_topics:
        create_topics(settings)
    names = [settings.topic(n) for n in settings.topics.all()]
    counts = partition_counts(settings, names)
    missing = [n for n, c in counts.items() if c is None]
    if missing:
        raise PreflightError(
            f"missing topics: {', '.join(missing)} (run `leadflow topics create`)"
        )
    events, outcomes = counts[settings.topic("events")], counts[settings.topic("outcomes")]
    if events != outcomes:
        raise PreflightError(
            f"{settings.topic('events')} has {events} partitions but "
            f"{settings.topic('outcomes')} has {outcomes}: lead events and sales outcomes "
            "must be co-partitioned (same count) so one worker owns each lead"
        )
