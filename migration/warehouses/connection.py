"""A warehouse reached through SQLAlchemy: the engine's statements run there, only results come back.

The backend speaks the DB-API connection SQLAlchemy opens (so every driver's own parameter style and
types apply) and turns a driver error into ``SourceFailed`` with the warehouse named, because the engine
cannot know every driver's exception classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connectors.warehouse.backends import ReadBackend
from connectors.warehouse.url import DEFAULT_SCHEMA
from migration.reconcile.workspace import SourceFailed
from migration.warehouses.dialects import engine_dialect, render

#: Query parameters that belong to the reconciliation, not to the driver.
OURS = ("schema", "bad", "layout")


@dataclass(frozen=True, slots=True)
class SqlURL:
    url: str  # the SQLAlchemy URL without our parameters (it may hold a password: never print it)
    schema: str = DEFAULT_SCHEMA
    bad: str | None = None
    layout: str | None = None  # "wide" or "shredded"; None: detected from the tables

    @property
    def backend_name(self) -> str:
        return urlsplit(self.url).scheme.split("+", 1)[0]

    @property
    def redacted(self) -> str:
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=user + host, query=""))


def parse_sql_url(text: str) -> SqlURL:
    """``sql:URL[?schema=S&layout=wide|shredded&bad=PATH]``; other parameters go to the driver."""
    url = text.removeprefix("sql:")
    parts = urlsplit(url)
    if not parts.scheme or "://" not in url:
        raise ValueError(f"{text!r}: a sql: source is sql: followed by a SQLAlchemy URL, such as "
                         f"sql:postgresql+psycopg://user@host/db or sql:duckdb:///path/to/file.duckdb")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in OURS}
    layout = ours.get("layout")
    if layout not in (None, "wide", "shredded"):
        raise ValueError(f"{text!r}: layout={layout} is not a Snowplow table layout; use layout=wide or "
                         f"layout=shredded (or leave it out to detect it from the tables)")
    rest = urlencode([(k, v) for k, v in query if k not in OURS])
    base = url.split("?", 1)[0]  # not re-joined by urlunsplit, which drops the slashes of duckdb:////abs/path
    return SqlURL(base + (f"?{rest}" if rest else ""), ours.get("schema", DEFAULT_SCHEMA), ours.get("bad"), layout)


class SqlAlchemyBackend(ReadBackend):
    """Read only: the reconciliation runs its statements here; nothing is ever loaded through ``sql:``."""

    def __init__(self, source: SqlURL) -> None:
        import sqlalchemy

        self.source = source
        self.dialect, self.transpiled_to = engine_dialect(source.backend_name)
        try:
            self.engine = sqlalchemy.create_engine(source.url, poolclass=sqlalchemy.pool.NullPool)
            self.con = self.engine.raw_connection()
        except Exception as exc:  # any driver's connection error: say which warehouse and what to check
            raise SourceFailed(f"cannot connect to {source.redacted}: {_first_line(exc)}. Check the URL, the "
                               f"driver package for this database, and that the warehouse answers") from exc
        driver = self.con.driver_connection
        if hasattr(driver, "autocommit"):
            driver.autocommit = True  # read-only work and temp tables: no transaction to keep open

    def _run(self, sql: str, params: Sequence[Any] | None) -> Any:
        cursor = self.con.cursor()
        try:
            if self.transpiled_to is None:
                cursor.execute(sql, tuple(params) if params else None)
            else:  # the values are rendered into the target's SQL: see render
                cursor.execute(render(sql, self.transpiled_to, params or ()))
        except Exception as exc:
            cursor.close()
            raise SourceFailed(f"the warehouse {self.source.redacted} refused a reconciliation query: "
                               f"{_first_line(exc)}") from exc
        return cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._run(sql, params).close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self._run(sql, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def close(self) -> None:
        self.con.close()
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]
