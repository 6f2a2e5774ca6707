"""Loading Kafka records into a lake location, exactly once per offset.

Rows are typed by the same loader as every warehouse (an in-memory DuckDB stage), so a
lake row equals a DuckDB or PostgreSQL row column for column. Before each write the
table's committed offsets are read from its own metadata and rows at or below them are
skipped; the write and the new offsets land in one commit. A replay therefore adds nothing,
and a run killed mid-write leaves its batch unseen and re-reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.warehouse.backends import DuckDBBackend
from connectors.warehouse.bad_rows import BadRowRecord
from connectors.warehouse.columns import Dialect, is_entity_column, quote
from connectors.warehouse.lakes.tables import LakeTable, Offsets, ParquetTable, open_table
from connectors.warehouse.lakes.url import LakeURL, parse_lake_url
from connectors.warehouse.loader import DEFAULT_BATCH, Dedup, LoadReport, Warehouse
from connectors.warehouse.rows import Provenance
from connectors.warehouse.url import WarehouseURL

STAGE_SCHEMA = "lake_stage"


def _key(p: Provenance) -> str:
    if p.topic is None or p.partition is None or p.offset is None:
        raise ValueError(f"{p}: a lake target records Kafka offsets, so it loads Kafka records only")
    return f"{p.topic}/{p.partition}"


def _fresh(items: list[Any], provenance: Any, done: Offsets) -> list[Any]:
    return [item for item in items if provenance(item).offset > done.get(_key(provenance(item)), -1)]


def _last_offsets(provenances: Iterable[Provenance]) -> Offsets:
    last: Offsets = {}
    for p in provenances:
        key = _key(p)
        last[key] = max(p.offset or 0, last.get(key, -1))
    return last


class LakeWarehouse:
    """``events`` and ``bad_rows`` of one lake location, with the loader's ``load``/``load_bad_rows`` interface.

    Natural duplicates collapse within a batch; a lake keeps no index to look them up across
    batches, so ``cross-batch`` acts as ``in-batch`` (reconcile counts what remains).
    """

    def __init__(self, url: LakeURL) -> None:
        self.url = url
        self.tables: dict[str, LakeTable] = {name: open_table(url, name) for name in ("events", "bad_rows")}
        for table in self.tables.values():
            if isinstance(table, ParquetTable):
                table.open_for_writing()
        self._stage = Warehouse(WarehouseURL(Dialect.DUCKDB, ":memory:", STAGE_SCHEMA), DuckDBBackend(":memory:"))
        self._stage.ensure_tables()

    @classmethod
    def open(cls, text: str) -> LakeWarehouse:
        return cls(parse_lake_url(text)[0])

    def __enter__(self) -> LakeWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stage.close()

    def _export(self, relation: str) -> Any:
        names = self._stage.backend.columns(STAGE_SCHEMA, relation)
        casts = [f"CAST({quote(n)} AS VARCHAR) AS {quote(n)}" for n in names if is_entity_column(n)]
        select = f"* REPLACE ({', '.join(casts)})" if casts else "*"
        con = self._stage.backend.con
        data = con.sql(f"SELECT {select} FROM {quote(STAGE_SCHEMA)}.{quote(relation)}").to_arrow_table()
        con.execute(f"DELETE FROM {quote(STAGE_SCHEMA)}.{quote(relation)}")
        return data

    def load(self, rows: Iterable[tuple[Mapping[str, Any], Provenance]], dedup: Dedup = Dedup.CROSS_BATCH,
             batch_size: int = DEFAULT_BATCH, whole_call_is_one_batch: bool = False) -> LoadReport:
        """Load one batch of Kafka rows into ``events``; rows at or below the committed offsets are already there."""
        batch = list(rows)
        table = self.tables["events"]
        fresh = _fresh(batch, lambda item: item[1], table.committed())
        report = self._stage.load(fresh, Dedup.NONE if dedup is Dedup.NONE else Dedup.IN_BATCH,
                                  batch_size=max(len(fresh), 1), whole_call_is_one_batch=True)
        report.read += len(batch) - len(fresh)
        report.already_loaded += len(batch) - len(fresh)
        data = self._export("events")
        if data.num_rows:  # an all-rejected batch is recorded by the bad_rows table, under its own offsets
            table.append(data, _last_offsets(p for _, p in fresh))
        return report

    def load_bad_rows(self, records: Iterable[BadRowRecord]) -> int:
        table = self.tables["bad_rows"]
        fresh = _fresh(list(records), lambda r: r.provenance, table.committed())
        if not fresh:
            return 0
        self._stage.load_bad_rows(fresh)
        data = self._export("bad_rows")
        table.append(data, _last_offsets(r.provenance for r in fresh))
        return data.num_rows
