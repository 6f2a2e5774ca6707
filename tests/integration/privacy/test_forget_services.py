"""`sptk privacy forget|retain` against a real PostgreSQL warehouse and tombstones on the real broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.unit.connectors.privacy.data import by_target, config, forget_json, load_warehouse, sptk
from toolkit.kafka import consumer, create_topics, idempotent_producer
from toolkit.kafka.admin import describe_topics


def _pg_counts(url: str, schema: str) -> tuple[int, int]:
    with psycopg.connect(url) as con:
        users = con.execute(f"SELECT count(*) FROM {schema}.events WHERE domain_userid = 'user-3'").fetchone()
        bad = con.execute(f"SELECT count(*) FROM {schema}.bad_rows").fetchone()
    assert users is not None and bad is not None
    return users[0], bad[0]


def test_forget_in_postgresql_with_its_audit_table_append_only(postgres_url: str, tmp_path: Path) -> None:
    schema = f"privacy_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema={schema}"
    load_warehouse(url)
    request = f"DSR-{uuid.uuid4().hex[:8]}"
    args = ("--domain-userid", "user-3", "--warehouse", url, "--config", str(config(tmp_path)),
            "--request-id", request)

    dry, dry_doc = forget_json(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert by_target(dry_doc)["warehouse"]["counts"] == {"bad_rows": 2, "events": 10}
    assert _pg_counts(postgres_url, schema) == (10, 4)
    real, real_doc = forget_json(*args)
    assert real.exit_code == 0, real.output
    assert by_target(real_doc)["warehouse"]["counts"] == by_target(dry_doc)["warehouse"]["counts"]
    assert _pg_counts(postgres_url, schema) == (0, 2)
    again, again_doc = forget_json(*args)  # the same request again: the warehouse is already done
    assert by_target(again_doc)["warehouse"]["outcome"] == "already-done"
    fresh, fresh_doc = forget_json(*args[:-2])  # a new request for the same person: nothing left to delete
    assert by_target(fresh_doc)["warehouse"]["counts"] == {"bad_rows": 0, "events": 0}

    with psycopg.connect(postgres_url, autocommit=True) as con:
        rows = con.execute("SELECT * FROM sptk_audit.privacy_requests WHERE request_id = %s", [request]).fetchall()
        assert [(r[6], r[11]) for r in rows] == [(True, "dry-run"), (False, "done"), (False, "already-done")]
        assert not any("user-3" in str(v) for r in rows for v in r), "the raw identifier reached the audit table"
        for statement in ("UPDATE sptk_audit.privacy_requests SET actor = 'someone else'",
                          "DELETE FROM sptk_audit.privacy_requests", "TRUNCATE sptk_audit.privacy_requests"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                con.execute(statement)


def test_retain_in_postgresql(postgres_url: str, tmp_path: Path) -> None:
    schema = f"privacy_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema={schema}"
    load_warehouse(url)  # every event is from 2024-05-01, every bad row was loaded just now
    result = sptk("retain", "--older-than", "30d", "--warehouse", url, "--json")
    assert result.exit_code == 0, result.output
    assert '"events": 70' in result.stdout and '"bad_rows": 0' in result.stdout
    with psycopg.connect(postgres_url) as con:
        assert con.execute(f"SELECT count(*) FROM {schema}.events").fetchone() == (0,)
        assert con.execute(f"SELECT count(*) FROM {schema}.bad_rows").fetchone() == (4,)


def _pipeline(tmp: Path, bootstrap: str, prefix: str) -> Path:
    path = tmp / "pipeline.yaml"
    resolver = Path(__file__).resolve().parents[3] / "examples" / "iglu" / "resolver.json"
    path.write_text(f"""kafka: {{bootstrap_servers: "{bootstrap}", topic_prefix: {prefix}}}
topics: {{defaults: {{partitions: 2, replication: 1}}}}
source: {{kind: file, file: {{paths: [events.tsv]}}}}
iglu: {{resolver_config: {resolver}}}
output: {{target: kafka}}
derived:
  - name: profiles
    version: 1
    owner: team-crm
    projection: [domain_userid, user_id]
    partition_key: domain_userid
    topic: {{cleanup_policy: compact}}
  - name: clicks
    version: 1
    owner: team-web
    partition_key: domain_userid
""")
    return path


def _last_value_per_key(bootstrap: str, topic: str) -> dict[bytes, bytes | None]:
    c = consumer(bootstrap, f"privacy-test-{uuid.uuid4().hex[:8]}")
    c.subscribe([topic])
    seen: dict[bytes, bytes | None] = {}
    try:
        empty = 0
        while empty < 5:
            msg = c.poll(2.0)
            if msg is None:
                empty += 1
                continue
            assert msg.error() is None, msg.error()
            seen[msg.key()] = msg.value()
    finally:
        c.close()
    return seen


def test_forget_writes_tombstones_to_the_consent_topic_and_compacted_user_streams(kafka_bootstrap: str,
                                                                                   tmp_path: Path) -> None:
    prefix = f"test.privacy.{uuid.uuid4().hex[:8]}"
    consent, profiles, clicks = f"{prefix}.consent", f"{prefix}.derived.profiles.v1", f"{prefix}.derived.clicks.v1"
    create_topics(kafka_bootstrap, [consent, profiles], partitions=2, config={"cleanup.policy": "compact"})
    create_topics(kafka_bootstrap, [clicks], partitions=2)
    producer = idempotent_producer(kafka_bootstrap)
    for user in (b"user-3", b"user-4"):  # the consent topic is keyed <kind>:<value>, a user stream by the value
        producer.produce(consent, key=b"domain_userid:" + user, value=b'{"withdrawn": true}')
        producer.produce(profiles, key=user, value=b'{"withdrawn": true}')
    assert producer.flush(30) == 0
    pipeline = _pipeline(tmp_path, kafka_bootstrap, prefix)
    audit = f"jsonl:{tmp_path / 'audit.jsonl'}"
    args = ("--domain-userid", "user-3", "--kafka", str(pipeline), "--config", str(config(tmp_path)), "--audit", audit)

    dry, dry_doc = forget_json(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert {t["target"]: t["counts"] for t in dry_doc["targets"]} == {
        f"kafka {consent}": {"tombstones": 1}, f"kafka {profiles}": {"tombstones": 1}}  # clicks: not compacted
    assert _last_value_per_key(kafka_bootstrap, consent) == {b"domain_userid:user-3": b'{"withdrawn": true}',
                                                             b"domain_userid:user-4": b'{"withdrawn": true}'}

    real, real_doc = forget_json(*args)
    assert real.exit_code == 0, real.output
    assert {t["target"]: t["counts"] for t in real_doc["targets"]} == {
        t["target"]: t["counts"] for t in dry_doc["targets"]}
    assert _last_value_per_key(kafka_bootstrap, consent) == {b"domain_userid:user-3": None,
                                                             b"domain_userid:user-4": b'{"withdrawn": true}'}
    assert _last_value_per_key(kafka_bootstrap, profiles) == {b"user-3": None, b"user-4": b'{"withdrawn": true}'}

    again, again_doc = forget_json(*args)  # a new request: the tombstones still stand, nothing is written
    assert {t["counts"]["tombstones"] for t in again_doc["targets"]} == {0}
    producer.produce(consent, key=b"domain_userid:user-3", value=b'{"suppressed": true}')  # withdrawn again
    assert producer.flush(30) == 0
    after, after_doc = forget_json(*args)
    assert {t["target"]: t["counts"]["tombstones"] for t in after_doc["targets"]} == {
        f"kafka {consent}": 1, f"kafka {profiles}": 0}
    assert _last_value_per_key(kafka_bootstrap, consent)[b"domain_userid:user-3"] is None
    assert "user-3" not in (tmp_path / "audit.jsonl").read_text()
    assert describe_topics(kafka_bootstrap, [clicks])[clicks] is not None


def test_an_unreachable_broker_fails_its_targets_only(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}")
    pipeline = _pipeline(tmp_path, "127.0.0.1:1", "test.privacy.down")
    result, doc = forget_json("--domain-userid", "user-3", "--warehouse", f"duckdb:{db}", "--kafka", str(pipeline),
                              "--config", str(config(tmp_path)))
    assert result.exit_code == 1, result.output
    outcomes = {t["target"].split(" ")[0] + (" " + t["target"].split(" ")[1] if "kafka" in t["target"] else ""):
                t["outcome"] for t in doc["targets"]}
    assert outcomes == {"warehouse": "done", "kafka test.privacy.down.consent": "failed",
                        "kafka test.privacy.down.derived.profiles.v1": "failed"}
    assert "127.0.0.1:1" in doc["targets"][1]["detail"]["error"]
