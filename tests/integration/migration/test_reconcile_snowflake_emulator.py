"""Snowflake's dialect run for real through ``fakesnow``, a Snowflake EMULATOR on DuckDB (not Snowflake itself).

What this proves: the reconciliation plan, transpiled by sqlglot to Snowflake SQL, runs through the Snowflake
DB-API (``snowflake.connector``, patched by fakesnow) against a wide-row side as Snowflake's loader keeps it:
upper-case column names and VARIANT entity columns. What it cannot prove: anything fakesnow emulates differently
from Snowflake (it executes on DuckDB after rewriting the SQL back), so the real service is still not run here.

``snowflake-sqlalchemy`` is not used: its 2.x releases need ``snowflake-connector-python`` 5, which dropped the
``converter`` module fakesnow 0.12 imports, and its 1.x releases do not import under SQLAlchemy 2.1. The test
registers the smallest SQLAlchemy dialect that hands a ``snowflake://`` URL to ``snowflake.connector.connect``,
which is all ``sql:`` asks of SQLAlchemy (a raw DB-API connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import fakesnow  # noqa: E402 - a test extra, installed by scripts/setup
import orjson
import pytest
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL
from sqlalchemy.engine.default import DefaultDialect

from connectors.warehouse import Dedup, Provenance, Warehouse
from tests.unit.migration.scenario import clone, eid, event, events, reconcile_files, run

#: DATABASE/SCHEMA as snowflake-sqlalchemy reads them: the plan's temporary views need a current schema.
WAREHOUSE = "sql:snowflake://sptk:secret@emulated-account/SPTK/PUBLIC"


class EmulatedSnowflakeDialect(DefaultDialect):
    """``snowflake://user:password@account/DATABASE`` to ``snowflake.connector.connect`` (patched by fakesnow)."""

    name, driver = "snowflake", "connector"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        import snowflake.connector

        return snowflake.connector

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        database, _, schema = (url.database or "").partition("/")
        return [], {"user": url.username, "password": url.password, "account": url.host,
                    "database": database, "schema": schema or None, **dict(url.query)}


registry.register("snowflake", __name__, "EmulatedSnowflakeDialect")


@pytest.fixture
def snowflake() -> Iterator[Any]:
    """A cursor on the emulated account; the reconciliation's own connections see the same data."""
    with fakesnow.patch():
        import snowflake.connector

        con = snowflake.connector.connect(user="sptk", password="secret", account="emulated-account")
        cursor = con.cursor()
        cursor.execute("CREATE DATABASE SPTK")
        cursor.execute("CREATE SCHEMA IF NOT EXISTS SPTK.PUBLIC")
        yield cursor
        con.close()


def snowflake_type(duck_type: str, column: str) -> str:
    if column.startswith(("contexts_", "unstruct_event_", "derived_contexts")):
        return "VARIANT"
    return {"VARCHAR": "VARCHAR", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_NTZ", "TIMESTAMP": "TIMESTAMP_NTZ",
            "DOUBLE": "FLOAT", "BIGINT": "NUMBER(38,0)", "INTEGER": "NUMBER(38,0)", "BOOLEAN": "BOOLEAN",
            "DECIMAL(18,2)": "NUMBER(18,2)"}.get(duck_type, "VARCHAR")


def load_wide(cursor: Any, tmp: Path, schema: str, rows: list[dict[str, Any]]) -> None:
    """The toolkit's loader shapes the rows; Snowflake's loader layout holds them: UPPER CASE names, VARIANT."""
    staged = tmp / f"{schema}.duckdb"
    with Warehouse.open(f"duckdb:{staged}") as wh:
        report = wh.load([(r, Provenance.file_line("side.jsonl", n)) for n, r in enumerate(rows, 1)], Dedup.NONE)
        assert report.rejected == 0, report.problems
    with duckdb.connect(str(staged), read_only=True) as con:
        described = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                "table_schema = 'atomic' AND table_name = 'events' ORDER BY ordinal_position")
        columns = [(name, snowflake_type(kind, name)) for name, kind in described.fetchall()]
        names = ", ".join(f"CAST({n} AS VARCHAR)" if t in ("VARIANT", "TIMESTAMP_NTZ") else n for n, t in columns)
        values = con.execute(f"SELECT {names} FROM atomic.events").fetchall()
    cursor.execute(f"CREATE SCHEMA SPTK.{schema}")
    cursor.execute(f"CREATE TABLE SPTK.{schema}.EVENTS ("
                   + ", ".join(f"{n.upper()} {t}" for n, t in columns) + ")")
    select = ", ".join("PARSE_JSON(%s)" if t == "VARIANT" else "%s" for _, t in columns)
    for row in values:
        cursor.execute(f"INSERT INTO SPTK.{schema}.EVENTS SELECT {select}", row)


def reconcile(tmp: Path, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp / "report.json"
    result = run("--legacy", f"{WAREHOUSE}?schema=LEGACY", "--new", f"{WAREHOUSE}?schema=KAFKA", "--json",
                 str(report), "--lookback", "0s", *args)
    assert report.exists(), result.output
    return result.exit_code, orjson.loads(report.read_bytes())


def test_the_emulator_holds_the_snowflake_layout(snowflake: Any, tmp_path: Path) -> None:
    load_wide(snowflake, tmp_path, "LEGACY", events(3))
    snowflake.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'LEGACY' "
                      "AND column_name LIKE 'CONTEXTS%'")
    assert snowflake.fetchall() == [("CONTEXTS_COM_ACME_PAGE_1", "VARIANT")]


def test_equal_wide_sides_in_the_snowflake_emulator_are_at_parity(snowflake: Any, tmp_path: Path) -> None:
    rows = events(40)
    load_wide(snowflake, tmp_path, "LEGACY", rows)
    load_wide(snowflake, tmp_path, "KAFKA", clone(rows))
    code, report = reconcile(tmp_path)
    assert code == 0, report["reasons"]
    assert report["totals"]["legacy"]["event_ids"] == report["totals"]["new"]["event_ids"] == 40
    assert "secret" not in orjson.dumps(report).decode()


def with_difference(snowflake: Any, tmp: Path) -> None:
    rows = events(40)
    changed = clone(rows)
    changed[7]["contexts_com_acme_page_1"] = [{"id": 7, "section": "sport"}]
    del changed[20]
    load_wide(snowflake, tmp, "LEGACY", rows)
    load_wide(snowflake, tmp, "KAFKA", changed)


LINK_CLICK = "unstruct_event_com_snowplowanalytics_snowplow_link_click_1"
JSON_RULES_OFF = ("--rule", "schema_version=off", "--rule", "nulls_omitted=off")


def test_a_changed_variant_field_in_the_snowflake_emulator_is_found_and_named(
        snowflake: Any, tmp_path: Path) -> None:
    with_difference(snowflake, tmp_path)
    code, report = reconcile(tmp_path, *JSON_RULES_OFF)  # as docs/reconciliation.md says for Snowflake
    assert code == 2, report["reasons"]
    assert report["only_legacy"]["sample"] == [eid(20)]
    assert report["modified"]["sample"] == [eid(7)]
    assert report["modified"]["columns"] == {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.section": 1}


def test_a_difference_with_the_default_json_rules_in_the_snowflake_emulator(snowflake: Any, tmp_path: Path) -> None:
    with_difference(snowflake, tmp_path)
    code, report = reconcile(tmp_path)
    assert code == 2, report["reasons"]
    assert report["only_legacy"]["sample"] == [eid(20)]
    assert report["modified"]["sample"] == [eid(7)]
    assert report["modified"]["columns"] == {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.section": 1}


def test_the_json_rules_settle_a_schema_version_and_omitted_nulls_in_the_snowflake_emulator(
        snowflake: Any, tmp_path: Path) -> None:
    """The Scala SDK's ``_schema_version`` and its ``"key": null`` against the same entities without them."""
    rows = events(30) + [event(i, name="link_click") for i in range(30, 40)]
    scala = clone(rows)
    for row in scala[:10]:
        row["contexts_com_acme_page_1"] = [{**e, "_schema_version": "1-0-0", "author": None}
                                           for e in row["contexts_com_acme_page_1"]]
    for row in scala[30:]:
        row[LINK_CLICK] = {**row[LINK_CLICK], "_schema_version": "1-0-1", "elementId": None}
    load_wide(snowflake, tmp_path, "LEGACY", scala)
    load_wide(snowflake, tmp_path, "KAFKA", rows)
    code, report = reconcile(tmp_path)
    assert code == 0, report["reasons"]
    assert report["totals"]["windows_diffed"] >= 1  # the checksums differ: the rules settled it key by key
    code, report = reconcile(tmp_path, *JSON_RULES_OFF)
    assert code == 2 and report["modified"]["count"] == 20, report["reasons"]


REVENUE = "- {name: product_revenue, aggregation: sum, field: 'contexts_com_acme_product_1[].price', tolerance: 0}\n"


def with_products(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with 0 to 3 product entities each (prices in cents' steps, so the sums are exact)."""
    for i, row in enumerate(rows):
        row["contexts_com_acme_product_1"] = [{"sku": f"sku-{i}-{n}", "price": round(1.25 * (i + n), 2)}
                                              for n in range(i % 4)]
    return rows


def test_a_user_metric_over_every_product_entity_in_the_snowflake_emulator_sums_what_duckdb_sums(
        snowflake: Any, tmp_path: Path) -> None:
    legacy = with_products(events(24))
    new = clone(legacy)
    new[7]["contexts_com_acme_product_1"] = new[7]["contexts_com_acme_product_1"][:1]  # two entities lost
    expected = [sum(p["price"] for r in side for p in r["contexts_com_acme_product_1"]) for side in (legacy, new)]
    assert expected[0] - expected[1] == 1.25 * 8 + 1.25 * 9
    metrics = tmp_path / "metrics.yaml"
    metrics.write_text(REVENUE)
    load_wide(snowflake, tmp_path, "LEGACY", legacy)
    load_wide(snowflake, tmp_path, "KAFKA", new)
    code, emulated = reconcile(tmp_path, "--metrics", str(metrics))
    (tmp_path / "duckdb").mkdir()
    _, duck = reconcile_files(tmp_path / "duckdb", legacy, new, "--metrics", str(metrics))  # the same, on DuckDB
    assert code == 2, emulated["reasons"]
    revenue = emulated["metrics"]["product_revenue"]
    assert (revenue["legacy"], revenue["new"], revenue["status"]) == (*expected, "fail")
    assert (duck["metrics"]["product_revenue"]["legacy"], duck["metrics"]["product_revenue"]["new"]) == tuple(expected)
