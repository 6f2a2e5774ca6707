"""The sidecar over real HTTP and real signals: probes, metrics, logs, drain on SIGTERM, second signal."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.sidecar import PipelineMetrics, Sidecar, configure_logging, http_probe, kafka_probe
from tests.integration.pipeline_infra.conftest import read_all
from tests.integration.pipeline_infra.test_http_source import post
from toolkit.config.secrets import Secret
from toolkit.kafka import DeliveryReport, PartitionLag, parse_stats

ROOT = Path(__file__).resolve().parents[3]


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.fixture
def sidecar(kafka_bootstrap: str) -> Iterator[Sidecar]:
    s = Sidecar("127.0.0.1", 0, probes={"kafka": kafka_probe(kafka_bootstrap)}, readiness_cache_s=0)
    s.start()
    yield s
    s.stop()


def test_health_and_readiness_follow_probes_and_draining(sidecar: Sidecar) -> None:
    base = sidecar.server.url
    assert get(f"{base}/healthz")[0] == 200
    status, _, body = get(f"{base}/readyz")
    assert status == 200 and json.loads(body) == {"ready": True, "draining": False, "checks": {"kafka": {"ok": True}}}
    sidecar.readiness.add("registry", http_probe("http://127.0.0.1:1/api/schemas", timeout_s=1))
    status, _, body = get(f"{base}/readyz")
    payload = json.loads(body)
    assert status == 503 and payload["checks"]["kafka"]["ok"] is True
    assert payload["checks"]["registry"]["ok"] is False and "unreachable" in payload["checks"]["registry"]["detail"]
    sidecar.readiness.add("registry", http_probe(f"{base}/healthz"))  # any server answering < 500 will do
    assert get(f"{base}/readyz")[0] == 200
    sidecar.begin_drain("test")
    status, _, body = get(f"{base}/readyz")
    assert status == 503 and json.loads(body)["draining"] is True
    assert get(f"{base}/healthz")[0] == 200  # draining is not dead
    assert get(f"{base}/nope")[0] == 404


def test_an_unreachable_broker_makes_the_instance_unready() -> None:
    s = Sidecar("127.0.0.1", 0, probes={"kafka": kafka_probe("127.0.0.1:1", {"log_level": 0}, timeout_s=1)})
    s.start()
    try:
        status, _, body = get(f"{s.server.url}/readyz")
        assert status == 503 and json.loads(body)["checks"]["kafka"]["ok"] is False
    finally:
        s.stop()


def test_metrics_endpoint_exposes_every_family_with_units(sidecar: Sidecar) -> None:
    m: PipelineMetrics = sidecar.metrics
    m.records_in.labels(source="http").inc(5)
    m.observe_delivery(DeliveryReport("t", 0, 1, 0.004, None), stream="enriched")
    m.observe_delivery(DeliveryReport("t", -1, -1, 0.1, None, "timed out"), stream="enriched")
    m.bad_records.labels(type="schema_violations").inc()
    m.filtered_records.labels(stream="clicks.v1", rule="filter").inc(2)
    m.stage_latency.labels(stage="validate").observe(0.0003)
    m.observe_freshness(datetime.now(UTC) - timedelta(seconds=42), stream="enriched")
    m.observe_stamps(["2020-01-01 00:00:00.000", "not a date", "2020-01-01T00:00:01.000Z"], stream="warehouse")
    m.retries.labels(what="registry").inc(2)
    m.volume_anomaly_score.labels(stream="http").set(-5.5)
    m.registry_state(held=True)
    m.observe_kafka_stats(parse_stats(json.dumps({
        "type": "producer", "msg_cnt": 7, "brokers": {
            "127.0.0.1:9092/1": {"nodeid": 1, "rtt": {"avg": 2500}, "txretries": 3, "txerrs": 1, "rxerrs": 1},
            "GroupCoordinator": {"nodeid": -1, "rtt": {"avg": 9}, "txretries": 50}}})))
    m.set_lag([PartitionLag("src", 0, 0, 10, 7, 5, 5), PartitionLag("src", 1, 0, 3, 3, 3, 0)])
    m.set_lag([PartitionLag("src", 0, 0, 10, 7, 6, 4)])  # partition 1 was revoked: its gauge goes away
    for hit in (True, True, False, True):
        m.registry_lookup(hit)
    m.producer_queue.set(12)
    m.in_flight.set(3)
    m.set_build("0.1.0", "abcdef0123456789")
    status, ctype, body = get(f"{sidecar.server.url}/metrics")
    text = body.decode()
    assert status == 200 and ctype.startswith("text/plain")
    for line in [
        'sptk_records_in_total{source="http"} 5.0',
        'sptk_records_out_total{stream="enriched"} 1.0',
        'sptk_bad_records_total{type="schema_violations"} 1.0',
        'sptk_filtered_records_total{rule="filter",stream="clicks.v1"} 2.0',
        'sptk_stage_latency_seconds_count{stage="validate"} 1.0',
        'sptk_produce_latency_seconds_bucket{le="0.005",stream="enriched"} 1.0',
        'sptk_freshness_seconds_bucket{le="30.0",stream="enriched"} 0.0',
        'sptk_freshness_seconds_bucket{le="60.0",stream="enriched"} 1.0',
        'sptk_freshness_seconds_count{stream="warehouse"} 2.0',
        'sptk_consumer_lag{partition="0",topic="src"} 4.0',
        'sptk_retries_total{what="registry"} 2.0',
        'sptk_volume_anomaly_score{stream="http"} -5.5',
        "sptk_registry_available 0.0",
        'sptk_kafka_broker_rtt_seconds{broker="127.0.0.1:9092/1",client="producer"} 0.0025',
        'sptk_kafka_queue_messages{client="producer"} 7.0',
        'sptk_kafka_request_retries{client="producer"} 3.0',
        'sptk_kafka_request_errors{client="producer"} 2.0',
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        'sptk_registry_cache_lookups_total{result="hit"} 3.0',
        "sptk_registry_cache_hit_ratio 0.75",
        "sptk_producer_queue_messages 12.0",
        "sptk_in_flight_records 3.0",
        "sptk_draining 0.0",
        'sptk_build_info{config_hash="abcdef0123456789",version="0.1.0"} 1.0',
    ]:
        assert line in text, line
    assert 'partition="1"' not in text
    assert "_created" not in text  # no *_created series
    assert "sptk_validation_latency_seconds" not in text  # one latency family per stage
    assert "sptk_event_freshness_seconds" not in text and "sptk_consumer_lag_messages" not in text


def test_json_logs_carry_extra_fields_and_never_a_secret() -> None:
    stream = io.StringIO()
    previous = logging.getLogger().handlers[:], logging.getLogger().level
    try:
        configure_logging("json", "INFO", stream)
        secret = Secret("hunter2", "env:KAFKA_PASSWORD")
        logging.getLogger("sptk.test").warning("config loaded with %s", secret, extra={"topic": "t", "n": 3})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("sptk.test").exception("failed")
    finally:
        root = logging.getLogger()
        root.handlers[:] = previous[0]
        root.setLevel(previous[1])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "sptk.test" and first["topic"] == "t" and first["n"] == 3
    assert "hunter2" not in stream.getvalue() and "env:KAFKA_PASSWORD" in first["message"]
    assert first["ts"].endswith("Z")
    assert second["exception"].startswith("Traceback") and "ValueError: boom" in second["exception"]


def start_app(bootstrap: str, topic: str, *extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.pipeline_infra.sidecar_app", bootstrap, topic,
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"the sidecar app did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(line)["port"]


def logs_of(proc: subprocess.Popen[str]) -> list[dict]:
    assert proc.stderr is not None
    return [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]


def test_sigterm_drains_delivers_and_exits_zero(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic("sidecar")
    proc, port = start_app(kafka_bootstrap, topic)
    try:
        assert post(port, b"one\ntwo\nthree\n") == (200, {"accepted": 3, "acked": 3})
        status, _, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200
        status, _, body = get(f"http://127.0.0.1:{port}/metrics")
        assert b"sptk_draining 0.0" in body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    messages = [m["message"] for m in logs_of(proc)]
    assert any(m.startswith("received SIGTERM: draining") for m in messages), messages
    assert any(m.startswith("drained: everything read was confirmed") for m in messages), messages
    assert sorted(v for *_, v, _ in read_all(kafka_bootstrap, topic, expect=3)) == [b"one", b"three", b"two"]


def test_a_second_signal_exits_at_once_with_a_clear_line(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic("sidecar-hang")
    proc, port = start_app(kafka_bootstrap, topic, "hang")
    try:
        assert post(port, b"before the signal\n")[0] == 200
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        status = 200
        while time.monotonic() < deadline and status == 200:
            status = get(f"http://127.0.0.1:{port}/readyz")[0]
            time.sleep(0.1)
        assert status == 503  # draining: taken out of the load balancer
        assert post(port, b"late\n")[1]["error"].startswith("draining")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    messages = [m["message"] for m in logs_of(proc)]
    assert any(m.startswith("received SIGTERM again: exiting now without finishing the drain") for m in messages)


class Pipeline:
    def __init__(self, drained: bool = True, fail: bool = False) -> None:
        self.drained, self.fail = drained, fail
        self.ran = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self.ran.set()
        if self.fail:
            raise RuntimeError("broker fenced us")

    def drain(self, timeout_s: float) -> bool:
        return self.drained


def test_exit_codes_follow_the_drain_outcome() -> None:
    def run(pipeline: Pipeline) -> int:
        sidecar = Sidecar("127.0.0.1", 0, drain_timeout_s=1)
        stopped: list[bool] = []
        sidecar.on_drain(lambda: stopped.append(True))
        code = sidecar.run(pipeline, install_signals=False)
        assert stopped == [True] and sidecar.draining.is_set()
        return code

    assert run(Pipeline()) == 0
    assert run(Pipeline(drained=False)) == 1
    assert run(Pipeline(fail=True)) == 1
