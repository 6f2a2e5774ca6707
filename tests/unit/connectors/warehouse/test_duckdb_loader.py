"""The idempotent loader on an embedded DuckDB file (no sockets)."""

from __future__ import annotations

from pathlib import Path

from connectors.warehouse import BadRowRecord, Dedup, Provenance, Warehouse
from tests.unit.connectors.warehouse.loader_cases import run_loader_cases


def test_loader_semantics_on_duckdb(tmp_path: Path) -> None:
    run_loader_cases(lambda schema: Warehouse.open(f"duckdb:{tmp_path / 'wh.duckdb'}?schema={schema}"))


def test_bad_rows_are_loaded_once(tmp_path: Path) -> None:
    with Warehouse.open(f"duckdb:{tmp_path / 'wh.duckdb'}") as wh:
        records = [BadRowRecord("e1", "schema_violations", "{}", Provenance.kafka("bad", 0, i)) for i in range(3)]
        assert wh.load_bad_rows(records) == 3
        assert wh.load_bad_rows(records) == 0
        assert wh.backend.query(f"SELECT count(*) FROM {wh.bad_rows}") == [(3,)]
        assert wh.load([], Dedup.NONE).read == 0
