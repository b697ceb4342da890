"""The local broker is real Kafka: kafka-python round trip and topic creation."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer

from streams.admin import create_topics, partition_counts
from streams.settings import Settings


def test_produce_consume_round_trip(worker_env: dict[str, str]) -> None:
    settings = Settings.from_env(worker_env)
    create_topics(settings)
    topic = settings.topic("events")
    producer = KafkaProducer(bootstrap_servers=settings.broker_hosts)
    sent = [(f"lead-{i % 5}".encode(), f"payload-{i}".encode()) for i in range(200)]
    for key, value in sent:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.broker_hosts,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    got = []
    for message in consumer:
        got.append((message.key, message.value))
        if len(got) == len(sent):
            break
    consumer.close()
    assert sorted(got) == sorted(sent)


def test_topics_create_is_idempotent_and_co_partitioned(worker_env: dict[str, str]) -> None:
    settings = Settings.from_env(worker_env)
    first = create_topics(settings)
    second = create_topics(settings)
    assert set(first.values()) == {"created"}
    assert set(second.values()) == {"exists"}
    counts = partition_counts(settings, list(first))
    assert set(counts.values()) == {2}


def test_the_engine_asks_log_start_and_end_offsets_on_its_own_connection(
        worker_env: dict[str, str]) -> None:
    import asyncio

    from streams.clients import aiokafka_config
    from streams.engine.offsets import BrokerOffsets

    settings = Settings.from_env(worker_env)
    create_topics(settings)
    topic = settings.topic("events")
    producer = KafkaProducer(bootstrap_servers=settings.broker_hosts)
    for _ in range(3):
        producer.send(topic, value=b"x", partition=1)
    producer.flush()
    producer.close()

    async def ask() -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        offsets = BrokerOffsets(aiokafka_config(settings, "offsets"))
        try:
            tps = [(topic, 0), (topic, 1)]
            return await offsets.beginning_offsets(tps), await offsets.end_offsets(tps)
        finally:
            await offsets.close()

    starts, ends = asyncio.run(ask())
    assert starts == {(topic, 0): 0, (topic, 1): 0}
    assert ends == {(topic, 0): 0, (topic, 1): 3}
