"""Every worked example in docs/reconciliation.md, run for real.

An example is a fenced block holding an ``sptk reconcile --legacy ...`` command, preceded by a marker
``<!-- example: NAME -->``. Its ``# verdict: V (exit N)`` line and its ``# report.json: KEY.PATH = JSON`` lines are
what the doc promises; this test builds the data the example names (a builder per NAME below, in a fresh folder
that is the working directory), runs the command through the real CLI, and checks each promise. A marked example
without a builder, a builder without an example, or an example block without a marker fails the test, so the doc
and the test cannot drift apart. PostgreSQL examples get a database of their own (the doc's
``sptk@127.0.0.1:5432/sptk`` is replaced by it); the Snowflake example runs in the fakesnow emulator.
"""

from __future__ import annotations

import gzip
import re
import shlex
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from connectors.warehouse import Dedup, Provenance, Warehouse
from connectors.warehouse.lakes import LakeWarehouse
from tests.unit.migration.scenario import bad_row, clone, eid, event, events, write_jsonl
from toolkit.cli.root import main

DOC = Path(__file__).parents[3] / "docs" / "reconciliation.md"
DOC_POSTGRES = "sptk@127.0.0.1:5432/sptk"
MARKER = re.compile(r"<!-- example: ([\w-]+) -->\n+```[^\n]*\n(.*?)```", re.S)
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
COMMAND = re.compile(r"^sptk reconcile --legacy", re.M)


@dataclass(frozen=True)
class Example:
    name: str
    argv: list[str]
    verdict: str
    exit_code: int
    promises: list[tuple[str, Any]]


def parse_example(name: str, block: str) -> Example:
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("sptk reconcile "))
    command = []
    for line in lines[start:]:
        command.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    argv = shlex.split(" ".join(command))[2:]  # after `sptk reconcile`
    verdict = re.search(r"^# verdict: (\w+) \(exit (\d)\)$", block, re.M)
    assert verdict, f"example {name}: no '# verdict: V (exit N)' line"
    promises = [(path, orjson.loads(value)) for path, value in
                re.findall(r"^# report\.json: ([\w.\[\]]+) = (.+)$", block, re.M)]
    return Example(name, argv, verdict.group(1), int(verdict.group(2)), promises)


def doc_examples() -> dict[str, Example]:
    return {name: parse_example(name, block) for name, block in MARKER.findall(DOC.read_text(encoding="utf-8"))}


# -- the data each example names ------------------------------------------------------------------------------------

Postgres = Callable[[], str]  # a URL to a database of the example's own (created on first use)


def load(url: str, rows: list[dict[str, Any]]) -> None:
    with Warehouse.open(url) as wh:
        report = wh.load([(r, Provenance.file_line("side.jsonl", n)) for n, r in enumerate(rows, 1)], Dedup.NONE)
        assert report.rejected == 0, report.problems


def lake(url: str, rows: list[dict[str, Any]]) -> None:
    with LakeWarehouse.open(url) as target:
        target.load([(r, Provenance.kafka("enriched", 0, i)) for i, r in enumerate(rows)])


def arrow(url: str, schema: str = "atomic") -> pa.Table:
    """The side's events as a warehouse exports them: entity columns as JSON text."""
    with Warehouse.open(url) as wh:
        return wh.backend.con.sql(
            f"SELECT * REPLACE (CAST(contexts_com_acme_page_1 AS VARCHAR) AS contexts_com_acme_page_1) "
            f"FROM {schema}.events").to_arrow_table()


def duckdb_two_schemas(tmp: Path, pg: Postgres) -> None:
    rows = events(120)
    load("duckdb:warehouse.duckdb?schema=legacy", rows)
    load("duckdb:warehouse.duckdb?schema=kafka", [r for r in rows if r["event_id"] != eid(110)])


def jsonl_with_bad_rows(tmp: Path, pg: Postgres) -> None:
    rows = events(120)
    write_jsonl(tmp / "legacy.jsonl", rows)
    write_jsonl(tmp / "new.jsonl", [r for r in rows if r["event_id"] != eid(7)])
    write_jsonl(tmp / "bad-rows.jsonl", [bad_row(eid(7))])


def tsv_archive_vs_duckdb(tmp: Path, pg: Postgres) -> None:
    from toolkit.contract.profiles.canonical import to_dict
    from toolkit.contract.samples import SampleSpec, generate
    from toolkit.contract.tsv import ParseFailure, parse_line

    lines = list(generate(SampleSpec(events=200, seed=3, parse_failure_ratio=0.0, schema_failure_ratio=0.0,
                                     duplicate_ratio=0.0, late_ratio=0.0)))
    archive = tmp / "archive" / "run=2026-11-01-00-00-00"
    archive.mkdir(parents=True)
    (archive / "part-00000").write_bytes(gzip.compress(("\n".join(lines) + "\nnot an enriched event\n").encode()))
    parsed = [parse_line(line) for line in lines]
    load("duckdb:kafka.duckdb", [to_dict(e) for e in parsed if not isinstance(e, ParseFailure)])


def postgresql_vs_duckdb(tmp: Path, pg: Postgres) -> None:
    rows = events(120)
    changed = clone(rows)
    changed[21]["page_title"] = "Page 21 (new title)"
    load(f"{pg()}?schema=legacy", rows)
    load("duckdb:kafka.duckdb", changed)


def parquet_export_vs_duckdb(tmp: Path, pg: Postgres) -> None:
    rows = events(120)
    load("duckdb:kafka.duckdb", rows)
    table = arrow("duckdb:kafka.duckdb")
    folder = tmp / "exports" / "events" / "dt=2024-05-01"
    folder.mkdir(parents=True)
    for n, start in enumerate(range(0, 120, 50)):  # COPY INTO writes parts of a bounded size
        pq.write_table(table.slice(start, 50), folder / f"data_0_0_{n}.snappy.parquet")


def delta_databricks_vs_kafka_delta(tmp: Path, pg: Postgres) -> None:
    from deltalake import write_deltalake

    rows = events(120)
    load("duckdb:staging.duckdb", rows)
    table = arrow("duckdb:staging.duckdb")
    write_deltalake(str(tmp / "lake" / "atomic_events"),
                    table.cast(pa.schema([f.with_nullable(True) for f in table.schema])))
    lake("delta:lake/kafka", [r for r in rows if r["event_id"] != eid(7)])


def iceberg_vs_parquet(tmp: Path, pg: Postgres) -> None:
    rows = events(120)
    lake("parquet:lake/legacy", rows)
    lake("iceberg:lake/iceberg", rows)


def checkout(i: int, app: str) -> dict[str, Any]:
    return event(i, name="checkout_step", event="unstruct", event_vendor="com.acme", app_id=app,
                 unstruct_event_com_acme_checkout_step_1={"step": i % 4})


def scoped_run(tmp: Path, pg: Postgres) -> None:
    # 10:00-11:59: page views, and a checkout step every third minute, in two apps
    rows = [checkout(i, "shop" if i % 2 else "blog") if i % 3 == 0 else event(i) for i in range(120)]
    new = clone(rows)
    new[10]["page_title"] = "differs, but a page view (not in --event)"
    new[30]["unstruct_event_com_acme_checkout_step_1"] = {"step": 9}  # the blog app's: not in --app-id
    new[99]["unstruct_event_com_acme_checkout_step_1"] = {"step": 9}  # 11:39: after --until
    lake("parquet:exports", rows)
    load("duckdb:kafka.duckdb", new)


def freshness_limits(tmp: Path, pg: Postgres) -> None:
    rows = events(120)
    load("duckdb:warehouse.duckdb?schema=legacy", rows)
    load("duckdb:warehouse.duckdb?schema=kafka", rows)
    with Warehouse.open("duckdb:warehouse.duckdb") as wh:  # as the paths loaded them: 1 and 6 minutes late
        for schema, late in (("legacy", "1 minute"), ("kafka", "6 minutes")):
            wh.backend.execute(f"UPDATE {schema}.events SET load_tstamp = collector_tstamp + INTERVAL '{late}'")


def shred(url: str, schema: str) -> None:
    """The context column moved into its own table, joined on root_id/root_tstamp, as Redshift keeps it."""
    from tests.integration.migration.test_reconcile_warehouses import shred as shred_column

    with psycopg.connect(url, autocommit=True) as con:
        shred_column(con, schema)


def bigquery(rows: list[dict[str, Any]]) -> None:
    """BigQuery's layout in a DuckDB file: the full-version name and a REPEATED RECORD (a list of STRUCTs)."""
    load("duckdb:bigquery.duckdb?schema=analytics", rows)
    with Warehouse.open("duckdb:bigquery.duckdb?schema=analytics") as wh:
        for sql in ("ALTER TABLE analytics.events ADD COLUMN contexts_com_acme_page_1_0_0 "
                    "STRUCT(id BIGINT, section VARCHAR)[]",
                    "UPDATE analytics.events SET contexts_com_acme_page_1_0_0 = "
                    "from_json(contexts_com_acme_page_1, '[{\"id\": \"BIGINT\", \"section\": \"VARCHAR\"}]')",
                    "ALTER TABLE analytics.events DROP COLUMN contexts_com_acme_page_1"):
            wh.backend.execute(sql)


def shredded_vs_bigquery(tmp: Path, pg: Postgres) -> None:
    rows = events(90)
    load(f"{pg()}?schema=atomic", rows)
    shred(pg(), "atomic")
    bigquery(rows)


def shredded_vs_bigquery_entity_difference(tmp: Path, pg: Postgres) -> None:
    shredded_vs_bigquery(tmp, pg)
    with psycopg.connect(pg(), autocommit=True) as con:
        con.execute("UPDATE atomic.com_acme_page_1 SET section = 'sport' WHERE root_id = %s", [eid(12)])


@contextmanager
def snowflake_emulator(tmp: Path) -> Iterator[None]:
    import fakesnow

    from tests.integration.migration.test_reconcile_snowflake_emulator import load_wide

    with fakesnow.patch():
        import snowflake.connector

        con = snowflake.connector.connect(user="sptk", account="emulated-account")
        cursor = con.cursor()
        cursor.execute("CREATE DATABASE SPTK")
        cursor.execute("CREATE SCHEMA IF NOT EXISTS SPTK.PUBLIC")
        rows = events(40)
        load_wide(cursor, tmp, "LEGACY", rows)
        load_wide(cursor, tmp, "KAFKA", clone(rows))
        try:
            yield
        finally:
            con.close()


def snowflake_variant(tmp: Path, pg: Postgres) -> AbstractContextManager[None]:
    return snowflake_emulator(tmp)


BUILDERS: dict[str, Callable[[Path, Postgres], AbstractContextManager[None] | None]] = {
    "duckdb-two-schemas": duckdb_two_schemas,
    "jsonl-with-bad-rows": jsonl_with_bad_rows,
    "tsv-archive-vs-duckdb": tsv_archive_vs_duckdb,
    "postgresql-vs-duckdb": postgresql_vs_duckdb,
    "parquet-export-vs-duckdb": parquet_export_vs_duckdb,
    "delta-databricks-vs-kafka-delta": delta_databricks_vs_kafka_delta,
    "iceberg-vs-parquet": iceberg_vs_parquet,
    "scoped-run": scoped_run,
    "freshness-limits": freshness_limits,
    "shredded-postgres-vs-bigquery-wide": shredded_vs_bigquery,
    "shredded-postgres-vs-bigquery-wide-entity-difference": shredded_vs_bigquery_entity_difference,
    "snowflake-variant-upper-case": snowflake_variant,
}


# -- the checks -----------------------------------------------------------------------------------------------------

def test_every_example_block_is_marked_and_every_marked_example_has_a_builder() -> None:
    text = DOC.read_text(encoding="utf-8")
    unmarked = [block for block in FENCE.findall(text) if COMMAND.search(block)
                and not any(block == marked for _, marked in MARKER.findall(text))]
    assert unmarked == [], f"example blocks without an <!-- example: NAME --> marker: {unmarked}"
    names = [name for name, _ in MARKER.findall(text)]
    assert len(names) == len(set(names)), f"an example name is used twice: {names}"
    assert sorted(names) == sorted(BUILDERS), (f"marked examples without a builder: {set(names) - set(BUILDERS)}; "
                                               f"builders without an example: {set(BUILDERS) - set(names)}")
    sources = {arg.split(":", 1)[0] for e in doc_examples().values() for i, arg in enumerate(e.argv)
               if i and e.argv[i - 1] in ("--legacy", "--new")}
    assert {"duckdb", "postgresql", "jsonl", "tsv", "parquet", "delta", "iceberg", "sql"} <= sources


def value_at(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[part]
    return document


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[Postgres]:
    """A PostgreSQL database of the example's own, created on first use (examples without PostgreSQL need none)."""
    created: list[tuple[str, str]] = []

    def url() -> str:
        if not created:
            server = request.getfixturevalue("postgres_url")
            name = "sptk_example_" + uuid.uuid4().hex[:10]
            with psycopg.connect(server, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {name}")
            created.append((server, urlunsplit(urlsplit(server)._replace(path=f"/{name}"))))
        return created[0][1]

    yield url
    for server, own in created:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {urlsplit(own).path.strip('/')} WITH (FORCE)")


#: the examples that need the PostgreSQL server
POSTGRES = ("postgresql-vs-duckdb", "shredded-postgres-vs-bigquery-wide",
            "shredded-postgres-vs-bigquery-wide-entity-difference")


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.postgres] if n in POSTGRES else [])
                                  for n in sorted(BUILDERS)])
def test_the_worked_example_gives_what_the_doc_says(name: str, tmp_path: Path, database: Postgres,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    example = doc_examples().get(name)
    assert example is not None, f"docs/reconciliation.md has no <!-- example: {name} --> block"
    monkeypatch.chdir(tmp_path)
    argv = example.argv
    if any(DOC_POSTGRES in arg for arg in argv):
        own = urlsplit(database())
        argv = [arg.replace(DOC_POSTGRES, f"{own.netloc}{own.path}") for arg in argv]
    with BUILDERS[name](tmp_path, database) or nullcontext():
        result = CliRunner().invoke(main, ["reconcile", *argv], catch_exceptions=False)
    assert result.exit_code == example.exit_code, result.output
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    assert report["verdict"] == example.verdict, report["reasons"]
    for path, promised in example.promises:
        assert value_at(report, path) == promised, f"{path}: {value_at(report, path)!r}, the doc says {promised!r}"
