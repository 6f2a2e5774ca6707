"""Fixtures for the pipeline-infrastructure integration tests: unique topics on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from toolkit.kafka import create_topics


@pytest.fixture
def new_topic(kafka_bootstrap: str) -> Callable[..., str]:
    """Create a uniquely named topic (so reruns and parallel engineers never collide) and return its name."""

    def make(prefix: str = "infra", partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = f"test.{prefix}.{uuid.uuid4().hex[:10]}"
        create_topics(kafka_bootstrap, [name], partitions=partitions, config=config)
        return name

    return make


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def read_all(bootstrap: str, topic: str, *, expect: int | None = None, timeout_s: float = 20.0,
             read_committed: bool = False) -> list[tuple[int, int, bytes | None, bytes | None, list]]:
    """Every message of ``topic`` as (partition, offset, key, value, headers), read with a throw-away group.

    Stops when ``expect`` messages arrived, or when the topic is idle at its end for a moment.
    """
    import time

    from confluent_kafka import TopicPartition

    from toolkit.kafka import consumer

    c = consumer(bootstrap, group_id=unique("reader"), overrides={
        "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        "enable.partition.eof": True})
    meta = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
    out: list[tuple[int, int, bytes | None, bytes | None, list]] = []
    eof: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        msg = c.poll(0.2)
        if msg is None:
            if expect is None and len(eof) == len(meta.partitions):
                break
            continue
        if msg.error():
            if msg.error().code() == -191:  # _PARTITION_EOF
                eof.add(msg.partition())
                if expect is None and len(eof) == len(meta.partitions):
                    break
            continue
        eof.discard(msg.partition())
        out.append((msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers() or []))
        if expect is not None and len(out) >= expect:
            break
    c.close()
    return out
