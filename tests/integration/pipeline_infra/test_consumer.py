"""TrackedConsumer on the real broker: commit only what is confirmed, resume, rebalance, lag, transactions."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.pipeline_infra.conftest import read_all, unique
from toolkit.kafka import ConsumedMessage, DeliveryProducer, TrackedConsumer, idempotent_producer
from toolkit.pipeline.delivery import DeliveryTracker


def fill(bootstrap: str, topic: str, per_partition: int, partitions: int) -> None:
    p = idempotent_producer(bootstrap)
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, value=f"p{part}-{i}".encode(), partition=part)
    assert p.flush(20) == 0


def drain(consumer: TrackedConsumer, want: int, timeout_s: float = 30.0) -> list[ConsumedMessage]:
    got: list[ConsumedMessage] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got += consumer.consume(want - len(got), 0.5)
    return got


def test_only_confirmed_offsets_are_committed_and_a_restart_resumes_there(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    source, output = new_topic("cin", partitions=2), new_topic("cout", partitions=2)
    fill(kafka_bootstrap, source, per_partition=10, partitions=2)
    group = unique("group")
    tracker = DeliveryTracker()
    producer = DeliveryProducer(kafka_bootstrap, tracker=tracker)
    consumer = TrackedConsumer(kafka_bootstrap, group, [source], tracker=tracker)
    messages = drain(consumer, 20)
    assert len(messages) == 20
    for m in messages:
        tracker.track(m.partition_key, m.offset, outputs=1)
    # Produce the outputs of every record of partition 1 but only the first six of partition 0, in reverse.
    for m in reversed(messages):
        if m.partition == 1 or m.offset < 6:
            producer.produce(output, m.value or b"", key=m.key, record=(m.partition_key, m.offset))
    assert producer.flush(20) == 0
    committed = consumer.commit()
    assert committed == {f"{source}/0": 6, f"{source}/1": 10}
    assert consumer.commit() == {}  # nothing new
    lag = {(lg.topic, lg.partition): lg for lg in consumer.lag()}
    assert lag[(source, 0)].lag == 4 and lag[(source, 0)].high == 10 and lag[(source, 1)].lag == 0
    consumer.close()  # the four unconfirmed records of partition 0 are not committed on close either

    again = TrackedConsumer(kafka_bootstrap, group, [source], tracker=DeliveryTracker())
    resumed = drain(again, 4)
    assert sorted((m.partition, m.offset) for m in resumed) == [(0, 6), (0, 7), (0, 8), (0, 9)]
    assert again.consume(10, 1.0) == []
    again.close()


def test_revoked_partitions_get_their_confirmed_offsets_committed_first(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    source = new_topic("rebalance", partitions=2)
    fill(kafka_bootstrap, source, per_partition=5, partitions=2)
    group = unique("group")
    tracker_a = DeliveryTracker()
    flushed: list[list[str]] = []
    a = TrackedConsumer(kafka_bootstrap, group, [source], tracker=tracker_a,
                        before_revoke=lambda keys: flushed.append(keys))
    for m in drain(a, 10):
        tracker_a.track(m.partition_key, m.offset, outputs=1)
        if m.offset < 3:
            tracker_a.delivered(m.partition_key, m.offset)
    # B joins: A's revoke callback (served inside A's poll) commits offsets 3 and 3 before handing over.
    b = TrackedConsumer(kafka_bootstrap, group, [source], tracker=DeliveryTracker())
    b_got: list[ConsumedMessage] = []
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and not (a.assignment() and b.assignment() and len(b_got) >= 2):
        a.poll(0.2)
        b_got += b.consume(10, 0.2)
    assert flushed and sorted(flushed[0]) == [f"{source}/0", f"{source}/1"]
    assert len(a.assignment()) == 1 and len(b.assignment()) == 1
    # B resumes its partition at the offset A committed on revoke: records 3 and 4.
    assert sorted(m.offset for m in b_got) == [3, 4]
    assert tracker_a.in_flight == 0  # revoked partitions (both, eager protocol) were dropped from the tracker
    a.close()
    b.close()


def test_exactly_once_transaction_commits_outputs_with_offsets_and_abort_rewinds(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    source, output = new_topic("txin"), new_topic("txout")
    fill(kafka_bootstrap, source, per_partition=10, partitions=1)
    group = unique("txgroup")
    consumer = TrackedConsumer(kafka_bootstrap, group, [source], commit_on_revoke=False)
    producer = DeliveryProducer(kafka_bootstrap, transactional_id=unique("sptk-tx"))

    producer.begin_transaction()
    first = drain(consumer, 10)
    for m in first:
        producer.produce(output, b"out-" + (m.value or b""))
    producer.commit_transaction(consumer.positions(), consumer.group_metadata())
    assert consumer.committed() == {f"{source}/0": 10}
    assert len(read_all(kafka_bootstrap, output, read_committed=True)) == 10

    fill(kafka_bootstrap, source, per_partition=3, partitions=1)
    producer.begin_transaction()
    second = drain(consumer, 3)
    assert [m.offset for m in second] == [10, 11, 12]
    for m in second:
        producer.produce(output, b"out-" + (m.value or b""))
    producer.flush(10)
    producer.abort_transaction()
    assert len(read_all(kafka_bootstrap, output, read_committed=True)) == 10  # aborted writes are invisible
    assert consumer.committed() == {f"{source}/0": 10}
    consumer.rewind_to_committed()
    assert [m.offset for m in drain(consumer, 3)] == [10, 11, 12]  # the same records, read again
    consumer.close()
