"""Tombstones: a null-valued record under a key, which log compaction turns into "this key has no value".

Two things a deletion request needs from a compacted topic. :func:`write_tombstone` produces the
tombstone and waits for the broker to confirm it (acks=all, idempotent), returning where it landed.
:func:`value_since` says whether the key has been written again (with a value) after an earlier
tombstone, reading only that one partition from the tombstone to the end, so a repeated request
writes nothing when nothing new arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from toolkit.kafka.client import CONSUMER_DEFAULTS, PRODUCER_DEFAULTS, KafkaUnavailable, client_settings
from toolkit.kafka.producing import DeliveryFailed

#: the group id librdkafka requires of a consumer; it is assigned partitions directly and never commits
TOMBSTONE_CHECK_GROUP = "sptk-privacy-tombstone-check"


@dataclass(frozen=True, slots=True)
class Landed:
    topic: str
    partition: int
    offset: int


def write_tombstone(bootstrap: str, topic: str, key: bytes, settings: Mapping[str, Any] | None = None,
                    timeout_s: float = 30.0) -> Landed:
    """Produce ``key`` with a null value and wait for its delivery report; raise when it is not confirmed."""
    producer = Producer(client_settings(PRODUCER_DEFAULTS, bootstrap, settings))
    reports: list[tuple[Any, Any]] = []
    try:
        producer.produce(topic, value=None, key=key, on_delivery=lambda err, msg: reports.append((err, msg)))
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot queue a tombstone for {topic}: {exc.args[0]}") from exc
    producer.flush(timeout_s)
    if not reports:
        raise KafkaUnavailable(f"the tombstone for {topic} was not confirmed within {timeout_s:.0f}s: is the broker "
                               f"at {bootstrap} reachable?")
    err, msg = reports[0]
    if err is not None:
        raise DeliveryFailed(f"the broker refused the tombstone for {topic}: {err.str()}")
    return Landed(msg.topic(), msg.partition(), msg.offset())


def value_since(bootstrap: str, landed: Landed, key: bytes, settings: Mapping[str, Any] | None = None,
                timeout_s: float = 30.0) -> bool:
    """Whether ``key`` got a non-null value in ``landed``'s partition after ``landed.offset``."""
    conf = client_settings(CONSUMER_DEFAULTS, bootstrap, settings)
    conf["group.id"] = TOMBSTONE_CHECK_GROUP
    consumer = Consumer(conf)
    try:
        part = TopicPartition(landed.topic, landed.partition)
        try:
            _, high = consumer.get_watermark_offsets(part, timeout=timeout_s)
        except KafkaException as exc:
            raise KafkaUnavailable(f"cannot read the end of {landed.topic}/{landed.partition}: {exc.args[0]}") from exc
        position = landed.offset + 1
        if position >= high:
            return False
        consumer.assign([TopicPartition(landed.topic, landed.partition, position)])
        while position < high:
            msg = consumer.poll(timeout_s)
            if msg is None:
                raise KafkaUnavailable(f"{landed.topic}/{landed.partition} did not answer from offset {position} "
                                       f"within {timeout_s:.0f}s")
            if msg.error():
                raise KafkaUnavailable(f"reading {landed.topic}/{landed.partition}: {msg.error().str()}")
            position = msg.offset() + 1
            if msg.key() == key and msg.value() is not None:
                return True
        return False
    finally:
        consumer.close()
