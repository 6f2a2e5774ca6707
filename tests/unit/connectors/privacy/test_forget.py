"""`sptk privacy forget` on a real DuckDB warehouse and real Parquet, Delta and Iceberg tables kafka-load writes."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from connectors.warehouse.lakes import LakeWarehouse, open_table, parse_lake_url
from tests.unit.connectors.privacy.data import (
    ENV,
    KEY_ENV,
    by_target,
    config,
    forget_json,
    lake_query,
    load_lake,
    load_warehouse,
    rows,
)

FORMATS = ("parquet", "delta", "iceberg")


def _warehouse_counts(path: Path) -> tuple[int, int, int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        user = con.execute("SELECT count(*) FROM atomic.events WHERE domain_userid = 'user-3'").fetchone()[0]
        others = con.execute("SELECT count(*) FROM atomic.events WHERE domain_userid <> 'user-3'").fetchone()[0]
        bad = con.execute("SELECT count(*) FROM atomic.bad_rows").fetchone()[0]
        quoted = con.execute("SELECT count(*) FROM atomic.bad_rows WHERE failure LIKE '%user-33%'").fetchone()[0]
    finally:
        con.close()
    return user, others, bad, quoted


def _audit_rows(path: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM sptk_audit.privacy_requests ORDER BY recorded_at").fetchall()
    finally:
        con.close()


def test_forget_in_duckdb_dry_run_counts_equal_the_real_run_and_a_second_run_affects_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}")
    cfg = str(config(tmp_path))
    args = ("--domain-userid", "user-3", "--warehouse", f"duckdb:{db}", "--config", cfg)

    dry, dry_doc = forget_json(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert by_target(dry_doc)["warehouse"]["counts"] == {"bad_rows": 2, "events": 10}
    assert by_target(dry_doc)["warehouse"]["outcome"] == "dry-run"
    assert _warehouse_counts(db) == (10, 60, 4, 1)  # nothing changed

    real, real_doc = forget_json(*args)
    assert real.exit_code == 0, real.output
    assert by_target(real_doc)["warehouse"]["counts"] == by_target(dry_doc)["warehouse"]["counts"]
    assert by_target(real_doc)["warehouse"]["outcome"] == "done"
    # user-3's events and both of their bad rows are gone; everyone else's rows, and user-33's bad row, stay
    assert _warehouse_counts(db) == (0, 60, 2, 1)

    again, again_doc = forget_json(*args)
    assert again.exit_code == 0, again.output
    assert by_target(again_doc)["warehouse"]["counts"] == {"bad_rows": 0, "events": 0}
    assert by_target(again_doc)["warehouse"]["outcome"] == "done"

    audit = _audit_rows(db)
    assert [(r[1], r[6], r[9], r[11]) for r in audit] == [
        ("forget", True, 12, "dry-run"), ("forget", False, 12, "done"), ("forget", False, 0, "done")]
    salted = hashlib.sha256(f"{ENV['SPTK_TEST_AUDIT_SALT']}\x00domain_userid\x00user-3".encode()).hexdigest()
    assert {r[8] for r in audit} == {salted}
    assert not any("user-3" in str(value) for r in audit for value in r), "the raw identifier reached the audit table"


def test_forget_text_lists_each_target_with_its_counts(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}")
    from tests.unit.connectors.privacy.data import sptk

    result = sptk("forget", "--domain-userid", "user-3", "--warehouse", f"duckdb:{db}", "--config",
                  str(config(tmp_path)), "--dry-run", "--request-id", "DSR-1")
    assert result.exit_code == 0, result.output
    assert "forget request DSR-1: domain_userid sha256 " in result.output
    assert "dry run: nothing changed" in result.output
    assert f"warehouse duckdb:{db}  dry-run  bad_rows 2, events 10" in result.output
    assert "user-3" not in result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_forget_in_a_lake_deletes_the_persons_rows_keeps_the_offsets_and_a_replay_adds_nothing(
        fmt: str, tmp_path: Path) -> None:
    url = f"{fmt}:{tmp_path / 'lake'}"
    load_lake(url)
    lake = parse_lake_url(url)[0]
    offsets = {name: open_table(lake, name).committed() for name in ("events", "bad_rows")}
    args = ("--domain-userid", "user-3", "--lake", url, "--config", str(config(tmp_path)))

    dry, dry_doc = forget_json(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert by_target(dry_doc)["lake"]["counts"] == {"bad_rows": 2, "events": 10}
    assert lake_query(url, "events", "SELECT count(*) FROM {t}") == [(70,)]

    real, real_doc = forget_json(*args)
    assert real.exit_code == 0, real.output
    assert by_target(real_doc)["lake"]["counts"] == {"bad_rows": 2, "events": 10}
    assert lake_query(url, "events", "SELECT count(*) FROM {t} WHERE domain_userid = 'user-3'") == [(0,)]
    assert lake_query(url, "events", "SELECT count(*) FROM {t}") == [(60,)]
    assert sorted(lake_query(url, "bad_rows", "SELECT load_offset FROM {t}")) == [(2,), (3,)]
    assert {name: open_table(lake, name).committed() for name in ("events", "bad_rows")} == offsets

    # kafka-load replaying the same offsets adds nothing back: the committed offsets survived the rewrite
    with LakeWarehouse.open(url) as writer:
        assert writer.load(rows()).inserted == 0
    assert lake_query(url, "events", "SELECT count(*) FROM {t}") == [(60,)]

    again, again_doc = forget_json(*args)
    assert by_target(again_doc)["lake"]["counts"] == {"bad_rows": 0, "events": 0}
    audit = tmp_path / "lake" / "_sptk_audit" / "privacy_requests.jsonl"
    assert len(audit.read_text().splitlines()) == 3 and "user-3" not in audit.read_text()


def test_pseudonymise_replaces_the_identifier_by_the_pipelines_hmac_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}")
    args = ("--domain-userid", "user-3", "--warehouse", f"duckdb:{db}", "--config",
            str(config(tmp_path, mode="pseudonymise")))
    first, doc = forget_json(*args)
    assert first.exit_code == 0, first.output
    assert by_target(doc)["warehouse"]["counts"] == {"bad_rows": 1, "events": 10}
    pseudonym = hmac.new(ENV[KEY_ENV].encode(), b"user-3", hashlib.sha256).hexdigest()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM atomic.events WHERE domain_userid = ?", [pseudonym]).fetchone() == (10,)
    assert con.execute("SELECT count(*) FROM atomic.bad_rows WHERE strpos(failure, ?) > 0",
                       [f'"{pseudonym}"']).fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM atomic.bad_rows").fetchone() == (4,)  # pseudonymised, not deleted
    con.close()
    again, doc = forget_json(*args)
    assert by_target(doc)["warehouse"]["counts"] == {"bad_rows": 0, "events": 0}


@pytest.mark.parametrize("fmt", FORMATS)
def test_pseudonymise_in_a_lake(fmt: str, tmp_path: Path) -> None:
    url = f"{fmt}:{tmp_path / 'lake'}"
    load_lake(url)
    args = ("--domain-userid", "user-3", "--lake", url, "--config", str(config(tmp_path, mode="pseudonymise")))
    first, doc = forget_json(*args)
    assert first.exit_code == 0, first.output
    assert by_target(doc)["lake"]["counts"] == {"bad_rows": 1, "events": 10}
    pseudonym = hmac.new(ENV[KEY_ENV].encode(), b"user-3", hashlib.sha256).hexdigest()
    assert lake_query(url, "events", f"SELECT count(*) FROM {{t}} WHERE domain_userid = '{pseudonym}'") == [(10,)]
    assert lake_query(url, "events", "SELECT count(*) FROM {t}") == [(70,)]
    assert lake_query(url, "bad_rows", "SELECT count(*) FROM {t} WHERE failure LIKE '%user-3\"%'") == [(0,)]
    again, doc = forget_json(*args)
    assert by_target(doc)["lake"]["counts"] == {"bad_rows": 0, "events": 0}


def test_a_failed_target_is_reported_the_others_stay_done_and_the_same_request_resumes(tmp_path: Path) -> None:
    db, lake_dir = tmp_path / "w.duckdb", tmp_path / "lake"
    load_warehouse(f"duckdb:{db}")
    load_lake(f"parquet:{lake_dir}")
    manifest = lake_dir / "events" / "_sptk_manifest.json"
    good = manifest.read_bytes()
    manifest.write_bytes(b"{not json")  # the lake cannot be read
    args = ("--domain-userid", "user-3", "--warehouse", f"duckdb:{db}", "--lake", f"parquet:{lake_dir}",
            "--config", str(config(tmp_path)), "--request-id", "DSR-7")

    failed, doc = forget_json(*args)
    assert failed.exit_code == 1, failed.output
    targets = by_target(doc)
    assert targets["warehouse"]["outcome"] == "done" and targets["warehouse"]["affected"] == 12
    assert targets["lake"]["outcome"] == "failed" and "_sptk_manifest.json" in targets["lake"]["detail"]["error"]
    assert doc["complete"] is False
    assert "1 target(s) failed" in failed.stderr and "--request-id DSR-7" in failed.stderr
    assert _warehouse_counts(db)[0] == 0

    manifest.write_bytes(good)
    resumed, doc = forget_json(*args)
    assert resumed.exit_code == 0, resumed.output
    targets = by_target(doc)
    assert targets["warehouse"]["outcome"] == "already-done" and targets["warehouse"]["affected"] == 0
    assert targets["lake"]["outcome"] == "done" and targets["lake"]["counts"] == {"bad_rows": 2, "events": 10}
    outcomes = [(r[0], r[2].split(" ")[0], r[11]) for r in _audit_rows(db)]
    assert outcomes == [("DSR-7", "warehouse", "done"), ("DSR-7", "lake", "failed"),
                        ("DSR-7", "warehouse", "already-done"), ("DSR-7", "lake", "done")]


def test_a_request_id_cannot_be_reused_for_another_person(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}")
    cfg = str(config(tmp_path))
    first, _ = forget_json("--domain-userid", "user-3", "--warehouse", f"duckdb:{db}", "--config", cfg,
                           "--request-id", "DSR-9")
    assert first.exit_code == 0
    other, _ = forget_json("--domain-userid", "user-4", "--warehouse", f"duckdb:{db}", "--config", cfg,
                           "--request-id", "DSR-9")
    assert other.exit_code == 2
    assert "request id 'DSR-9' already names another forget request" in other.stderr
    assert _warehouse_counts(db)[1] == 60  # user-4 untouched


@pytest.mark.parametrize(("args", "message"), [
    ((), "exactly one of --user-id"),
    (("--user-id", "u", "--domain-userid", "d"), "exactly one of --user-id"),
    (("--user-id", "u"), "give at least one of --warehouse, --lake, --kafka"),
    (("--user-id", " ", "--warehouse", "duckdb:x.duckdb"), "the user_id is empty"),
])
def test_usage_errors_are_one_line_and_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result, _ = forget_json(*args, "--config", str(config(tmp_path)))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_forget_without_a_salt_refuses_before_touching_anything(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}")
    result, _ = forget_json("--user-id", "u", "--warehouse", f"duckdb:{db}")
    assert result.exit_code == 2 and "audit_salt_env" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[requests]\naudit_salt = "inline"\n')
    result, _ = forget_json("--user-id", "u", "--warehouse", f"duckdb:{db}", "--config", str(bad))
    assert result.exit_code == 2 and "may not be written in a config file" in result.stderr
