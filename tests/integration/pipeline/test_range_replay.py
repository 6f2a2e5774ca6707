"""`sptk pipeline run --from-time/--to-time/--from-offset/--to-offset`: a bounded replay of a real topic."""

from __future__ import annotations

import json
from pathlib import Path

from confluent_kafka import TopicPartition

from tests.integration.pipeline.conftest import base_config, read_topic, sptk, write_config
from tests.integration.pipeline_infra.conftest import unique
from toolkit.contract.samples import SampleSpec, generate
from toolkit.kafka import create_topics
from toolkit.kafka.client import consumer, idempotent_producer

BASE_MS = 1_714_521_600_000  # 2024-05-01T00:00:00Z; record i is stamped BASE + i seconds


def fill(bootstrap: str, topic: str, events: int) -> list[bytes]:
    """``events`` sample lines over two partitions (even lines on 0, odd on 1), each with its own timestamp."""
    create_topics(bootstrap, [topic], partitions=2)
    lines = [line.encode() for line in generate(SampleSpec(events=events, seed=7))]
    producer = idempotent_producer(bootstrap)
    for i, line in enumerate(lines):
        producer.produce(topic, line, partition=i % 2, timestamp=BASE_MS + i * 1000)
    assert producer.flush(30) == 0
    return lines


def replay(tmp_path: Path, bootstrap: str, prefix: str, topic: str, group: str, *args: str) -> tuple[int, dict, str]:
    cfg = base_config(prefix, bootstrap, source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": group}},
                      delivery={"transactional": True, "transactional_id": unique("range")})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    done = sptk("pipeline", "run", "--config", str(config), "--create-topics", "--no-serve", *args)
    summary = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    return done.returncode, summary, done.stderr


def committed(bootstrap: str, group: str, topic: str) -> list[int]:
    c = consumer(bootstrap, group)
    try:
        return [tp.offset for tp in c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)]
    finally:
        c.close()


def test_a_time_range_replays_exactly_the_records_stamped_inside_it_and_moves_no_group(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    topic = f"{prefix}.input"
    lines = fill(kafka_bootstrap, topic, 300)
    group = unique("live")
    code, summary, err = replay(tmp_path, kafka_bootstrap, prefix, topic, group,
                                "--from-time", "2024-05-01T00:01:40Z", "--to-time", "2024-05-01T00:03:20Z")
    assert code == 0, err[-3000:]
    raw = read_topic(kafka_bootstrap, f"{prefix}.raw", expect=100)
    assert sorted(m.value for m in raw) == sorted(lines[100:200])  # seconds 100..199, nothing either side
    assert summary["in"] == 100
    replayed = {r["partition"]: r for r in summary["replayed"]}
    assert replayed[f"{topic}/0"] == {"partition": f"{topic}/0", "from_offset": 50, "to_offset": 99, "records": 50,
                                      "complete": True, "first_timestamp": "2024-05-01T00:01:40.000Z",
                                      "last_timestamp": "2024-05-01T00:03:18.000Z"}
    assert replayed[f"{topic}/1"]["records"] == 50 and replayed[f"{topic}/1"]["to_offset"] == 99
    assert committed(kafka_bootstrap, group, topic) == [-1001, -1001]  # the config's group: nothing committed


def test_offset_bounds_per_partition_and_the_end_fixed_at_start(tmp_path: Path, kafka_bootstrap: str,
                                                                 prefix: str) -> None:
    topic = f"{prefix}.input"
    lines = fill(kafka_bootstrap, topic, 40)
    code, summary, err = replay(tmp_path, kafka_bootstrap, prefix, topic, unique("live"),
                                "--from-offset", "0:5", "--to-offset", "0:9", "--from-offset", f"{topic}/1:15")
    assert code == 0, err[-3000:]
    expected = [lines[2 * o] for o in range(5, 10)] + [lines[2 * o + 1] for o in range(15, 20)]
    raw = read_topic(kafka_bootstrap, f"{prefix}.raw", expect=len(expected))
    assert sorted(m.value for m in raw) == sorted(expected)
    assert [(r["from_offset"], r["to_offset"], r["records"]) for r in summary["replayed"]] == [(5, 9, 5), (15, 19, 5)]


def test_a_range_on_a_source_that_is_not_kafka_or_a_partition_that_does_not_exist_is_refused(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    (tmp_path / "in.tsv").write_text("\n".join(generate(SampleSpec(events=3))) + "\n")
    cfg = base_config(prefix, kafka_bootstrap, source={"kind": "file", "file": {"paths": [str(tmp_path / "in.tsv")]}})
    done = sptk("pipeline", "run", "--config", str(write_config(tmp_path / "p.yaml", cfg)), "--from-time",
                "2024-05-01")
    assert done.returncode == 2 and "source here is 'file'" in done.stderr and "Traceback" not in done.stderr
    topic = f"{prefix}.input"
    fill(kafka_bootstrap, topic, 4)
    code, _, err = replay(tmp_path, kafka_bootstrap, prefix, topic, unique("live"), "--from-offset", "7:0")
    assert code == 2 and f"no such partition: {topic}/7" in err and "Traceback" not in err
