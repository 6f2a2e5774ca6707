"""A real round trip through the broker: the delivery defaults work end to end."""

from __future__ import annotations

import uuid

from confluent_kafka import TopicPartition

from toolkit.kafka import consumer, create_topics, idempotent_producer


def test_idempotent_produce_then_consume_returns_exact_messages_keys_and_headers(kafka_bootstrap: str) -> None:
    topic = f"test.roundtrip.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [topic], partitions=3)
    sent = [
        (f"user-{i % 4}".encode(), f"event {i}\twith\ttabs".encode(),
         [("sp.event_id", str(uuid.UUID(int=i)).encode()), ("sp.source", f"test:{i}".encode())])
        for i in range(50)
    ]
    producer = idempotent_producer(kafka_bootstrap)
    delivered: list[tuple[int, int]] = []
    errors: list[object] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    for key, value, headers in sent:
        producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert errors == []
    assert len(delivered) == len(sent)
    assert producer.list_topics(topic, timeout=10).topics[topic].partitions.keys() == {0, 1, 2}

    c = consumer(kafka_bootstrap, group_id=f"test-{uuid.uuid4().hex[:8]}")
    c.assign([TopicPartition(topic, p, 0) for p in range(3)])
    received = []
    for _ in range(200):
        msg = c.poll(1.0)
        if msg is None:
            if len(received) == len(sent):
                break
            continue
        assert msg.error() is None, msg.error()
        received.append((msg.key(), msg.value(), msg.headers(), msg.partition()))
    c.close()

    assert sorted((k, v, h) for k, v, h, _ in received) == sorted(sent)
    # One key always lands in one partition, so one user's events keep their order.
    partitions_by_key: dict[bytes, set[int]] = {}
    for key, _, _, partition in received:
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_by_key.values())
    for key in partitions_by_key:
        in_order = [v for k, v, _, _ in received if k == key]
        assert in_order == [v for k, v, _ in sent if k == key]
