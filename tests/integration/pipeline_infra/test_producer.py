"""DeliveryProducer on the real broker: delivery reports feed the tracker, backpressure, size checks, retries."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.integration.pipeline_infra.conftest import read_all
from toolkit.kafka import (
    DeliveryFailed,
    DeliveryProducer,
    DeliveryReport,
    KafkaConfigError,
    MessageHeaders,
    MessageTooLarge,
    ProducerQueueFull,
    TopicMissing,
    create_topics,
    message_size,
)
from toolkit.pipeline.delivery import DeliveryTracker


def headers_for(i: int) -> MessageHeaders:
    return MessageHeaders(source=f"events.tsv:{i + 1}", pipeline="sptk/test config/0123456789abcdef",
                          trace_id=f"{i:032x}", event_id=f"00000000-0000-4000-8000-{i:012d}",
                          schema="iglu:com.acme/click/jsonschema/1-0-0", collector_tstamp="2024-05-01 10:00:00.000")


def test_delivery_reports_confirm_records_and_headers_round_trip(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    enriched, derived = new_topic("enriched", partitions=3), new_topic("derived", partitions=2)
    tracker = DeliveryTracker()
    reports: list[DeliveryReport] = []
    producer = DeliveryProducer(kafka_bootstrap, tracker=tracker, on_report=reports.append)
    for i in range(30):
        tracker.track("events.tsv", i * 100, outputs=2)
        h = headers_for(i).to_kafka()
        producer.produce(enriched, f"enriched {i}".encode(), key=f"user-{i % 5}".encode(), headers=h,
                         record=("events.tsv", i * 100))
        producer.produce(derived, f"derived {i}".encode(), key=f"user-{i % 5}".encode(), headers=h,
                         record=("events.tsv", i * 100))
    assert tracker.committable() == {} or tracker.committable()["events.tsv"] < 2900
    assert producer.flush(30) == 0
    assert tracker.committable() == {"events.tsv": 2900}
    assert tracker.in_flight == 0
    assert len(reports) == 60 and all(r.error is None and r.offset >= 0 for r in reports)
    assert all(r.latency_s is not None and r.latency_s >= 0 for r in reports)

    received = read_all(kafka_bootstrap, enriched, expect=30)
    assert sorted(v for _, _, _, v, _ in received) == sorted(f"enriched {i}".encode() for i in range(30))
    by_value = {v: MessageHeaders.from_kafka(h) for _, _, _, v, h in received}
    assert by_value[b"enriched 7"] == headers_for(7)


def test_a_full_queue_is_backpressure_not_loss(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic("backpressure", partitions=2)
    tracker = DeliveryTracker(max_in_flight=1000)
    producer = DeliveryProducer(kafka_bootstrap, {"queue.buffering.max.messages": 5, "linger.ms": 20},
                                tracker=tracker)
    for i in range(400):
        tracker.track("stdin", i, outputs=1)
        producer.produce(topic, f"m{i}".encode(), key=str(i % 7).encode(), record=("stdin", i))
        # Memory stays bounded: at most 5 queued messages plus their not-yet-served delivery reports.
        assert producer.queue_depth <= 10
    assert producer.backpressure_waits > 0, "the tiny queue should have filled at least once"
    assert producer.flush(30) == 0
    assert tracker.committable() == {"stdin": 399}
    values = [v for _, _, _, v, _ in read_all(kafka_bootstrap, topic, expect=400)]
    assert sorted(values) == sorted(f"m{i}".encode() for i in range(400))


def test_a_queue_that_never_drains_fails_clearly_after_the_timeout() -> None:
    # Nothing listens on port 1 of the loopback address: the broker is "down", so the queue never empties.
    producer = DeliveryProducer("127.0.0.1:1", {"queue.buffering.max.messages": 2, "log_level": 0},
                                enqueue_timeout_s=0.5, topic_limits={"t": 1_000_000})
    producer.produce("t", b"a")
    producer.produce("t", b"b")
    with pytest.raises(ProducerQueueFull, match="stayed full"):
        producer.produce("t", b"c")
    assert producer.queue_depth == 2


def test_oversized_messages_are_refused_before_anything_is_sent(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    limit = 4096
    topic = new_topic("size", config={"max.message.bytes": str(limit)})
    tracker = DeliveryTracker()
    producer = DeliveryProducer(kafka_bootstrap, tracker=tracker)
    assert producer.limit_for(topic) == limit
    headers = headers_for(1).to_kafka()

    with pytest.raises(MessageTooLarge) as info:
        producer.produce(topic, b"x" * limit, key=b"k", headers=headers)
    assert info.value.limit == limit and info.value.size > limit and topic in str(info.value)

    # The largest value the estimate lets through must really be accepted by the broker (incompressible
    # bytes, so lz4 cannot hide an underestimate).
    value_len = limit
    while message_size(os.urandom(value_len), b"k", headers, compressed=True) > limit:
        value_len -= 1
    tracker.track("src", 1, outputs=1)
    producer.produce(topic, os.urandom(value_len), key=b"k", headers=headers, record=("src", 1))
    assert producer.flush(30) == 0
    assert tracker.committable() == {"src": 1}
    assert len(read_all(kafka_bootstrap, topic, expect=1)) == 1


def test_the_client_message_limit_also_counts(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic("client-limit")
    producer = DeliveryProducer(kafka_bootstrap, {"message.max.bytes": 2000})
    assert producer.limit_for(topic) == 2000
    with pytest.raises(MessageTooLarge):
        producer.produce(topic, b"y" * 2500)


def test_a_missing_topic_is_named_with_the_fix(kafka_bootstrap: str) -> None:
    producer = DeliveryProducer(kafka_bootstrap)
    with pytest.raises(TopicMissing, match="sptk topics apply"):
        producer.produce("test.does-not-exist.infra", b"x")


def test_unknown_librdkafka_settings_are_reported(kafka_bootstrap: str) -> None:
    with pytest.raises(KafkaConfigError, match="linger.mss"):
        DeliveryProducer(kafka_bootstrap, {"linger.mss": 5})


def flush_until(producer: DeliveryProducer, done: Callable[[], bool], step_s: float, steps: int = 100) -> None:
    for _ in range(steps):
        producer.flush(step_s)
        if done():
            return


def test_a_failed_delivery_is_retried_and_the_record_is_not_acked_until_it_succeeds(
        kafka_bootstrap: str) -> None:
    import uuid

    topic = f"test.late.{uuid.uuid4().hex[:10]}"  # does not exist yet; the broker does not auto-create
    tracker = DeliveryTracker()
    producer = DeliveryProducer(kafka_bootstrap, {"message.timeout.ms": 1000}, tracker=tracker, max_attempts=5,
                                topic_limits={topic: 1_000_000})
    tracker.track("src", 10, outputs=1)
    producer.produce(topic, b"late", record=("src", 10))
    flush_until(producer, lambda: producer.failed_count > 0, 0.25)  # times out: no such topic yet
    assert producer.failed_count >= 1
    assert tracker.committable() == {}
    assert tracker.in_flight == 1
    create_topics(kafka_bootstrap, [topic])
    flush_until(producer, lambda: bool(tracker.committable()), 1.0)  # re-sent, now confirmed
    assert tracker.committable() == {"src": 10}
    assert [v for _, _, _, v, _ in read_all(kafka_bootstrap, topic, expect=1)] == [b"late"]


def test_giving_up_after_max_attempts_stops_without_acking() -> None:
    tracker = DeliveryTracker()
    producer = DeliveryProducer("127.0.0.1:1", {"message.timeout.ms": 300, "log_level": 0}, tracker=tracker,
                                max_attempts=2, topic_limits={"t": 1_000_000})
    tracker.track("src", 1, outputs=1)
    producer.produce("t", b"never", record=("src", 1))
    with pytest.raises(DeliveryFailed, match="failed 2 times"):
        for _ in range(20):
            producer.flush(1)
    assert tracker.committable() == {}
    assert tracker.in_flight == 1


def test_a_record_whose_one_message_fails_re_sends_that_message_exactly_and_acks_after(kafka_bootstrap: str) -> None:
    """produce_record shares one callback per record; a failed report lacks headers, so they must come from it."""
    import uuid

    from toolkit.pipeline.outcomes import Output

    present, late = f"test.present.{uuid.uuid4().hex[:10]}", f"test.late.{uuid.uuid4().hex[:10]}"
    create_topics(kafka_bootstrap, [present])
    tracker = DeliveryTracker()
    producer = DeliveryProducer(kafka_bootstrap, {"message.timeout.ms": 1000}, tracker=tracker, max_attempts=5,
                                topic_limits={present: 1_000_000, late: 1_000_000})
    headers = [("sp.event_id", b"e-1"), ("sp.source", b"file:x:1")]
    messages = [Output("raw", present, b"user-1", b"raw bytes", headers),
                Output("enriched", late, b"user-1", b'{"event_id":"e-1"}', headers)]
    tracker.track("src", 7, outputs=2)
    producer.produce_record(messages, ("src", 7))
    flush_until(producer, lambda: producer.failed_count > 0, 0.25)  # times out: no such topic yet
    assert producer.failed_count >= 1 and producer.delivered_by_topic == {present: 1}
    assert tracker.committable() == {}
    create_topics(kafka_bootstrap, [late])
    flush_until(producer, lambda: bool(tracker.committable()), 1.0)  # re-sent, now confirmed
    assert tracker.committable() == {"src": 7}
    [(_, _, key, value, got)] = read_all(kafka_bootstrap, late, expect=1)
    assert (key, value, got) == (b"user-1", b'{"event_id":"e-1"}', headers)
    assert [v for _, _, _, v, _ in read_all(kafka_bootstrap, present, expect=1)] == [b"raw bytes"]
