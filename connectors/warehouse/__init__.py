"""Warehouse loading: ``atomic.events`` from the field table, DuckDB and PostgreSQL, idempotent loads."""

from connectors.warehouse.bad_rows import BadRowRecord, NotABadRow, parse_bad_row
from connectors.warehouse.columns import Dialect, entity_column, entity_key, events_ddl
from connectors.warehouse.loader import Dedup, LoadReport, Warehouse
from connectors.warehouse.rows import Provenance, RowProblem, RowRejected, normalise_tstamp, to_warehouse_row
from connectors.warehouse.url import BadWarehouseURL, WarehouseURL, parse_warehouse_url

__all__ = [
    "BadRowRecord", "BadWarehouseURL", "Dedup", "Dialect", "LoadReport", "NotABadRow", "Provenance", "RowProblem",
    "RowRejected", "Warehouse", "WarehouseURL", "entity_column", "entity_key", "events_ddl", "normalise_tstamp",
    "parse_bad_row", "parse_warehouse_url", "to_warehouse_row",
]
