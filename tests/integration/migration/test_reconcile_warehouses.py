"""``sql:URL`` sources and Snowplow's two table layouts, against real DuckDB (duckdb-engine) and PostgreSQL.

The wide side is loaded by the toolkit's own loader (one JSON column per entity); the shredded side is the
same events with that column moved into an entity table joined on root_id/root_tstamp, as Redshift and the
Postgres loader keep it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from connectors.warehouse import Dedup, Provenance, Warehouse
from migration.reconcile.scope import scope_from_options
from migration.sources import open_workspace, parse_source
from tests.unit.migration.scenario import clone, eid, events, run

pytestmark = pytest.mark.postgres


def _load(url: str, rows: list[dict[str, Any]]) -> None:
    with Warehouse.open(url) as wh:
        report = wh.load([(r, Provenance.file_line("side.jsonl", n)) for n, r in enumerate(rows, 1)], Dedup.NONE)
        assert report.rejected == 0, report.problems


def shred(con: Any, schema: str, column: str = "contexts_com_acme_page_1", table: str = "com_acme_page_1") -> None:
    """Move a wide-row context column into a shredded entity table (the events keep no entity column)."""
    con.execute(
        f'CREATE TABLE "{schema}"."{table}" AS SELECT \'com.acme\'::text AS schema_vendor, \'page\'::text AS '
        f"schema_name, 'jsonschema'::text AS schema_format, '1-0-0'::text AS schema_version, "
        f"e.event_id AS root_id, e.collector_tstamp AS root_tstamp, 'events'::text AS ref_root, "
        f"'[\"events\",\"page\"]'::text AS ref_tree, 'events'::text AS ref_parent, "
        f"(c->>'id')::bigint AS id, c->>'section' AS section "
        f'FROM "{schema}".events e, jsonb_array_elements(e.{column}) c')
    con.execute(f'ALTER TABLE "{schema}".events DROP COLUMN {column}')


def sqlalchemy_url(postgres_url: str) -> str:
    return "sql:" + postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    schema = "wh_" + uuid.uuid4().hex[:8]
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as con:
        for suffix in ("", "_wide"):
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}{suffix}" CASCADE')


def _reconcile(tmp: Path, legacy: str, new: str, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp / "report.json"
    result = run("--legacy", legacy, "--new", new, "--json", str(report), "--lookback", "0s", *args)
    assert report.exists(), result.output
    return result.exit_code, orjson.loads(report.read_bytes())


def _shredded_pg(postgres_url: str, schema: str, rows: list[dict[str, Any]]) -> str:
    _load(f"{postgres_url}?schema={schema}", rows)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        shred(con, schema)
    return f"{sqlalchemy_url(postgres_url)}?schema={schema}"


def test_shredded_postgres_against_wide_duckdb_with_equal_data_is_at_parity(
        tmp_path: Path, postgres_url: str, pg_schema: str) -> None:
    rows = events(90)
    duck = tmp_path / "wide.duckdb"
    _load(f"duckdb:{duck}", rows)
    shredded = _shredded_pg(postgres_url, pg_schema, rows)
    code, report = _reconcile(tmp_path, shredded, f"sql:duckdb:///{duck}")
    assert code == 0, report["reasons"]
    assert report["totals"]["legacy"]["event_ids"] == report["totals"]["new"]["event_ids"] == 90
    assert report["sources"]["legacy"].endswith(f"schema={pg_schema}")
    assert "@" in report["sources"]["legacy"]


def test_a_changed_entity_field_on_the_shredded_side_is_named_with_its_entity(
        tmp_path: Path, postgres_url: str, pg_schema: str) -> None:
    rows = events(90)
    duck = tmp_path / "wide.duckdb"
    _load(f"duckdb:{duck}", rows)
    shredded = _shredded_pg(postgres_url, pg_schema, rows)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'UPDATE "{pg_schema}".com_acme_page_1 SET section = \'sport\' WHERE root_id = %s', [eid(12)])
    code, report = _reconcile(tmp_path, shredded, f"sql:duckdb:///{duck}")
    assert code == 2, report["reasons"]
    modified = report["modified"]
    assert modified["count"] == 1 and modified["sample"] == [eid(12)]
    assert modified["columns"] == {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.section": 1}


def test_both_sides_in_one_postgres_run_there_in_either_layout(
        tmp_path: Path, postgres_url: str, pg_schema: str) -> None:
    rows = events(60)
    changed = clone(rows)
    changed[5]["page_title"] = "Changed"
    shredded = _shredded_pg(postgres_url, pg_schema, rows)
    _load(f"{postgres_url}?schema={pg_schema}_wide", changed)
    wide = f"{sqlalchemy_url(postgres_url)}?schema={pg_schema}_wide&layout=wide"
    code, report = _reconcile(tmp_path, shredded, wide)
    assert code == 2, report["reasons"]
    assert report["modified"]["columns"] == {"page_title": 1}
    assert report["modified"]["sample"] == [eid(5)]


def test_both_sides_in_one_duckdb_through_duckdb_engine(tmp_path: Path) -> None:
    rows = events(40)
    new = clone(rows)
    del new[3]
    duck = tmp_path / "wh.duckdb"
    _load(f"duckdb:{duck}?schema=legacy", rows)
    _load(f"duckdb:{duck}?schema=kafka", new)
    code, report = _reconcile(tmp_path, f"sql:duckdb:///{duck}?schema=legacy", f"sql:duckdb:///{duck}?schema=kafka")
    assert code == 2, report["reasons"]
    assert report["only_legacy"]["sample"] == [eid(3)]
    parity, _ = _reconcile(tmp_path, f"sql:duckdb:///{duck}?schema=legacy", f"sql:duckdb:///{duck}?schema=legacy")
    assert parity == 0


SECTIONS = "- {name: sections, aggregation: count_distinct, field: 'contexts_com_acme_page_1[0].section'}\n"


def test_a_scope_and_a_metric_on_an_entity_field_reach_a_shredded_postgres_side_copied_into_duckdb(
        tmp_path: Path, postgres_url: str, pg_schema: str) -> None:
    rows = events(90)  # 10:00 .. 11:29
    duck = tmp_path / "wide.duckdb"
    _load(f"duckdb:{duck}", rows)
    shredded = _shredded_pg(postgres_url, pg_schema, rows)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'UPDATE "{pg_schema}".com_acme_page_1 SET section = \'sport\' WHERE root_id = %s', [eid(12)])
    metrics = tmp_path / "metrics.yaml"
    metrics.write_text(SECTIONS)
    code, report = _reconcile(tmp_path, shredded, f"sql:duckdb:///{duck}", "--metrics", str(metrics))
    assert code == 2, report["reasons"]
    assert report["modified"]["columns"] == {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.section": 1}
    sections = report["metrics"]["sections"]
    assert (sections["legacy"], sections["new"], sections["status"], sections["ok"]) == (2.0, 1.0, "fail", False)
    assert report["freshness"]["legacy"] is not None and report["freshness"]["new"] is not None
    # scoped past event 12: parity, and only the scope's rows were copied out of PostgreSQL
    scoped_code, scoped = _reconcile(tmp_path, shredded, f"sql:duckdb:///{duck}", "--metrics", str(metrics),
                                     "--since", "2024-05-01T11:00:00Z")
    assert scoped_code == 0, scoped["reasons"]
    assert scoped["totals"]["legacy"]["event_ids"] == scoped["totals"]["new"]["event_ids"] == 30
    assert scoped["metrics"]["sections"]["status"] == "parity"
    scope = scope_from_options("2024-05-01T11:00:00Z", None, (), (), ())
    with open_workspace(parse_source(shredded), parse_source(f"sql:duckdb:///{duck}"), scope=scope) as workspace:
        [(copied,)] = workspace.backend.query(f"SELECT count(*) FROM {workspace.legacy.relation}")
        assert copied == 30 and "contexts_com_acme_page_1" in workspace.legacy.columns


def test_a_scope_and_a_metric_run_in_place_when_both_sides_are_in_one_postgres(
        tmp_path: Path, postgres_url: str, pg_schema: str) -> None:
    rows = events(60)
    changed = clone(rows)
    changed[5]["contexts_com_acme_page_1"] = [{"id": 5, "section": "sport"}]
    changed[40]["page_title"] = "Changed"
    shredded = _shredded_pg(postgres_url, pg_schema, rows)
    _load(f"{postgres_url}?schema={pg_schema}_wide", changed)
    wide = f"{sqlalchemy_url(postgres_url)}?schema={pg_schema}_wide&layout=wide"
    metrics = tmp_path / "metrics.yaml"
    metrics.write_text(SECTIONS)
    code, report = _reconcile(tmp_path, shredded, wide, "--metrics", str(metrics), "--until",
                              "2024-05-01T10:30:00Z")
    assert code == 2, report["reasons"]
    assert report["totals"]["legacy"]["event_ids"] == 30 and report["modified"]["sample"] == [eid(5)]
    assert report["modified"]["columns"] == {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.section": 1}
    assert report["metrics"]["sections"]["status"] == "fail"  # jsonb on PostgreSQL: news, sport vs news
    assert report["settings"]["scope"]["until"] == "2024-05-01T10:30:00Z"
    assert report["freshness"]["new"] is not None  # percentile_cont in the warehouse
