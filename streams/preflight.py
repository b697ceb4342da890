"""Checks before the worker starts: what would otherwise fail later, or silently."""

from __future__ import annotations

from kafka.admin import NewTopic

from streams.admin import AdminError, _admin, create_topics, partition_counts
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
    _ensure_ticks_topic(settings, events or settings.partitions)


def ticks_topic_name(settings: Settings) -> str:
    return f"{settings.app_id}-sla-ticks"


def _ensure_ticks_topic(settings: Settings, partitions: int) -> None:
    """The worker's own SLA tick topic: co-partitioned with the inputs, created on demand
    like Faust's changelogs."""
    name = ticks_topic_name(settings)
    counts = partition_counts(settings, [name])
    if counts[name] is None:
        admin = _admin(settings)
        try:
            admin.create_topics([NewTopic(name, partitions, settings.replication,
                                          topic_configs={"retention.ms": str(86400000)})])
        except Exception as exc:  # created by a sibling worker in the meantime is fine
            if "TopicAlreadyExists" not in type(exc).__name__:
                raise PreflightError(f"cannot create {name}: {exc}") from None
        finally:
            admin.close()
    elif counts[name] != partitions:
        raise PreflightError(f"{name} has {counts[name]} partitions, the inputs {partitions}")
