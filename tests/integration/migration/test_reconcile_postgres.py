"""The same reconciliation on PostgreSQL as on DuckDB: same buckets, same ids, same columns, same verdict.

Both sides are loaded with the real loader into a DuckDB file and into two schemas of
the real PostgreSQL server; `sptk reconcile` then runs natively in PostgreSQL, in
DuckDB, and across the two (PostgreSQL staged into DuckDB).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from connectors.warehouse import BadRowRecord, Dedup, Provenance, Warehouse
from tests.unit.migration.scenario import clone, eid, event, events, run

pytestmark = pytest.mark.postgres


def _sides() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    legacy = events(150) + [event(300 + i, minute=100 + i, name="link_click") for i in range(10)]
    legacy.append(event(4, event_fingerprint="fp-synthetic", page_title="Other"))  # synthetic duplicate
    legacy.append(event(6))  # natural duplicate
    new = [r for r in clone(legacy[:160]) if r["event_id"] not in (eid(10), eid(11), eid(149))]
    new.append(event(500, minute=20))  # only in the new path
    new[30]["page_title"] = "Changed"  # eid(32)
    new[40]["collector_tstamp"] = new[40]["collector_tstamp"].replace(".250Z", ".250999Z")  # µs vs ms: equal
    new[41]["contexts_com_acme_page_1"] = [{"section": "news", "id": 43, "_schema_version": "1-0-0"}]  # rules: equal
    new[42]["contexts_com_acme_page_1"] = [{"id": 44, "section": "sport"}]  # value change
    return legacy, new


def _load(url: str, rows: list[dict[str, Any]], bad: list[str] = ()) -> None:  # type: ignore[assignment]
    with Warehouse.open(url) as wh:
        report = wh.load([(r, Provenance.file_line("side.jsonl", n)) for n, r in enumerate(rows, 1)], Dedup.NONE)
        assert report.rejected == 0, report.problems
        wh.load_bad_rows([BadRowRecord(i, "enrichment_failures", None, Provenance.kafka("bad", 0, n))
                          for n, i in enumerate(bad)])


@pytest.fixture
def pg_schemas(postgres_url: str) -> Iterator[tuple[str, str]]:
    prefix = "rc_" + uuid.uuid4().hex[:8]
    yield f"{prefix}_legacy", f"{prefix}_new"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        for suffix in ("legacy", "new"):
            con.execute(f'DROP SCHEMA IF EXISTS "{prefix}_{suffix}" CASCADE')


def _reconcile(tmp: Path, legacy: str, new: str, name: str, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp / f"{name}.json"
    result = run("--legacy", legacy, "--new", new, "--json", str(report), "--lookback", "30m", *args)
    document = orjson.loads(report.read_bytes())
    document.pop("sources")
    return result.exit_code, document


def _without_freshness(document: dict[str, Any]) -> dict[str, Any]:
    """Freshness measures each load's own load_tstamp, which differs between two loads of the same events."""
    windows = [{k: v for k, v in w.items() if k != "freshness"} for w in document["windows"]]
    return {**{k: v for k, v in document.items() if k != "freshness"}, "windows": windows}


def types_count(document: dict[str, Any], name: str) -> int:
    return sum(t["new"] for t in document["by_event_type"] if t["event_name"] == name)


def test_the_same_findings_on_postgres_as_on_duckdb(tmp_path: Path, postgres_url: str,
                                                     pg_schemas: tuple[str, str]) -> None:
    legacy, new = _sides()
    duck = tmp_path / "wh.duckdb"
    _load(f"duckdb:{duck}?schema=legacy", legacy)
    _load(f"duckdb:{duck}?schema=kafka", new, bad=[eid(11)])
    pg_legacy, pg_new = (f"{postgres_url}?schema={s}" for s in pg_schemas)
    _load(pg_legacy, legacy)
    _load(pg_new, new, bad=[eid(11)])

    code_duck, on_duck = _reconcile(tmp_path, f"duckdb:{duck}?schema=legacy", f"duckdb:{duck}?schema=kafka", "duck")
    code_pg, on_pg = _reconcile(tmp_path, pg_legacy, pg_new, "pg")
    code_mixed, mixed = _reconcile(tmp_path, f"duckdb:{duck}?schema=legacy", pg_new, "mixed")

    assert code_duck == code_pg == code_mixed == 2
    assert on_duck["only_legacy"] == {"count": 1, "sample": [eid(10)]}
    assert on_duck["only_new"] == {"count": 1, "sample": [eid(500)]}
    assert on_duck["pending"] == {"count": 1, "sample": [eid(149)]}
    assert on_duck["rejected"] == {"count": 1, "sample": [eid(11)], "by_type": {"enrichment_failures": 1}}
    assert on_duck["modified"] == {"count": 2, "sample": [eid(32), eid(44)],
                                   "columns": {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.section": 1,
                                               "page_title": 1},
                                   "values": {eid(32): {"page_title": {"legacy": "Page 32", "new": "Changed"}},
                                              eid(44): {"contexts_com_acme_page_1": {
                                                  "legacy": '[{"id":44,"section":"news"}]',
                                                  "new": '[{"id":44,"section":"sport"}]'}}}}
    assert on_duck["duplicates"]["legacy"] == {"natural": 1, "synthetic_event_ids": 1}
    types = {t["event_name"]: t["status"] for t in on_duck["by_event_type"]}
    assert types == {"page_view": "fail", "link_click": "parity"}
    assert _without_freshness(on_pg) == _without_freshness(on_duck)
    fresh = on_pg["freshness"]["new"]  # percentile_cont on PostgreSQL
    assert fresh is not None and 0 < fresh["p50_s"] <= fresh["p95_s"] <= fresh["p99_s"]
    code_scoped, scoped = _reconcile(tmp_path, pg_legacy, pg_new, "pg-scoped", "--event",
                                     "com.snowplowanalytics.snowplow/link_click/jsonschema/1-*-*")
    assert code_scoped == 0 and scoped["totals"]["new"]["event_ids"] == types_count(on_duck, "link_click")
    # across backends JSON text differs in form (jsonb), so more windows are settled key by key; same findings
    assert _findings(_without_freshness(mixed)) == _findings(_without_freshness(on_duck))


def _findings(document: dict[str, Any]) -> dict[str, Any]:
    document = orjson.loads(orjson.dumps(document))
    document["totals"].pop("windows_diffed")
    for window in document["windows"]:
        window.pop("checksum_match")
    return document


def test_a_postgres_side_that_is_not_there_is_undecided(tmp_path: Path, postgres_url: str,
                                                         pg_schemas: tuple[str, str]) -> None:
    legacy, _ = _sides()
    _load(f"{postgres_url}?schema={pg_schemas[0]}", legacy)
    result = run("--legacy", f"{postgres_url}?schema={pg_schemas[0]}",
                 "--new", f"{postgres_url}?schema={pg_schemas[1]}")
    assert result.exit_code == 3 and f"no {pg_schemas[1]}.events table" in result.output
    down = run("--legacy", f"{postgres_url}?schema={pg_schemas[0]}", "--new", "postgresql://x@127.0.0.1:1/none")
    assert down.exit_code == 3 and "cannot connect to PostgreSQL" in down.output


def test_a_postgres_connection_lost_mid_run_is_undecided(postgres_url: str, pg_schemas: tuple[str, str]) -> None:
    """The server ends the session after the first query: the verdict is undecided, never parity."""
    from migration.reconcile.config import ReconcileConfig
    from migration.reconcile.engine import reconcile
    from migration.sources import open_workspace, parse_source

    legacy, _ = _sides()
    for schema in pg_schemas:
        _load(f"{postgres_url}?schema={schema}", legacy)
    workspace = open_workspace(*(parse_source(f"{postgres_url}?schema={s}") for s in pg_schemas))
    pid = workspace.backend.query("SELECT pg_backend_pid()")[0][0]
    original = workspace.backend.query
    calls = []

    def query_then_lose_the_server(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        calls.append(sql)
        if len(calls) == 2:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return original(sql, params)

    workspace.backend.query = query_then_lose_the_server  # type: ignore[method-assign]
    try:
        result = reconcile(workspace, ReconcileConfig(lookback_us=0))
    finally:
        workspace.close()
    assert result.verdict == "undecided" and result.exit_code == 3
    assert "a source failed mid-run" in (result.error or "") and "terminat" in (result.error or "")


def test_a_bad_row_file_explains_a_postgres_side(tmp_path: Path, postgres_url: str,
                                                  pg_schemas: tuple[str, str]) -> None:
    from tests.unit.migration.scenario import bad_row, write_jsonl

    legacy, _ = _sides()
    _load(f"{postgres_url}?schema={pg_schemas[0]}", legacy)
    _load(f"{postgres_url}?schema={pg_schemas[1]}", [r for r in legacy if r["event_id"] != eid(7)])
    bad = write_jsonl(tmp_path / "bad.jsonl", [bad_row(eid(7), "enrichment_failures")])
    code, report = _reconcile(tmp_path, f"{postgres_url}?schema={pg_schemas[0]}",
                              f"{postgres_url}?schema={pg_schemas[1]}&bad={bad}", "bad")
    assert code == 1
    assert report["rejected"] == {"count": 1, "sample": [eid(7)], "by_type": {"enrichment_failures": 1}}


def test_a_postgres_side_that_cannot_be_reached_is_undecided_never_warn(postgres_url: str) -> None:
    """Both sides on one server (compared in place), a closed port and a server that hangs up: always exit 3."""
    import socket
    import threading

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    same = run("--legacy", f"postgresql://x@127.0.0.1:{port}/db?schema=a",
               "--new", f"postgresql://x@127.0.0.1:{port}/db?schema=b")
    assert same.exit_code == 3 and f"cannot connect to PostgreSQL at 127.0.0.1:{port}" in same.output

    rude = socket.socket()
    rude.bind(("127.0.0.1", 0))
    rude.listen(8)

    def hang_up() -> None:
        while True:
            try:
                conn, _ = rude.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        port = rude.getsockname()[1]
        hung_up = run("--legacy", f"postgresql://x@127.0.0.1:{port}/db", "--new", f"{postgres_url}?schema=a")
    finally:
        rude.close()
    assert hung_up.exit_code == 3 and "cannot connect to PostgreSQL" in hung_up.output


def test_a_postgres_side_locked_by_another_session_is_undecided(tmp_path: Path, postgres_url: str,
                                                                 pg_schemas: tuple[str, str]) -> None:
    """A lock another session holds (a migration, a long load) fails the copy: undecided with the reason, no trace."""
    from click.testing import CliRunner

    from toolkit.cli.root import main

    legacy, _ = _sides()
    _load(f"{postgres_url}?schema={pg_schemas[0]}", legacy)
    duck = f"duckdb:{tmp_path / 'new.duckdb'}"
    _load(duck, legacy)
    with psycopg.connect(postgres_url) as locker:
        locker.execute(f'LOCK TABLE "{pg_schemas[0]}".events IN ACCESS EXCLUSIVE MODE')
        result = CliRunner().invoke(main, [
            "reconcile", "--legacy", f"{postgres_url}?schema={pg_schemas[0]}&options=--lock_timeout%3D300",
            "--new", duck])
        locker.rollback()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 3, result.output
    assert "the legacy side" in result.output and "canceling statement due to lock timeout\n" in result.output
    assert "LINE 1" not in result.output  # one line, not the SQL echo
