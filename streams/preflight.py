"""Checks before the worker starts: what would otherwise fail later, or silently."""

from __future__ import annotations

from typing import Any

from kafka.admin import NewTopic

from streams.admin import (
    AdminError,
    _admin,
    _wait_until_visible,
    create_topics,
    partition_counts,
)
from streams.settings import Settings


class PreflightError(AdminError):
    """The worker must not start; the message says why in one line."""


def preflight(settings: Settings) -> None:
    if settings.auto_create_topics:
        create_topics(settings)
    # leads.shadow-diffs is written only with a shadow policy, sales.qualified-accounts
    # only with a policy that has accounts: needed only then
    optional = {"shadow_diffs": settings.shadow_policy_path is not None,
                "qualified_accounts": _has_accounts(settings)}
    names = [settings.topic(n) for n in settings.topics.all() if optional.get(n, True)]
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


def _has_accounts(settings: Settings) -> bool:
    from streams.domain import PolicyError, load_policy

    try:
        return load_policy(settings.policy_path).accounts is not None
    except (PolicyError, OSError):  # the worker's own start says what is wrong with it
        return False


def internal_topics(app: Any) -> list[NewTopic]:
    """Every table's changelog, sized and configured as Faust would declare it, and the
    repartition topics (the account signals, with accounts)."""
    conf = app.conf
    runtime = getattr(app, "leadflow", None)
    out = [NewTopic(name, conf.topic_partitions, conf.topic_replication_factor)
           for name in (runtime.extras.get("internal_topics", ()) if runtime else ())]
    for table in app.tables.values():
        topic = table.changelog_topic
        config = {str(k): str(v) for k, v in (topic.config or {}).items()}
        cleanup = [flag for flag, on in (("compact", topic.compacting),
                                          ("delete", topic.deleting)) if on]
        if cleanup:
            config["cleanup.policy"] = ",".join(cleanup)
        if topic.retention:
            config["retention.ms"] = str(int(float(topic.retention) * 1000))
        out.append(NewTopic(topic.get_topic_name(), topic.partitions or conf.topic_partitions,
                            topic.replicas or conf.topic_replication_factor,
                            topic_configs=config))
    return out


def ensure_internal_topics(settings: Settings, app: Any) -> None:
    """Create the internal topics before the agents start, and wait until the broker lists
    them. Left to Faust, a fresh worker can subscribe before a changelog it just declared
    shows in the metadata ("Ignoring missing topic", then PartitionsMismatch: 0 partitions,
    exit 70)."""
    wanted = internal_topics(app)
    names = [t.name for t in wanted]
    counts = partition_counts(settings, names)
    missing = [t for t in wanted if counts[t.name] is None]
    if missing:
        admin = _admin(settings)
        try:
            for topic in missing:
                try:
                    admin.create_topics([topic])
                except Exception as exc:  # a sibling worker created it meanwhile: fine
                    if "TopicAlreadyExists" not in type(exc).__name__:
                        raise PreflightError(f"cannot create {topic.name}: {exc}") from None
        finally:
            admin.close()
        _wait_until_visible(settings, names)
        counts = partition_counts(settings, names)
    for topic in wanted:
        if counts[topic.name] != topic.num_partitions:
            raise PreflightError(
                f"{topic.name} has {counts[topic.name]} partitions, its table "
                f"{topic.num_partitions}: delete it or set LEADFLOW_PARTITIONS to match")
