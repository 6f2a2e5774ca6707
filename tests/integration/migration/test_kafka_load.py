"""`sptk migrate kafka-load` against the real broker: load, replay without duplicates, reconcile.

The enriched topic gets canonical JSON rows, an enriched TSV line and a message that
is neither; the bad topic gets Snowplow bad rows. The loaded warehouse is then
reconciled against the same events as the legacy side.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from click.testing import CliRunner

from connectors.warehouse import Warehouse
from tests.conftest import LocalBroker
from tests.unit.migration.scenario import bad_row, eid, events, run, write_jsonl
from toolkit.cli.root import main
from toolkit.kafka import create_topics, idempotent_producer


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = idempotent_producer(bootstrap)
    for n, value in enumerate(values):
        producer.produce(topic, value=value, key=str(n).encode())
    assert producer.flush(30) == 0


def _kafka_load(bootstrap: str, topic: str, bad: str, url: str, group: str) -> str:
    result = CliRunner().invoke(main, ["migrate", "kafka-load", "--bootstrap", bootstrap, "--topic", topic,
                                       "--bad-topic", bad, "--warehouse", url, "--group", group,
                                       "--batch-size", "40", "--until-caught-up"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_kafka_load_is_idempotent_and_reconciles_with_the_legacy_side(kafka_bootstrap: str, tmp_path: Path,
                                                                        enriched_fixtures: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, bad = f"test.enriched.{suffix}", f"test.bad.{suffix}"
    create_topics(kafka_bootstrap, [topic, bad], partitions=3)
    rows = events(100)
    tsv_line = (enriched_fixtures / "rdbloader-3.tsv").read_bytes().rstrip(b"\n")
    _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in rows] + [tsv_line, b"{truncated"])
    _produce(kafka_bootstrap, bad, [orjson.dumps(bad_row(eid(999)))])
    url = f"duckdb:{tmp_path / 'wh.duckdb'}?schema=kafka"

    output = _kafka_load(kafka_bootstrap, topic, bad, url, f"g1-{suffix}")
    assert "103 messages" in output and "inserted 101," in output and "bad rows written 2" in output
    # a new consumer group replays the whole topic: nothing is added
    replay = _kafka_load(kafka_bootstrap, topic, bad, url, f"g2-{suffix}")
    assert "inserted 0," in replay and "already loaded 101," in replay and "bad rows written 0" in replay
    with Warehouse.open(url) as wh:
        assert wh.backend.query(f"SELECT count(*), count(DISTINCT load_partition) FROM {wh.events}") == [(101, 3)]
        bad_rows = wh.backend.query(f"SELECT bad_row_type, event_id FROM {wh.bad_rows} ORDER BY 1")
        assert bad_rows == [("loader_parsing_error", None), ("schema_violations", eid(999))]

    legacy = write_jsonl(tmp_path / "legacy.jsonl", rows + [dict(rows[0], event_id=eid(999))])
    report = tmp_path / "r.json"
    result = run("--legacy", f"jsonl:{legacy}", "--new", url, "--lookback", "0s", "--json", str(report))
    document = orjson.loads(report.read_bytes())
    assert document["rejected"] == {"count": 1, "sample": [eid(999)], "by_type": {"schema_violations": 1}}
    assert document["only_new"]["count"] == 1  # the 2014 TSV event only the Kafka side got
    assert document["only_legacy"]["count"] == 0 and document["modified"]["count"] == 0
    assert result.exit_code == 2


def test_kafka_load_as_a_sidecar_drains_on_sigterm_and_resumes_from_its_commits(
        kafka_bootstrap: str, postgres_url: str) -> None:
    import re
    import signal
    import subprocess
    import sys
    import time

    import psycopg
    import requests

    suffix = uuid.uuid4().hex[:8]
    topic, schema = f"test.enriched.{suffix}", f"sidecar_{suffix}"
    create_topics(kafka_bootstrap, [topic], partitions=2)
    _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in events(60)])
    url = f"{postgres_url}?schema={schema}"
    command = [str(Path(sys.executable).parent / "sptk"), "migrate", "kafka-load", "--bootstrap", kafka_bootstrap,
               "--topic", topic, "--warehouse", url, "--group", f"g-{suffix}"]
    process = subprocess.Popen([*command, "--sidecar-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline() if process.stderr else ""
            found = re.search(r"on 127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        assert port, "the sidecar never said where it listens"
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        with psycopg.connect(postgres_url, autocommit=True) as con:
            while time.monotonic() < deadline:
                exists = con.execute("SELECT to_regclass(%s)", [f"{schema}.events"]).fetchone()[0]
                if exists and con.execute(f'SELECT count(*) FROM "{schema}".events').fetchone()[0] == 60:
                    break
                time.sleep(0.3)
        def scrape() -> str:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

        metrics = scrape()
        assert f'sptk_records_in_total{{source="{topic}"}} 60.0' in metrics
        # rows loaded equals the rows in the warehouse; freshness at the warehouse counts every row
        with psycopg.connect(postgres_url, autocommit=True) as con:
            rows = con.execute(f'SELECT count(*) FROM "{schema}".events').fetchone()[0]
        assert f'sptk_records_out_total{{stream="warehouse"}} {rows}.0' in metrics and rows == 60
        assert f'sptk_freshness_seconds_count{{stream="warehouse"}} {rows}.0' in metrics
        assert "sptk_warehouse_load_latency_seconds_count" in metrics
        assert "_created" not in metrics and "process_cpu_seconds_total" in metrics
        # consumer lag per partition, and 0 once caught up
        while time.monotonic() < deadline and not all(
                f'sptk_consumer_lag{{partition="{p}",topic="{topic}"}} 0.0' in metrics for p in (0, 1)):
            time.sleep(0.5)
            metrics = scrape()
        for p in (0, 1):
            assert f'sptk_consumer_lag{{partition="{p}",topic="{topic}"}} 0.0' in metrics
        # librdkafka statistics of the consumer (every 5 s)
        stats_deadline = time.monotonic() + 20
        while 'sptk_kafka_broker_rtt_seconds{' not in metrics and time.monotonic() < stats_deadline:
            time.sleep(0.5)
            metrics = scrape()
        assert 'sptk_kafka_request_errors{client="consumer"}' in metrics
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
        assert "60 messages" in out and "inserted 60," in out
        # a restart in the same group resumes after the committed offsets: nothing to read, nothing added
        _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in events(65)[60:]])
        again = subprocess.run([*command, "--until-caught-up"], capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "5 messages" in again.stdout and "inserted 5," in again.stdout
    finally:
        if process.poll() is None:
            process.kill()
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _closed_port() -> int:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_kafka_load_gives_up_on_an_unreachable_broker_with_one_clear_error(tmp_path: Path) -> None:
    """A closed port: a bounded wait, one error naming the bootstrap servers, exit 3, no flood of librdkafka lines."""
    import subprocess
    import sys

    bootstrap = f"127.0.0.1:{_closed_port()}"
    command = [str(Path(sys.executable).parent / "sptk"), "migrate", "kafka-load", "--bootstrap", bootstrap,
               "--topic", "test.enriched.nowhere", "--warehouse", f"duckdb:{tmp_path / 'wh.duckdb'}",
               "--until-caught-up", "--connect-timeout", "3"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith("sptk migrate kafka-load:")]
    assert len(errors) == 1 and f"Kafka at {bootstrap} did not answer" in errors[0]
    assert "waited 3 s" in errors[0] and "--connect-timeout" in errors[0]
    refused = [line for line in lines if "Connection refused" in line]
    assert 1 <= len(refused) <= 2, lines  # librdkafka retries ~20 times a second; one line per 10 s gets through
    assert len(lines) < 10, lines
    assert "0 messages" not in done.stdout and "Traceback" not in done.stderr


def test_kafka_load_gives_up_on_a_topic_that_does_not_exist(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = f"test.enriched.missing.{uuid.uuid4().hex[:8]}"
    # the bootstrap comes from the variable a pipeline config reads; the test suite's own is not sptk's
    env = {"SPTK_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    result = CliRunner().invoke(main, ["migrate", "kafka-load", "--topic", topic, "--warehouse",
                                       f"duckdb:{tmp_path / 'wh.duckdb'}", "--until-caught-up",
                                       "--connect-timeout", "2"], env=env)
    assert result.exit_code == 3, result.output
    assert f"topic {topic} does not exist on Kafka at {kafka_bootstrap}" in result.stderr


def test_kafka_load_shows_periodic_progress_on_stderr_and_keeps_stdout_for_the_summary(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic = f"test.enriched.{suffix}"
    create_topics(kafka_bootstrap, [topic], partitions=2)
    _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in events(90)])
    result = CliRunner().invoke(main, ["migrate", "kafka-load", "--bootstrap", kafka_bootstrap, "--topic", topic,
                                       "--warehouse", f"duckdb:{tmp_path / 'wh.duckdb'}", "--group", f"g-{suffix}",
                                       "--batch-size", "20", "--until-caught-up"],
                                env={"SPTK_PROGRESS_INTERVAL_S": "0"})
    assert result.exit_code == 0, result.output
    shown = [line for line in result.stderr.splitlines() if line.startswith("[sptk] kafka-load: ")]
    assert len(shown) > 2 and "messages/s" in shown[0]
    assert shown[-1].startswith("[sptk] kafka-load: done, 90 messages") and "90 rows inserted" in shown[-1]
    assert result.stdout.startswith(f"kafka-load from {topic}") and "[sptk]" not in result.stdout


def test_kafka_load_whose_broker_goes_away_after_assignment_exits_3_and_a_rerun_resumes(
        private_kafka: LocalBroker, tmp_path: Path) -> None:
    """The loader holds its partitions and has loaded 50 messages when its (private) broker stops.

    Ten more messages sit in a transaction left open, so the read-committed loader cannot catch up
    and is still running when the broker goes, however fast or slow the machine. Expected: one line
    naming the bootstrap servers and what to do, exit 3, the 50 rows loaded with their offsets
    committed, and a rerun after the broker's restart that loads only the ten (by then committed).
    """
    import os
    import subprocess
    import sys
    import time

    bootstrap = private_kafka.bootstrap
    suffix = uuid.uuid4().hex[:8]
    topic = f"test.enriched.{suffix}"
    create_topics(bootstrap, [topic], partitions=2)
    rows = events(60)
    _produce(bootstrap, topic, [orjson.dumps(r) for r in rows[:50]])
    pending = idempotent_producer(bootstrap, {"transactional.id": f"tx-{suffix}", "transaction.timeout.ms": 600000})
    pending.init_transactions(30)
    pending.begin_transaction()
    for n, row in enumerate(rows[50:]):
        pending.produce(topic, value=orjson.dumps(row), key=str(n).encode())
    assert pending.flush(30) == 0

    url = f"duckdb:{tmp_path / 'wh.duckdb'}"
    command = [str(Path(sys.executable).parent / "sptk"), "migrate", "kafka-load", "--bootstrap", bootstrap,
               "--topic", topic, "--warehouse", url, "--group", f"g-{suffix}", "--batch-size", "20",
               "--until-caught-up", "--connect-timeout", "10", "--session-timeout", "6"]
    loader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "SPTK_PROGRESS_INTERVAL_S": "0"})
    try:
        deadline = time.monotonic() + 120
        assert loader.stderr is not None
        for line in loader.stderr:  # a progress line at every step, a heartbeat every second while waiting
            if "50 rows inserted" in line or time.monotonic() > deadline:
                break
        assert loader.poll() is None, "the loader ended before its broker went away"
        private_kafka.stop()
        out, err = loader.communicate(timeout=180)
    finally:
        if loader.poll() is None:
            loader.kill()
    assert loader.returncode == 3, err
    errors = [line for line in err.splitlines() if line.startswith("sptk migrate kafka-load:")]
    assert len(errors) == 1, err
    assert f"Kafka at {bootstrap} did not answer" in errors[0] and "--connect-timeout" in errors[0], errors[0]
    assert "rerun" in errors[0], errors[0]
    assert "Traceback" not in err
    assert not [line for line in err.splitlines() if line.startswith("%")], err  # no raw librdkafka lines
    assert "50 messages" in out and "inserted 50," in out, out

    private_kafka.restart()
    pending.commit_transaction(60)
    # the first run could not leave its group, so the broker holds its partitions until that member's
    # session times out (--session-timeout 6 s here, 45 s by default): the rerun waits for its assignment
    again = subprocess.run([*command, "--connect-timeout", "150"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    # only the ten messages after the committed offsets are read: the first run's commits held
    assert "10 messages" in again.stdout and "inserted 10," in again.stdout, again.stdout
    with Warehouse.open(url) as wh:
        assert wh.backend.query(f"SELECT count(*), count(DISTINCT event_id) FROM {wh.events}") == [(60, 60)]


def test_kafka_load_catches_up_with_a_topic_written_in_transactions(kafka_bootstrap: str, tmp_path: Path) -> None:
    """A transaction's commit marker takes an offset no consumer is handed, so the committed offset stays one
    short of the end: "caught up" must mean read to the end with everything read committed, or an exactly-once
    pipeline's enriched topic is never caught up and the load never ends."""
    import subprocess
    import sys

    suffix = uuid.uuid4().hex[:8]
    topic = f"test.enriched.{suffix}"
    create_topics(kafka_bootstrap, [topic], partitions=2)
    producer = idempotent_producer(kafka_bootstrap, {"transactional.id": f"tx-{suffix}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for n, row in enumerate(events(30)):
        producer.produce(topic, value=orjson.dumps(row), key=str(n).encode())
    producer.commit_transaction(30)
    command = [str(Path(sys.executable).parent / "sptk"), "migrate", "kafka-load", "--bootstrap", kafka_bootstrap,
               "--topic", topic, "--warehouse", f"duckdb:{tmp_path / 'wh.duckdb'}", "--group", f"g-{suffix}",
               "--until-caught-up"]
    try:  # the timeout only turns a load that never ends into a failure; a load takes seconds
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"kafka-load --until-caught-up never caught up: {exc.stderr!r}") from None
    assert done.returncode == 0, done.stderr
    assert "30 messages" in done.stdout and "inserted 30," in done.stdout, done.stdout
    # a second run in the same group reads nothing and ends too
    again = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and "0 messages" in again.stdout, again.stdout + again.stderr
