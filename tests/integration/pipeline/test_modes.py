"""The other ways to run: the HTTP sidecar source with live metrics, exactly-once Kafka -> Kafka, and topic drift."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from confluent_kafka import Consumer

from tests.integration.pipeline.conftest import (
    base_config,
    fill_input_topic,
    free_port,
    metric,
    post,
    produce_lines,
    read_topic,
    sptk,
    start,
    start_mid_stream,
    wait_for,
    write_config,
)
from tests.integration.pipeline_infra.conftest import unique
from toolkit.contract.samples import SampleSpec, SampleStats, generate
from toolkit.kafka import create_topics


def test_http_batches_are_answered_after_delivery_and_metrics_carry_real_numbers(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap, source={"kind": "http", "http": {"path": "/v1/enriched"}},
                      derived=[{"name": "views", "version": 1, "owner": "web",
                                "filter": {"field": "event", "op": "eq", "value": "page_view"}}],
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    stats = SampleStats()
    lines = [x.encode() for x in generate(SampleSpec(events=300, seed=9), stats)]
    pipeline = start("pipeline", "run", "--config", str(config), "--create-topics")
    try:
        wait_for(lambda: metric(port, "sptk_build_info") > 0 or pipeline.poll() is not None, 60, "the sidecar")
        status, body = post(f"http://127.0.0.1:{port}/v1/enriched", b"\n".join(lines) + b"\n")
        assert (status, body) == (200, {"accepted": len(lines), "acked": len(lines)})
        # 200 means delivered: every record is already on the broker
        assert len(read_topic(kafka_bootstrap, f"{prefix}.raw", expect=len(lines), timeout_s=20)) == len(lines)
        wait_for(lambda: metric(port, 'sptk_records_in_total{source="http"}') == len(lines)
                 and metric(port, 'sptk_records_out_total{stream="raw"}') == len(lines), 10, "the metrics")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        bad = sum(stats.parse_failures.values()) + sum(stats.schema_failures.values())
        assert f'sptk_records_out_total{{stream="raw"}} {len(lines)}.0' in text
        assert f'sptk_records_out_total{{stream="enriched"}} {len(lines) - bad}.0' in text
        assert f'sptk_bad_records_total{{type="loader_parsing_error"}} {sum(stats.parse_failures.values())}.0' in text
        assert 'sptk_filtered_records_total{rule="filter",stream="views.v1"}' in text
        for family in ('sptk_stage_latency_seconds_count{stage="decode"}', 'sptk_stage_latency_seconds_count'
                       '{stage="validate"}', 'sptk_registry_cache_lookups_total{result="hit"}',
                       "sptk_producer_queue_messages", "sptk_in_flight_records 0.0",
                       'sptk_produce_latency_seconds_count{stream=', "sptk_registry_available 1.0",
                       'sptk_volume_anomaly_score{stream="http"} 0.0', "process_cpu_seconds_total"):
            assert family in text, family
        assert "_created" not in text
        # freshness counts every decoded record, not a sample
        decoded = len(lines) - sum(stats.parse_failures.values())
        assert metric(port, 'sptk_freshness_seconds_count{stream="enriched"}') == decoded
        # librdkafka statistics arrive every few seconds from the producer's poll
        wait_for(lambda: metric(port, 'sptk_kafka_queue_messages{client="producer"}') >= 0
                 and 'sptk_kafka_broker_rtt_seconds{' in urllib.request.urlopen(
                     f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode(), 20, "librdkafka statistics")
    finally:
        pipeline.send_signal(signal.SIGTERM)
        _, err = pipeline.communicate(timeout=60)
    assert pipeline.returncode == 0, err[-3000:]


def read_committed(bootstrap: str, topic: str) -> list[bytes]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("rc"), "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest", "enable.partition.eof": True})
    meta = c.list_topics(topic, timeout=10).topics[topic]
    c.subscribe([topic])
    out, eof = [], set()
    deadline = __import__("time").monotonic() + 30
    while len(eof) < len(meta.partitions) and __import__("time").monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:
                eof.add(m.partition())
            continue
        out.append(dict(m.headers() or [])["sp.source"])
    c.close()
    return out


def test_exactly_once_kafka_to_kafka_survives_kill_9(tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    """The last 2,000 lines are produced only after the kill, so the second run has work to do whatever the
    machine's speed (otherwise a first run that committed everything let the SIGTERM reach the second during
    its start-up)."""
    topic = f"{prefix}.input"
    later = 2000
    lines = fill_input_topic(kafka_bootstrap, topic, partitions=2, events=8000, seed=44, keys=20, held_back=later)
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": unique("eos")}},
                      delivery={"transactional": True, "transactional_id": unique("sptk-eos"),
                                "commit_interval_s": 0.3, "max_in_flight": 1000, "drain_timeout_s": 20},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    # the killed member's partitions go to the second run after 6 s rather than librdkafka's default 45
    cfg["kafka"]["consumer"] = {"session.timeout.ms": 6000}
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    first = start_mid_stream(config, port, 2000, "--create-topics")
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    produce_lines(kafka_bootstrap, topic, lines[-later:], keys=20, first=len(lines) - later)
    second = start("pipeline", "run", "--config", str(config))
    wait_for(lambda: len(read_committed(kafka_bootstrap, f"{prefix}.raw")) >= len(lines) or
             second.poll() is not None, 180, "the second run to commit everything")
    second.send_signal(signal.SIGTERM)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err[-3000:]
    sources = read_committed(kafka_bootstrap, f"{prefix}.enriched") + read_committed(kafka_bootstrap, f"{prefix}.bad")
    counts = Counter(sources)
    assert len(counts) == len(lines) and set(counts.values()) == {1}  # read_committed: each record exactly once
    assert len(read_committed(kafka_bootstrap, f"{prefix}.raw")) == len(lines)


def test_topic_drift_stops_the_start_unless_allowed(tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    (tmp_path / "in.tsv").write_text("\n".join(generate(SampleSpec(events=5))) + "\n")
    for stream in ("raw", "enriched", "bad"):
        create_topics(kafka_bootstrap, [f"{prefix}.{stream}"], partitions=1)
    cfg = base_config(prefix, kafka_bootstrap, source={"kind": "file", "file": {"paths": [str(tmp_path / "in.tsv")]}})
    config = write_config(tmp_path / "pipeline.yaml", cfg)  # declares 3 partitions
    refused = sptk("pipeline", "run", "--config", str(config))
    assert refused.returncode == 2
    assert f"{prefix}.raw: partitions is 1, declared 3" in refused.stderr and "sptk topics apply" in refused.stderr
    assert read_topic(kafka_bootstrap, f"{prefix}.raw", timeout_s=5) == []  # nothing was read or written
    allowed = sptk("pipeline", "run", "--config", str(config), "--allow-drift")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert json.loads(allowed.stdout.strip().splitlines()[-1])["in"] == 5


def test_exactly_once_holds_across_a_rebalance_between_two_instances(tmp_path: Path, kafka_bootstrap: str,
                                                                     prefix: str) -> None:
    topic = f"{prefix}.input"
    lines = fill_input_topic(kafka_bootstrap, topic, partitions=4, events=8000, seed=45, keys=40)
    group = unique("eos-rebalance")
    runs = []
    for name in ("a", "b"):
        port = free_port()
        cfg = base_config(prefix, kafka_bootstrap, source={"kind": "kafka", "kafka": {"topics": [topic],
                                                                                     "group_id": group}},
                          delivery={"transactional": True, "transactional_id": f"{group}-{name}",
                                    "commit_interval_s": 0.5, "max_in_flight": 50, "drain_timeout_s": 20},
                          sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
        cfg["kafka"]["producer"] = {"linger.ms": 100}  # slow enough that the second instance joins mid-stream
        runs.append((write_config(tmp_path / f"{name}.yaml", cfg), port))
    first = start_mid_stream(runs[0][0], runs[0][1], 1500, "--create-topics")
    second = start("pipeline", "run", "--config", str(runs[1][0]))  # joins the group: partitions move
    try:
        wait_for(lambda: len(read_committed(kafka_bootstrap, f"{prefix}.raw")) >= len(lines), 240,
                 "both instances to commit everything")
        assert metric(runs[1][1], "sptk_records_in_total") > 0, "the second instance never got a partition"
    finally:
        for p in (first, second):
            p.send_signal(signal.SIGTERM)
        outcomes = [p.communicate(timeout=60) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, [err[-2000:] for _, err in outcomes]
    counts = Counter(read_committed(kafka_bootstrap, f"{prefix}.enriched")
                     + read_committed(kafka_bootstrap, f"{prefix}.bad"))
    assert len(counts) == len(lines) and set(counts.values()) == {1}


def test_quick_use_reads_stdin_into_files_without_a_config(tmp_path: Path) -> None:
    import subprocess

    from tests.integration.pipeline.conftest import EXAMPLES, ROOT, SPTK

    stats = SampleStats()
    text = "".join(x + "\n" for x in generate(SampleSpec(events=200, seed=12), stats))
    done = subprocess.run([*SPTK, "pipeline", "run", "--input", "-", "--resolver", str(EXAMPLES / "resolver.json"),
                           "--output", f"files:{tmp_path / 'out'}"], input=text, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["in"] == stats.lines and summary["enriched"] == stats.expected_good
    assert (tmp_path / "out" / "raw.tsv").read_text() == text
    assert len((tmp_path / "out" / "enriched.jsonl").read_text().splitlines()) == stats.expected_good


def test_stdin_that_stays_open_is_processed_as_lines_arrive_and_sigterm_ends_the_run(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    """A sidecar fed through a pipe: no waiting for a full batch or for EOF, and SIGTERM is not held by the pipe."""
    import subprocess

    from tests.integration.pipeline.conftest import ROOT, SPTK

    config = write_config(tmp_path / "pipeline.yaml", base_config(prefix, kafka_bootstrap, source={"kind": "stdin"}))
    lines = list(generate(SampleSpec(events=40, seed=21), SampleStats()))
    pipeline = subprocess.Popen([*SPTK, "pipeline", "run", "--config", str(config), "--create-topics"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=ROOT)
    try:
        assert pipeline.stdin is not None
        pipeline.stdin.write("\n".join(lines) + "\n")
        pipeline.stdin.flush()  # and the pipe stays open: the writer is alive but idle
        raw: list = []

        def all_on_the_raw_topic() -> bool:  # the topic appears once the pipeline has started
            raw[:] = read_topic(kafka_bootstrap, f"{prefix}.raw", expect=len(lines), timeout_s=5)
            return len(raw) == len(lines)
        wait_for(all_on_the_raw_topic, 90, "the lines on the raw topic while stdin stays open")
        assert sorted(m.value.decode() for m in raw) == sorted(lines)
        pipeline.send_signal(signal.SIGTERM)
        out, err = pipeline.communicate(timeout=60)
    finally:
        if pipeline.poll() is None:
            pipeline.kill()
    assert pipeline.returncode == 0, err[-3000:]
    assert f'"in": {len(lines)}' in out + err


def test_a_kafka_source_s_consumer_reports_librdkafka_statistics_too(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    """The pipeline's own consumer, not only its producer, feeds the librdkafka gauges."""
    topic = f"{prefix}.input"
    fill_input_topic(kafka_bootstrap, topic, partitions=1, events=50, seed=46, keys=5)
    port = free_port()
    cfg = base_config(prefix, kafka_bootstrap,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": unique("stats")}},
                      sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"})
    run = start_mid_stream(write_config(tmp_path / "pipeline.yaml", cfg), port, 50, "--create-topics")
    try:
        wait_for(lambda: all(f'sptk_kafka_queue_messages{{client="{kind}"}}' in _scrape(port)
                             for kind in ("consumer", "producer")), 30,
                 "the first statistics reports of both clients (librdkafka reports every 5 s)")
    finally:
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    assert run.returncode == 0, err[-3000:]


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()
