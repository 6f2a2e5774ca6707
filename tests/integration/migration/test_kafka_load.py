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
from tests.unit.migration.scenario import bad_row, eid, events, run, write_jsonl
from toolkit.cli import main
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
