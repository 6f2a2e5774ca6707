"""The two warehouse backends: DuckDB (embedded, a file) and PostgreSQL (psycopg 3).

Two interfaces, by use. ``ReadBackend`` is what the reconciliation needs from any SQL engine it compares in
(run a statement, fetch rows, list a table's columns), so a warehouse that is only ever read (``sql:`` in
migration) implements that and nothing more. ``LoadBackend`` adds what the loader needs on top: transactions
and bulk-staging rows into a temporary table (DuckDB reads a newline-delimited JSON file; PostgreSQL takes COPY).
Both DuckDB and PostgreSQL are load backends, so the loader and the engine hold no dialect branches beyond SQL text.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from connectors.warehouse.columns import Column, Dialect, literal, quote
from connectors.warehouse.url import WarehouseURL

STAGE_TABLE = "_sptk_stage"


class WarehouseUnavailable(RuntimeError):
    """The warehouse could not be opened or stopped answering; the message says which and what to check."""


class ReadBackend(ABC):
    """A SQL engine statements run in and rows come back from: all the reconciliation asks of a warehouse."""

    dialect: Dialect
    #: the DB-API style connection the driver gives
    con: Any
    #: the SQL dialect the statements are rewritten into before they run (None: run as written in ``dialect``)
    transpiled_to: str | None = None

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def close(self) -> None:
        self.con.close()

    def columns(self, schema: str, table: str) -> list[str]:
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position".replace("?", self.placeholder),
            [schema, table],
        )
        return [r[0] for r in rows]

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.columns(schema, table))

    @property
    def placeholder(self) -> str:
        return "?" if self.dialect is Dialect.DUCKDB else "%s"


class LoadBackend(ReadBackend):
    """A warehouse rows are loaded into: transactions and bulk staging on top of reading."""

    #: how the dialect opens a transaction; COMMIT and ROLLBACK are the same in both
    begin_sql: str

    @abstractmethod
    def stage(self, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], table: str = STAGE_TABLE) -> int:
        """Replace temporary ``table`` with ``rows`` (sparse: a missing column is NULL); return how many."""

    def begin(self) -> None:
        self.con.execute(self.begin_sql)

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        self.con.execute("ROLLBACK")


class DuckDBBackend(LoadBackend):
    dialect = Dialect.DUCKDB
    begin_sql = "BEGIN TRANSACTION"

    def __init__(self, path: str, read_only: bool = False, memory_limit: str | None = None,
                 connection: Any = None) -> None:
        import duckdb

        self.path = path
        try:
            self.con = connection or duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseUnavailable(f"cannot open DuckDB file {path}: {exc}") from exc
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self._tmp = tempfile.TemporaryDirectory(prefix="sptk-stage-")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def attach(self, path: str, alias: str) -> None:
        """Attach another DuckDB file read-only as ``alias``; a file that cannot be read raises WarehouseUnavailable.

        Why the advice: the usual cause is not a broken file but a writer (a running ``kafka-load`` or
        ``legacy-load``) holding DuckDB's lock, and the way out is to wait or read a copy.
        """
        import duckdb

        try:
            self.con.execute(f"ATTACH {literal(path)} AS {quote(alias)} (READ_ONLY)")
        except duckdb.Error as exc:
            raise WarehouseUnavailable(
                f"DuckDB file {path} cannot be read: {str(exc).strip().rstrip('!.')}. If another process is writing "
                f"it (a running sptk migrate kafka-load or legacy-load), wait for it to finish or reconcile a copy; "
                f"otherwise check that the path names a DuckDB database") from exc

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def stage(self, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], table: str = STAGE_TABLE) -> int:
        path = Path(self._tmp.name) / f"{table}.ndjson"
        count = 0
        with open(path, "wb") as out:
            for row in rows:
                out.write(orjson.dumps(row))
                out.write(b"\n")
                count += 1
        spec = "{" + ", ".join(f"'{c.name}': '{c.duckdb_type}'" for c in columns) + "}"
        self.con.execute(f"DROP TABLE IF EXISTS {quote(table)}")
        self.con.execute(
            f"CREATE TEMP TABLE {quote(table)} AS SELECT * FROM read_json('{path}', "
            f"format = 'newline_delimited', columns = {spec}, timestampformat = '%Y-%m-%d %H:%M:%S.%f')"
        )
        os.unlink(path)
        return count

    def close(self) -> None:
        super().close()
        self._tmp.cleanup()


class PostgresBackend(LoadBackend):
    dialect = Dialect.POSTGRES
    begin_sql = "BEGIN"

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self.conninfo = conninfo
        try:
            self.con = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise WarehouseUnavailable(
                f"cannot connect to PostgreSQL at {conninfo.split('@')[-1]}: {str(exc).strip()}. "
                f"Is the server running (scripts/postgres-local status) and the URL right?"
            ) from exc

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params).fetchall()

    def stage(self, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], table: str = STAGE_TABLE) -> int:
        self.con.execute(f"DROP TABLE IF EXISTS {quote(table)}")
        body = ", ".join(f"{quote(c.name)} {c.postgres_type}" for c in columns)
        self.con.execute(f"CREATE TEMP TABLE {quote(table)} ({body})")
        count = 0
        names = ", ".join(quote(c.name) for c in columns)
        with self.con.cursor() as cur, cur.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            json_columns = {c.name for c in columns if c.postgres_type == "JSONB"}
            for row in rows:
                copy.write_row([orjson.dumps(row[c.name]).decode() if c.name in json_columns and row.get(c.name)
                                is not None else row.get(c.name) for c in columns])
                count += 1
        return count


def open_backend(url: WarehouseURL, read_only: bool = False) -> LoadBackend:
    if url.dialect is Dialect.DUCKDB:
        if read_only and not Path(url.target).exists():
            raise WarehouseUnavailable(f"DuckDB file {url.target} does not exist")
        return DuckDBBackend(url.target, read_only=read_only)
    return PostgresBackend(url.target)
