"""`sptk migrate kafka-load` into Parquet, Delta and Iceberg against the real broker: replay, then kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import orjson
import pytest
from click.testing import CliRunner

from connectors.warehouse.lakes import open_table, parse_lake_url
from tests.unit.migration.scenario import events
from toolkit.cli.root import main
from toolkit.kafka import create_topics, idempotent_producer

FORMATS = ("parquet", "delta", "iceberg")
SPTK = str(Path(sys.executable).with_name("sptk"))


def _produce(bootstrap: str, topic: str, n: int) -> None:
    producer = idempotent_producer(bootstrap)
    for i, row in enumerate(events(n, minute=0)):
        producer.produce(topic, value=orjson.dumps(dict(row, event_id=f"00000000-0000-4000-8000-{i:012d}")),
                         key=str(i).encode())
    assert producer.flush(30) == 0


def _args(bootstrap: str, topic: str, url: str, group: str, batch: int) -> list[str]:
    # a killed member's partitions go to the restart after 6 s rather than librdkafka's default 45
    return ["migrate", "kafka-load", "--bootstrap", bootstrap, "--topic", topic, "--warehouse", url,
            "--group", group, "--batch-size", str(batch), "--until-caught-up", "--session-timeout", "6"]


def _counts(url: str) -> tuple[int, int]:
    con = duckdb.connect()
    assert open_table(parse_lake_url(url)[0], "events").scan(con, "ev")
    rows, ids = con.execute("SELECT count(*), count(DISTINCT event_id) FROM ev").fetchone()  # type: ignore[misc]
    return rows, ids


@pytest.mark.parametrize("fmt", FORMATS)
def test_kafka_load_into_a_lake_then_a_replay_adds_no_rows(fmt: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic = f"test.lake.{suffix}"
    create_topics(kafka_bootstrap, [topic], partitions=3)
    _produce(kafka_bootstrap, topic, 150)
    url = f"{fmt}:{tmp_path / 'lake'}"
    first = CliRunner().invoke(main, _args(kafka_bootstrap, topic, url, f"g1-{suffix}", 40), catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "inserted 150," in first.output
    assert _counts(url) == (150, 150)
    # a new consumer group replays every offset: the table's own commit metadata says they are in
    replay = CliRunner().invoke(main, _args(kafka_bootstrap, topic, url, f"g2-{suffix}", 40), catch_exceptions=False)
    assert replay.exit_code == 0, replay.output
    assert "inserted 0," in replay.output and "already loaded 150," in replay.output
    assert _counts(url) == (150, 150)
    committed = open_table(parse_lake_url(url)[0], "events").committed()
    assert sum(last + 1 for last in committed.values()) == 150


@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_9_mid_load_then_restart_loads_every_event_exactly_once(fmt: str, kafka_bootstrap: str,
                                                                     tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, group, total = f"test.lake.kill.{suffix}", f"g-{suffix}", 3000
    create_topics(kafka_bootstrap, [topic], partitions=3)
    _produce(kafka_bootstrap, topic, total)
    url = f"{fmt}:{tmp_path / 'lake'}"
    table = open_table(parse_lake_url(url)[0], "events")
    env = {**os.environ, "SPTK_PROGRESS": "never"}
    first = subprocess.Popen([SPTK, *_args(kafka_bootstrap, topic, url, group, 25)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if sum(last + 1 for last in table.committed().values()) >= 200:  # some batches are in: kill mid-load
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL, (
        f"the load ended (exit {first.returncode}) before it could be killed: "
        f"{first.stderr.read().decode(errors='replace')[-3000:] if first.stderr else ''}")
    loaded_before = _counts(url)[0]
    assert 0 < loaded_before < total

    # the killed member holds its partitions until its session times out: the restart waits for them
    second = subprocess.run([SPTK, *_args(kafka_bootstrap, topic, url, group, 500), "--connect-timeout", "120"],
                            env=env,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _counts(url) == (total, total)  # nothing lost, nothing twice
    print(f"kill -9 into {fmt}: {loaded_before} rows in before the kill, {total} exactly once after the restart")
