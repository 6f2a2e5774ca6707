"""`sptk sink http` against the real broker and a real local HTTP server scripted to misbehave.

Every check is made from what the server recorded (its own monotonic clock) and what the
dead-letter topic holds, never from the sink's word alone: nothing lost, duplicates only within
one idempotency key, Retry-After honoured, offsets committed only after a 2xx or a confirmed
dead-letter write (kill -9 while the server fails, restart, and nothing is missing).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from email.utils import formatdate
from pathlib import Path
from typing import Any

import orjson

from tests.integration.pipeline_infra.conftest import read_all
from tests.integration.sinks.receiver import Step, receiver
from tests.unit.migration.scenario import events
from toolkit.kafka import create_topics, idempotent_producer

SPTK = [str(Path(sys.executable).parent / "sptk")]


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = idempotent_producer(bootstrap)
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def _config(tmp_path: Path, bootstrap: str, suffix: str, url: str, *, max_events: int, extra: str = "") -> Path:
    path = tmp_path / "sink.toml"
    path.write_text(f"""
[kafka]
bootstrap_servers = "{bootstrap}"
topic_prefix = "test.{suffix}"

[kafka.consumer]
# a killed sink's partitions go to its restart after 6 s rather than librdkafka's default 45
"session.timeout.ms" = 6000

[sink]
name = "crm"
topics = ["test.{suffix}.enriched"]
drain_timeout_s = 2.0
poll_timeout_s = 0.2

[http]
url = "{url}"
timeout_s = 0.5
headers = {{ "X-Source" = "sptk-test" }}

[[http.secret_headers]]
name = "Authorization"
prefix = "Bearer "
value_env = "TEST_SINK_TOKEN"

[batch]
max_events = {max_events}
linger_s = 0.2

[retry]
initial_backoff_s = 0.05
max_backoff_s = 0.2

[sidecar]
port = 0
log_format = "text"
{extra}
""")
    return path


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "TEST_SINK_TOKEN": "t0ken"}


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPTK, "sink", "http", "--config", str(config), *args], capture_output=True, text=True,
                          env=_env(), timeout=300)


def _topic_with_events(bootstrap: str, *, partitions: int, count: int) -> tuple[str, list[dict[str, Any]]]:
    """A fresh ``test.<suffix>.enriched`` topic holding ``count`` canonical events; the suffix and the events."""
    suffix = uuid.uuid4().hex[:8]
    create_topics(bootstrap, [f"test.{suffix}.enriched"], partitions=partitions)
    rows = events(count)
    _produce(bootstrap, f"test.{suffix}.enriched", [orjson.dumps(r) for r in rows])
    return suffix, rows


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['event_id']}:{r['event_fingerprint']}" for r in rows]


def _delivered(requests: list[Any], field: str = "_idempotency_key") -> Counter[str]:
    """How many times each idempotency key reached the server in a request it answered 2xx."""
    return Counter(item[field] for seen in requests if seen.ok for item in seen.items)


def _no_foreign_duplicates(requests: list[Any], field: str = "_idempotency_key") -> None:
    """A key always carries the same event: a receiver deduplicating on it loses nothing."""
    by_key: dict[str, bytes] = {}
    for seen in requests:
        for item in seen.items:
            body = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            assert by_key.setdefault(item[field], body) == body, f"key {item[field]} carried two different events"


def test_throttling_failures_timeouts_and_refusals_lose_nothing(kafka_bootstrap: str, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"test.{suffix}.enriched", f"test.{suffix}.dlq.http.crm"
    create_topics(kafka_bootstrap, [topic], partitions=1)
    rows = events(40)
    _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in rows] + [b"{truncated"])
    with receiver() as server:
        # batch 1: throttled, two server errors, then a request that outlives the client's timeout: its budget
        # of 4 attempts is spent and it is dead-lettered; batch 2 is refused (400: not retried); batch 3 is
        # throttled with an HTTP-date Retry-After, then accepted; everything after that is accepted
        server.script = [Step(429, "1"), Step(500), Step(503), Step(200, sleep_s=1.0), Step(400),
                         Step(429, lambda: formatdate(time.time() + 2, usegmt=True))]
        config = _config(tmp_path, kafka_bootstrap, suffix, server.url, max_events=10,
                         extra="\n[rate_limit]\nrequests_per_s = 10\n")
        # batches close by count (10, 10, 10, 10), the lone unreadable message by linger
        config.write_text(config.read_text().replace("[retry]\n", "[retry]\nmax_attempts = 4\n")
                          .replace("linger_s = 0.2", "linger_s = 3.0"))
        result = _run(config, "--until-caught-up")
        requests = server.requests()
    assert result.returncode == 1, result.stderr  # records went to the dead-letter topic
    assert "41 records read: 20 delivered, 21 dead-lettered (http_status 10, timeout 10, unreadable 1)" \
        in result.stdout, result.stdout + result.stderr

    statuses = [s.status for s in requests]
    assert statuses[:7] == [429, 500, 503, 200, 400, 429, 200] and set(statuses[7:]) == {200}
    # Retry-After is honoured: no attempt arrives before the delay the server asked for, by the server's clock
    assert requests[1].arrived - requests[0].answered >= 1.0
    assert requests[6].arrived - requests[5].answered >= 1.0  # an HTTP date 1-2 s ahead (whole seconds)
    # the rate limit: at most 10 requests a second after the first
    assert requests[-1].arrived - requests[0].arrived >= (len(requests) - 1) / 10 - 0.1
    # auth and static headers on every request; the credential came from the environment
    assert all(s.headers["authorization"] == "Bearer t0ken" and s.headers["x-source"] == "sptk-test"
               for s in requests)

    dead = read_all(kafka_bootstrap, dlq, expect=21)
    headers = [{k: (v or b"").decode() for k, v in h} for _, _, _, _, h in dead]
    reasons = Counter((h["sp.error.class"], h["sp.sink.http.status"], h["sp.sink.http.attempts"]) for h in headers)
    assert reasons == {("timeout", "", "4"): 10, ("http_status", "400", "1"): 10, ("unreadable", "", "0"): 1}
    assert all(h["sp.error.stage"] == "sink.http" and h["sp.source"].startswith(f"kafka:{topic}/0@")
               for h in headers)
    dead_keys = {h["sp.sink.idempotency_key"] for h in headers}
    assert len(dead_keys) == 21 and b"{truncated" in {v for _, _, _, v, _ in dead}
    assert dead_keys - set(_keys(rows)) == {f"{topic}/0@40"}  # the unreadable one is keyed by its position

    # nothing lost: every event outside the dead-letter topic reached the server in a request answered 2xx
    # (the timed-out request was answered 200 too late for the client: a duplicate within its keys)
    delivered = _delivered(requests)
    assert set(_keys(rows)) - dead_keys <= set(delivered)
    assert len(set(_keys(rows)) - dead_keys) == 20
    _no_foreign_duplicates(requests)


def test_kill_9_while_the_server_fails_then_a_restart_delivers_every_event(kafka_bootstrap: str,
                                                                          tmp_path: Path) -> None:
    suffix, rows = _topic_with_events(kafka_bootstrap, partitions=2, count=30)
    with receiver() as server:
        server.script = [Step(200)] * 4
        server.otherwise = Step(503)
        config = _config(tmp_path, kafka_bootstrap, suffix, server.url, max_events=1,
                         extra="\n[template]\nkind = \"segment\"\n")
        config.write_text(config.read_text().replace("[retry]\n", "[retry]\nmax_attempts = 1000\n"))
        process = subprocess.Popen([*SPTK, "sink", "http", "--config", str(config)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=_env())
        try:
            server.wait_for(lambda seen: sum(not s.ok for s in seen) >= 3)
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
        before = server.requests()
        failed_keys = {item["messageId"] for s in before if not s.ok for item in s.items}
        assert len([s for s in before if s.ok]) == 4 and failed_keys
        server.otherwise = Step(200)
        result = _run(config, "--until-caught-up")
        after = server.requests()
    assert result.returncode == 0, result.stderr
    delivered = _delivered(after, "messageId")
    assert set(delivered) == set(_keys(rows))  # nothing missing: the failing batch was not committed
    # a repeat is an event the server had already seen (accepted before the kill, or refused while failing)
    first_run = {item["messageId"] for s in before for item in s.items}
    repeats = {k for k, n in delivered.items() if n > 1}
    assert repeats <= first_run
    assert failed_keys <= set(delivered)
    _no_foreign_duplicates(after, "messageId")
    # one event per request: the idempotency key also travels as a header
    assert all(s.headers["idempotency-key"] == s.items[0]["messageId"] for s in after)
    assert all(s.items[0]["type"] == "track" and s.items[0]["event"] == "page_view" for s in after)


def test_sigterm_gives_up_the_failing_batch_within_the_drain_timeout_without_committing_it(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    suffix, rows = _topic_with_events(kafka_bootstrap, partitions=1, count=12)
    with receiver() as server:
        server.otherwise = Step(503)
        config = _config(tmp_path, kafka_bootstrap, suffix, server.url, max_events=5)
        config.write_text(config.read_text().replace("[retry]\n", "[retry]\nmax_attempts = 1000\n"))
        process = subprocess.Popen([*SPTK, "sink", "http", "--config", str(config)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=_env())
        server.wait_for(lambda seen: len(seen) >= 2)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 1, err
        assert "0 delivered, 0 dead-lettered" in out and "batch given up at the drain (not committed)" in out, out
        server.otherwise = Step(200)
        result = _run(config, "--until-caught-up")
        after = server.requests()
    assert result.returncode == 0, result.stderr
    assert "12 records read: 12 delivered, 0 dead-lettered" in result.stdout, result.stdout
    assert set(_delivered(after)) == set(_keys(rows))


def _metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_the_sidecar_serves_health_and_the_sink_metrics(kafka_bootstrap: str, tmp_path: Path) -> None:
    import re

    import requests

    suffix = uuid.uuid4().hex[:8]
    topic = f"test.{suffix}.enriched"
    create_topics(kafka_bootstrap, [topic], partitions=1)
    _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in events(6)])
    with receiver() as server:
        server.script = [Step(500)]
        config = _config(tmp_path, kafka_bootstrap, suffix, server.url, max_events=3)
        process = subprocess.Popen([*SPTK, "sink", "http", "--config", str(config)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=_env())
        try:
            assert process.stderr is not None
            found = None
            while found is None:
                line = process.stderr.readline()
                assert line, "the sink exited before it served its sidecar"
                found = re.search(r"/metrics on 127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1))
            server.wait_for(lambda seen: sum(s.ok for s in seen) >= 2)
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            deadline = time.monotonic() + 30
            while True:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                if _metric(text, 'sptk_sink_http_delivered_records_total{sink="crm"}') >= 6 or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert _metric(text, 'sptk_sink_http_delivered_records_total{sink="crm"}') == 6
    assert _metric(text, 'sptk_sink_http_requests_total{sink="crm",status="500"}') == 1
    accepted = sum(s.ok for s in server.requests())
    assert _metric(text, 'sptk_sink_http_requests_total{sink="crm",status="200"}') == accepted
    assert _metric(text, 'sptk_sink_http_retries_total{sink="crm"}') == 1
    assert _metric(text, 'sptk_sink_http_batch_events_count{sink="crm"}') == accepted  # one per batch, not attempt
    assert _metric(text, 'sptk_sink_http_batch_events_sum{sink="crm"}') == 6
    assert _metric(text, f'sptk_records_in_total{{source="{topic}"}}') == 6
