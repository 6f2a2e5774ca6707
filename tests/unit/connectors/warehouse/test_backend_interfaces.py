"""The warehouse backends split by what they are used for: reading (reconcile) and loading (the loader).

A reconciliation source reached through SQLAlchemy is read, never loaded: it implements the read interface only,
so no method of it is a stub that raises when the loader's half is called.
"""

from __future__ import annotations

import inspect

import pytest

from connectors.warehouse.backends import DuckDBBackend, LoadBackend, PostgresBackend, ReadBackend
from connectors.warehouse.columns import Dialect
from connectors.warehouse.loader import Warehouse
from connectors.warehouse.url import WarehouseURL
from migration.warehouses.connection import SqlAlchemyBackend

LOADING = ("stage", "begin", "commit", "rollback")


def test_the_sql_backend_reads_and_offers_no_loading_at_all() -> None:
    assert issubclass(SqlAlchemyBackend, ReadBackend)
    assert not issubclass(SqlAlchemyBackend, LoadBackend)
    assert [name for name in LOADING if hasattr(SqlAlchemyBackend, name)] == []
    assert not inspect.isabstract(SqlAlchemyBackend)


@pytest.mark.parametrize("backend", [DuckDBBackend, PostgresBackend])
def test_the_loaders_backends_read_and_load(backend: type[LoadBackend]) -> None:
    assert issubclass(backend, LoadBackend) and issubclass(backend, ReadBackend)
    assert not inspect.isabstract(backend)


def test_the_loader_is_handed_a_backend_that_loads() -> None:
    hints = inspect.get_annotations(Warehouse.__init__, eval_str=True)
    assert hints["backend"] is LoadBackend
    with Warehouse(WarehouseURL(Dialect.DUCKDB, ":memory:", "atomic"), DuckDBBackend(":memory:")) as wh:
        wh.ensure_tables()
        assert wh.backend.table_exists(wh.schema, "events")
