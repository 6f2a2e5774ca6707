"""`sptk audit --source kafka:BOOTSTRAP/TOPIC` on the real broker: canonical JSON and enriched TSV messages, a
message that is neither, a bad topic; read up to the end offsets the broker gave at start."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from click.testing import CliRunner

from tests.unit.migration.scenario import bad_row, eid
from tests.unit.migration.test_audit import estate
from toolkit.cli.root import main
from toolkit.kafka import create_topics, idempotent_producer


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = idempotent_producer(bootstrap)
    for n, value in enumerate(values):
        producer.produce(topic, value=value, key=str(n).encode())
    assert producer.flush(30) == 0


def test_a_topic_is_audited_up_to_its_end_offsets_at_start(kafka_bootstrap: str, tmp_path: Path,
                                                           enriched_fixtures: Path) -> None:
    from migration.audit.run import run_audit

    suffix = uuid.uuid4().hex[:8]
    topic, bad = f"test.audit.{suffix}", f"test.audit.bad.{suffix}"
    create_topics(kafka_bootstrap, [topic, bad], partitions=3)
    tsv_line = (enriched_fixtures / "rdbloader-3.tsv").read_bytes().rstrip(b"\n")
    _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in estate()] + [tsv_line, b"{truncated"])
    _produce(kafka_bootstrap, bad, [orjson.dumps(bad_row(eid(200 + n))) for n in range(2)])

    def step(text: str) -> None:  # once the end offsets are fixed, more arrives: the audit leaves it
        if text.startswith("reading kafka:"):
            _produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in estate()[:5]])

    doc = run_audit(f"kafka:{kafka_bootstrap}/{topic}?bad={bad}", on_step=step)
    assert doc["totals"]["rows"] == 15 and doc["totals"]["event_ids"] == 13
    assert doc["bad_rows"]["by_type"] == [{"type": "schema_violations", "count": 2, "rate": round(2 / 18, 6)},
                                          {"type": "loader_parsing_error", "count": 1, "rate": round(1 / 18, 6)}]
    assert doc["duplicates"]["event_id"] == {"repeated_ids": 2, "extra_rows": 2, "rate": round(2 / 15, 6)}
    assert [(a["app_id"], a["events"]) for a in doc["apps"]][:2] == [("shop", 12), ("Bad App", 2)]

    # the command line: the five messages produced during the first audit are read by the next one
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", "--source", f"kafka:{kafka_bootstrap}/{topic}", "--json",
                                       str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    again = orjson.loads(report.read_bytes())
    assert again["totals"]["rows"] == 20 and again["bad_rows"]["by_type"] == [
        {"type": "loader_parsing_error", "count": 1, "rate": round(1 / 21, 6)}]


def test_a_missing_topic_is_a_source_that_cannot_be_read(kafka_bootstrap: str) -> None:
    result = CliRunner().invoke(main, ["audit", "--source", f"kafka:{kafka_bootstrap}/no.such.{uuid.uuid4().hex}"])
    assert result.exit_code == 3 and "does not exist" in result.output and "Traceback" not in result.output
