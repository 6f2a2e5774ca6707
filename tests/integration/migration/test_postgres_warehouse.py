"""The loader's contract on the real PostgreSQL server (same scenario as on DuckDB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from connectors.warehouse import Warehouse
from tests.unit.connectors.warehouse.loader_cases import run_loader_cases

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema_prefix(postgres_url: str) -> Iterator[str]:
    prefix = "it_" + uuid.uuid4().hex[:8]
    yield prefix
    with psycopg.connect(postgres_url, autocommit=True) as con:
        for (name,) in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [prefix + "%"]):
            con.execute(f'DROP SCHEMA "{name}" CASCADE')


def test_loader_semantics_on_postgres(postgres_url: str, schema_prefix: str) -> None:
    run_loader_cases(lambda schema: Warehouse.open(f"{postgres_url}?schema={schema_prefix}{schema}"))


def test_an_unreachable_server_is_reported_with_what_to_check() -> None:
    from connectors.warehouse.backends import WarehouseUnavailable

    with pytest.raises(WarehouseUnavailable, match="cannot connect to PostgreSQL at 127.0.0.1:1/"):
        Warehouse.open("postgresql://nobody@127.0.0.1:1/none")
