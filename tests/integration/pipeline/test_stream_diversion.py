"""A derived topic deleted mid-run is diverted (everything else keeps moving) and restored by replay-bad; a raw
topic that refuses messages still stops the run without committing past the failure."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from tests.integration.pipeline.conftest import (
    Message,
    base_config,
    fill_input_topic,
    free_port,
    metric,
    produce_lines,
    read_topic,
    sptk,
    start,
    wait_for,
    write_config,
)
from tests.integration.pipeline_infra.conftest import unique
from toolkit.kafka import consumer
from toolkit.kafka.admin import set_topic_configs

KEEP, LOSE = "derived.keep.v1", "derived.lose.v1"
#: librdkafka fails a message to a deleted topic after message.timeout.ms (default 300 s): kept short here
TIMEOUT_MS = 2000


def diverted_gauge(port: int) -> float:
    return metric(port, f'sptk_stream_diverted{{stream="{LOSE}"}}')


def settled(port: int, records: int) -> bool:
    return metric(port, "sptk_records_in_total") >= records and metric(port, "sptk_in_flight_records") == 0


def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic])[topic].result(30)
    wait_for(lambda: topic not in admin.list_topics(timeout=10).topics, 30, f"{topic} to disappear")


def ids(messages: list[Message]) -> list[str]:
    return [m.event_id for m in messages]


def test_a_deleted_derived_topic_is_diverted_restored_and_replayed(tmp_path: Path, kafka_bootstrap: str,
                                                                   prefix: str) -> None:
    topic = unique(f"{prefix}.in")
    later = 1800
    lines = fill_input_topic(kafka_bootstrap, topic, partitions=3, events=2400, seed=61, keys=40, held_back=later)
    total = len(lines)  # the samples add a few lines of their own
    first = total - later
    second = first + 600
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": unique("divert")}},
                      derived=[{"name": "keep", "version": 1, "owner": "a"},
                               {"name": "lose", "version": 1, "owner": "b"}],
                      kafka={"bootstrap_servers": kafka_bootstrap, "topic_prefix": prefix,
                             "producer": {"linger.ms": 5, "message.timeout.ms": TIMEOUT_MS}},
                      delivery={"commit_interval_s": 0.2, "drain_timeout_s": 30, "derived_failure_budget": 3,
                                "derived_failure_window_s": 60, "derived_probe_interval_s": 0.5},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    run = start("pipeline", "run", "--config", str(config), "--create-topics")
    try:
        wait_for(lambda: settled(port, first) or run.poll() is not None, 120, "the first records")
        before = read_topic(kafka_bootstrap, f"{prefix}.{LOSE}")  # deleting the topic deletes these with it
        assert before
        delete_topic(kafka_bootstrap, f"{prefix}.{LOSE}")

        produce_lines(kafka_bootstrap, topic, lines[first:second], keys=40, first=first)
        wait_for(lambda: (settled(port, second) and diverted_gauge(port) == 1) or run.poll() is not None, 120,
                 "the broken stream to be diverted and every record confirmed")
        assert run.poll() is None, "a failing derived topic must not stop the run"
        diverted_while_broken = metric(port, f'sptk_diverted_records_total{{stream="{LOSE}"}}')
        assert diverted_while_broken > 0

        assert sptk("topics", "apply", "--config", str(config)).returncode == 0  # what the runbook says to do
        sent = second
        while diverted_gauge(port) != 0 and sent < total - 400:  # a probe needs records: send a few at a time
            produce_lines(kafka_bootstrap, topic, lines[sent:sent + 10], keys=40, first=sent)
            sent += 10
            time.sleep(0.5)
        assert diverted_gauge(port) == 0, "the stream was not restored once its topic was back"
        diverted_total = metric(port, f'sptk_diverted_records_total{{stream="{LOSE}"}}')
        produce_lines(kafka_bootstrap, topic, lines[sent:], keys=40, first=sent)
        wait_for(lambda: settled(port, total) or run.poll() is not None, 120, "every record")
        assert metric(port, f'sptk_diverted_records_total{{stream="{LOSE}"}}') == diverted_total  # restored
    finally:
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=90)
    assert run.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    logs = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    changes = [(e.get("state"), e.get("stream")) for e in logs if e.get("state") in ("diverted", "restored")]
    assert changes[0] == ("diverted", LOSE) and changes[-1] == ("restored", LOSE)
    assert "replay-bad" in next(e["message"] for e in logs if e.get("state") == "diverted")

    # raw, enriched and the healthy stream received every record, once
    raw = read_topic(kafka_bootstrap, f"{prefix}.raw")
    assert sorted(m.value.decode() for m in raw) == sorted(lines)
    enriched_messages = read_topic(kafka_bootstrap, f"{prefix}.enriched")
    assert len({m.source for m in enriched_messages}) == len(enriched_messages)  # each record once
    enriched = ids(enriched_messages)  # event ids repeat: the samples hold natural duplicates
    keep = ids(read_topic(kafka_bootstrap, f"{prefix}.{KEEP}"))
    assert len(enriched) == summary["enriched"] == summary["derived"]["keep.v1"]
    assert sorted(keep) == sorted(enriched)

    # the broken stream: every record is in its topic or diverted to bad with the retryable marker, exactly once
    bad = read_topic(kafka_bootstrap, f"{prefix}.bad")
    diverted = [m for m in bad if m.headers.get("sp.error.class") == "StreamUnavailable"]
    for m in diverted:
        assert m.headers["sp.error.retryable"] == "true" and m.headers["sp.error.stream"] == LOSE
        assert json.loads(m.value)["data"]["failure"]["errors"][0] == f"StreamUnavailable: {LOSE}"
    assert len(diverted) == summary["diverted"][LOSE] == diverted_total
    assert len(bad) - len(diverted) == summary["bad"]
    after = ids(read_topic(kafka_bootstrap, f"{prefix}.{LOSE}"))
    accounted = ids(before) + after + ids(diverted)
    assert sorted(accounted) == sorted(enriched)

    # replay-bad writes the diverted records into that stream only
    replay = sptk("pipeline", "replay-bad", "--config", str(config))
    assert replay.returncode == 0, replay.stderr[-3000:]
    replayed = json.loads(replay.stdout.strip().splitlines()[-1])
    assert replayed["restored"] == len(diverted) and replayed["enriched"] == 0
    lose = ids(read_topic(kafka_bootstrap, f"{prefix}.{LOSE}"))
    assert sorted(ids(before) + lose) == sorted(enriched)  # every record, none twice
    assert sorted(ids(read_topic(kafka_bootstrap, f"{prefix}.enriched"))) == sorted(enriched)  # no duplicates
    assert sorted(ids(read_topic(kafka_bootstrap, f"{prefix}.{KEEP}"))) == sorted(enriched)
    assert len(read_topic(kafka_bootstrap, f"{prefix}.raw")) == len(lines)
    print(f"diversion: {len(enriched)} events; {len(before)} in {LOSE} before its deletion, "
          f"{diverted_while_broken:.0f} diverted while it was gone, {len(diverted)} diverted in all, "
          f"{len(after)} delivered after the restore; replay restored {replayed['restored']}")


def test_a_raw_topic_that_refuses_messages_still_stops_the_run_without_committing_past_it(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    topic = unique(f"{prefix}.in")
    later = 1000
    lines = fill_input_topic(kafka_bootstrap, topic, partitions=1, events=1500, seed=62, keys=10, held_back=later)
    total = len(lines)
    first = total - later
    group = unique("rawfail")
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": group}},
                      derived=[{"name": "keep", "version": 1, "owner": "a"}],
                      delivery={"commit_interval_s": 0.2, "drain_timeout_s": 20, "derived_failure_budget": 1},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    run = start("pipeline", "run", "--config", str(config), "--create-topics")
    try:
        wait_for(lambda: settled(port, first) or run.poll() is not None, 120, "the first records")
        # the broker now refuses every raw message (as it would one over quota or unauthorised): the contract breaks
        set_topic_configs(kafka_bootstrap, f"{prefix}.raw", {"max.message.bytes": "64"})
        time.sleep(1)
        produce_lines(kafka_bootstrap, topic, lines[first:], keys=10, first=first)
        run.wait(120)
    finally:
        if run.poll() is None:
            run.kill()
        _, err = run.communicate(timeout=30)
    assert run.returncode != 0, "a raw topic that refuses messages must stop the run"
    assert "raw" in err and "refused" in err
    c = consumer(kafka_bootstrap, group)
    committed = c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
    c.close()
    assert first <= committed < total  # the records before the change are committed, none past the failure
    in_raw = {m.headers["sp.source"] for m in read_topic(kafka_bootstrap, f"{prefix}.raw")}
    assert all(f"kafka:{topic}/0@{o}" in in_raw for o in range(committed))  # every committed record has its raw copy
