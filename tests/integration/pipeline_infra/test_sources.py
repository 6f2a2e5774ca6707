"""File, directory, gzip and Kafka sources relayed to the real broker: nothing lost, acked work not redone."""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from connectors.sources import DirSource, FileSource
from connectors.sources.kafka import KafkaSource
from tests.integration.pipeline_infra.conftest import read_all, unique
from tests.integration.pipeline_infra.relay import Relay
from toolkit.kafka import DeliveryProducer, idempotent_producer
from toolkit.pipeline.delivery import DeliveryTracker


def write_archive(root: Path, files: int, lines_per_file: int) -> list[bytes]:
    expected = []
    for f in range(files):
        lines = [f"f{f}\tline {i}\tcaf\xe9".encode("latin-1") for i in range(lines_per_file)]  # not UTF-8
        data = b"".join(line + b"\n" for line in lines)
        path = root / f"run={f // 2}" / (f"part-{f:05d}.gz" if f % 2 else f"part-{f:05d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if f % 2 else data)
        expected += lines
    return expected


def test_a_backfill_that_crashes_resumes_without_losing_or_redoing_acked_lines(
        tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    root, checkpoint = tmp_path / "archive", tmp_path / "checkpoint.json"
    expected = write_archive(root, files=6, lines_per_file=50)
    topic = new_topic("backfill", partitions=3)

    # Run 1 reads 170 lines and "crashes": no close(), only what the interval wrote to the checkpoint survives.
    tracker = DeliveryTracker()
    source = DirSource(root, checkpoint=checkpoint, progress="never", checkpoint_interval_s=0)
    relay = Relay(source, DeliveryProducer(kafka_bootstrap, tracker=tracker), tracker, topic, batch=40,
                  stop_after=170)
    relay.run(threading.Event())
    assert relay.producer.flush(20) == 0
    relay.ack()  # acks write the checkpoint immediately (interval 0)
    first_run = read_all(kafka_bootstrap, topic, expect=170)
    assert len(first_run) == 170

    # Run 2 starts from the checkpoint and finishes.
    tracker2 = DeliveryTracker()
    source2 = DirSource(root, checkpoint=checkpoint, progress="never")
    relay2 = Relay(source2, DeliveryProducer(kafka_bootstrap, tracker=tracker2), tracker2, topic, batch=64)
    relay2.run(threading.Event())
    assert relay2.drain(20) is True
    assert source2.pending_files() == []

    values = [v for _, _, _, v, _ in read_all(kafka_bootstrap, topic, expect=len(expected))]
    assert Counter(values) == Counter(expected)  # every line exactly once: acked lines were not re-sent


def test_file_source_relay_keeps_bytes_and_keys(tmp_path: Path, kafka_bootstrap: str,
                                                new_topic: Callable[..., str]) -> None:
    plain, packed = tmp_path / "a.tsv", tmp_path / "b.tsv.gz"
    plain.write_bytes(b"one\t\xff\xfe\n\ntwo\r\n")
    packed.write_bytes(gzip.compress(b"three\nfour"))
    topic = new_topic("files")
    tracker = DeliveryTracker()
    source = FileSource([plain, packed])
    relay = Relay(source, DeliveryProducer(kafka_bootstrap, tracker=tracker), tracker, topic)
    relay.run(threading.Event())
    assert relay.drain(20) is True
    got = read_all(kafka_bootstrap, topic, expect=5)
    assert [v for *_, v, _ in got] == [b"one\t\xff\xfe", b"", b"two\r", b"three", b"four"]
    assert {k for _, _, k, _, _ in got} == {str(plain).encode(), str(packed).encode()}
    assert source.acked[str(packed)].line == 2


def test_kafka_source_commits_acked_offsets_and_a_new_member_resumes(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    source_topic, out = new_topic("ksrc", partitions=2), new_topic("kout", partitions=2)
    p = idempotent_producer(kafka_bootstrap)
    for i in range(40):
        p.produce(source_topic, value=f"event {i}".encode(), key=str(i % 4).encode(),
                  headers=[("sp.trace_id", f"{i:032x}".encode())])
    assert p.flush(20) == 0
    group = unique("ksrc")
    tracker = DeliveryTracker()
    producer = DeliveryProducer(kafka_bootstrap, tracker=tracker)
    source = KafkaSource(kafka_bootstrap, [source_topic], group, tracker=tracker, commit_interval_s=0,
                         before_revoke=lambda keys: producer.flush(10))
    relay = Relay(source, producer, tracker, out, batch=10, stop_after=25)
    relay.run(threading.Event())
    assert relay.producer.flush(20) == 0
    relay.ack()
    assert sum(source.consumer.committed().values()) == 25
    source.close()
    traces = {v: h for *_, v, h in read_all(kafka_bootstrap, out, expect=25)}
    assert len(traces) == 25

    tracker2 = DeliveryTracker()
    producer2 = DeliveryProducer(kafka_bootstrap, tracker=tracker2)
    source2 = KafkaSource(kafka_bootstrap, [source_topic], group, tracker=tracker2, commit_interval_s=0)
    relay2 = Relay(source2, producer2, tracker2, out, batch=10, stop_after=15)
    relay2.run(threading.Event())
    assert relay2.drain(20) is True
    values = Counter(v for *_, v, _ in read_all(kafka_bootstrap, out, expect=40))
    assert values == Counter(f"event {i}".encode() for i in range(40))
