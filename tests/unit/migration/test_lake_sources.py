"""Reconcile against lake tables written by their own libraries (pyarrow, deltalake, pyiceberg)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.warehouse import Provenance, Warehouse
from connectors.warehouse.lakes import LakeWarehouse
from migration.sources import BadSource, parse_source
from tests.unit.migration.scenario import clone, events, run

FORMATS = ("parquet", "delta", "iceberg")
DOCS = Path(__file__).parents[3] / "docs" / "reconciliation.md"


def _duckdb_side(tmp: Path, rows: list[dict[str, Any]]) -> str:
    url = f"duckdb:{tmp / 'legacy.duckdb'}"
    with Warehouse.open(url) as wh:
        wh.load([(r, Provenance.file_line("archive", i + 1)) for i, r in enumerate(rows)])
    return url


def _lake_side(fmt: str, tmp: Path, rows: list[dict[str, Any]], batches: int = 3) -> str:
    url = f"{fmt}:{tmp / fmt}"
    with LakeWarehouse.open(url) as lake:
        offered = [(r, Provenance.kafka("enriched", i % 2, i // 2)) for i, r in enumerate(rows)]
        size = -(-len(offered) // batches)
        for start in range(0, len(offered), size):  # several commits, in offset order, as a load makes them
            lake.load(offered[start:start + size])
    return url


def _reconcile(tmp: Path, legacy: str, new: str) -> tuple[int, dict[str, Any]]:
    report = tmp / "report.json"
    result = run("--legacy", legacy, "--new", new, "--lookback", "0s", "--json", str(report))
    return result.exit_code, orjson.loads(report.read_bytes())


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lake_side_holding_the_same_events_as_duckdb_is_at_parity(fmt: str, tmp_path: Path) -> None:
    rows = events(120)
    code, report = _reconcile(tmp_path, _duckdb_side(tmp_path, rows), _lake_side(fmt, tmp_path, rows))
    assert code == 0, report["reasons"]
    assert report["totals"]["legacy"]["event_ids"] == report["totals"]["new"]["event_ids"] == 120
    assert report["totals"]["windows_diffed"] == 0  # equal checksums: the lake rows hash as the DuckDB rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_reconcile_finds_differences_injected_in_a_lake_side(fmt: str, tmp_path: Path) -> None:
    rows = events(120)
    lake = clone(rows)
    del lake[7]  # missing on the new side
    lake[20]["page_title"] = "changed"  # modified
    lake[30]["contexts_com_acme_page_1"] = [{"id": 30, "section": "sport"}]  # an entity field modified
    code, report = _reconcile(tmp_path, _duckdb_side(tmp_path, rows), _lake_side(fmt, tmp_path, lake))
    assert code == 2
    assert report["only_legacy"]["count"] == 1 and report["only_new"]["count"] == 0
    assert report["modified"]["count"] == 2
    # lake[30] is event 31 once lake[7] is gone: both its id and its section changed
    assert report["modified"]["columns"] == {"contexts_com_acme_page_1": 1, "contexts_com_acme_page_1.id": 1,
                                             "contexts_com_acme_page_1.section": 1, "page_title": 1}


def test_parquet_files_exported_by_a_warehouse_are_read_through_a_glob(tmp_path: Path) -> None:
    """Like COPY INTO / EXPORT DATA / UNLOAD output: plain Parquet parts, hive-partitioned, no sptk manifest."""
    rows = events(60)
    legacy = _duckdb_side(tmp_path, rows)
    with Warehouse.open(legacy) as wh:
        table = wh.backend.con.sql("SELECT * REPLACE (CAST(contexts_com_acme_page_1 AS VARCHAR) AS "
                                   "contexts_com_acme_page_1), strftime(collector_tstamp, '%Y-%m-%d') AS dt "
                                   "FROM atomic.events").to_arrow_table()
    for n, start in enumerate(range(0, 60, 25)):
        folder = tmp_path / "export" / "dt=2024-05-01"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(start, 25).drop_columns(["dt"]), folder / f"data_0_{n}.snappy.parquet")
    code, report = _reconcile(tmp_path, legacy, f"parquet:{tmp_path}/export/*/*.parquet")
    assert code == 0, report["reasons"]


def test_a_missing_lake_table_cannot_decide_and_says_where(tmp_path: Path) -> None:
    result = run("--legacy", f"delta:{tmp_path / 'nothing'}", "--new", f"iceberg:{tmp_path / 'none'}")
    assert result.exit_code == 3
    assert "no events table there" in result.output


def test_lake_source_urls_parse_and_reject_unknown_parameters() -> None:
    spec = parse_source("iceberg:/lake?table=analytics.events&catalog=sqlite:////lake/cat.db&bad=bad.jsonl")
    assert spec.lake is not None and spec.lake.table == "analytics.events" and spec.bad == "bad.jsonl"
    assert parse_source("parquet:/x/**/*.parquet").lake.path == "/x/**/*.parquet"  # type: ignore[union-attr]
    with pytest.raises(BadSource, match="unknown parameter"):
        parse_source("delta:/x?schema=atomic")


def test_every_lake_source_form_in_the_docs_parses() -> None:
    forms = re.findall(r"--(?:legacy|new) +'?((?:parquet|delta|iceberg):[^\s']+)", DOCS.read_text())
    assert {f.split(":")[0] for f in forms} == set(FORMATS)
    for form in forms:
        assert parse_source(form.strip("'\"")).lake is not None


def test_a_delta_table_written_elsewhere_is_read_at_its_own_path(tmp_path: Path) -> None:
    legacy = _duckdb_side(tmp_path, events(40))
    _delta_from(legacy, tmp_path / "databricks_events")
    code, report = _reconcile(tmp_path, legacy, f"delta:{tmp_path / 'databricks_events'}")
    assert code == 0, report["reasons"]


def _delta_from(legacy: str, path: Path, **options: Any) -> Any:
    """The legacy side's events written as a Delta table by deltalake itself (entity columns as JSON text)."""
    from deltalake import DeltaTable, write_deltalake

    with Warehouse.open(legacy) as wh:
        table = wh.backend.con.sql("SELECT * REPLACE (CAST(contexts_com_acme_page_1 AS VARCHAR) AS "
                                   "contexts_com_acme_page_1) FROM atomic.events").to_arrow_table()
    write_deltalake(str(path), table.cast(pa.schema([f.with_nullable(True) for f in table.schema])), **options)
    return DeltaTable(str(path))


def test_a_plain_delta_table_is_scanned_by_duckdbs_parquet_reader_so_filters_reach_the_files(tmp_path: Path) -> None:
    import duckdb

    from connectors.warehouse.lakes import open_table, parse_lake_url

    legacy = _duckdb_side(tmp_path, events(40))
    _delta_from(legacy, tmp_path / "delta")
    con = duckdb.connect()
    assert open_table(parse_lake_url(f"delta:{tmp_path / 'delta'}")[0], "events").scan(con, "ev")
    plan = "\n".join(r[1] for r in con.execute(
        "EXPLAIN SELECT max(page_title) FROM ev WHERE collector_tstamp >= TIMESTAMP '2024-05-01 10:20:00'").fetchall())
    # DuckDB's own reader: the filter is pushed into the Parquet scan (row groups skipped by their statistics),
    # and it is bounded by DuckDB's memory limit, which an Arrow dataset scan is not
    assert "READ_PARQUET" in plan.upper() or "PARQUET_SCAN" in plan.upper(), plan
    assert "ARROW_SCAN" not in plan.upper(), plan


def test_a_delta_table_after_a_delete_and_a_partitioned_one_are_read_as_their_current_version(tmp_path: Path) -> None:
    rows = events(40)
    legacy = _duckdb_side(tmp_path, rows)
    deleted = _delta_from(legacy, tmp_path / "deleted")
    deleted.delete(f"event_id = '{rows[5]['event_id']}'")  # rewrites a file: the old one stays on disk
    code, report = _reconcile(tmp_path, legacy, f"delta:{tmp_path / 'deleted'}")
    assert code == 2 and report["only_legacy"]["sample"] == [rows[5]["event_id"]], report["reasons"]
    _delta_from(legacy, tmp_path / "partitioned", partition_by=["app_id"])  # partition values live in the log
    code, report = _reconcile(tmp_path, legacy, f"delta:{tmp_path / 'partitioned'}")
    assert code == 0, report["reasons"]


def test_columns_empty_in_every_parquet_file_are_left_out_of_the_checksums_and_a_value_there_is_still_found(
        tmp_path: Path) -> None:
    from migration.reconcile.config import ReconcileConfig
    from migration.reconcile.engine import _Run, reconcile
    from migration.reconcile.result import Reconciliation
    from migration.sources import open_workspace

    rows = events(60)
    new = clone(rows)
    new[12]["geo_city"] = "Leeds"  # a value where the legacy side has none anywhere
    legacy_url, new_url = _lake_side("parquet", tmp_path / "l", rows), _lake_side("parquet", tmp_path / "n", new)
    with open_workspace(parse_source(legacy_url), parse_source(new_url)) as workspace:
        active = _Run(workspace, ReconcileConfig(), Reconciliation("l", "n", {}))._columns_with_values()
        assert active is not None  # read from the files' statistics, as a DuckDB file's storage statistics are
        assert {"event_id", "page_title", "contexts_com_acme_page_1", "geo_city"} <= active
        assert "geo_region" not in active and "txn_id" not in active  # NULL on both sides: they cannot differ
        rec = reconcile(workspace, ReconcileConfig(lookback_us=0))
    assert rec.bucket("null_only").count == 1 and rec.null_only_columns == {"geo_city": 1}


def test_the_workspace_keeps_parquet_footers_between_the_scans_of_a_run(tmp_path: Path) -> None:
    from migration.sources import open_workspace

    url = _lake_side("parquet", tmp_path, events(10))
    with open_workspace(parse_source(url), parse_source(url)) as workspace:
        # a run scans each side a dozen times; a scoped run reads a few row groups, so re-reading the footer
        # (131 columns times every row group) each time was a good part of it
        assert workspace.backend.query("SELECT current_setting('parquet_metadata_cache')") == [(True,)]
