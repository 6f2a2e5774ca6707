"""Warehouse URLs: ``duckdb:PATH`` or ``postgresql://...``, each with an optional ``schema=``.

The schema lets one database hold both paths of a shadow run side by side
(``?schema=legacy`` and ``?schema=kafka``); ``atomic`` is the default, as in
Snowplow's own loaders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connectors.warehouse.columns import Dialect

DEFAULT_SCHEMA = "atomic"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class BadWarehouseURL(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class WarehouseURL:
    dialect: Dialect
    target: str  # a DuckDB file path, or a libpq connection URL without the schema parameter
    schema: str = DEFAULT_SCHEMA

    def __str__(self) -> str:
        if self.dialect is Dialect.DUCKDB:
            return f"duckdb:{self.target}" + (f"?schema={self.schema}" if self.schema != DEFAULT_SCHEMA else "")
        return _redact(self.target) + (f" (schema {self.schema})" if self.schema != DEFAULT_SCHEMA else "")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _schema(value: str, url: str) -> str:
    if not _IDENT.match(value):
        raise BadWarehouseURL(f"{url}: schema {value!r} must be a plain SQL identifier (letters, digits, _)")
    return value


def parse_warehouse_url(url: str) -> WarehouseURL:
    """Parse ``duckdb:PATH[?schema=S]`` or ``postgresql://...[?schema=S]`` (a bare ``*.duckdb`` path works too)."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "schema"), DEFAULT_SCHEMA)
        rest = urlencode([(k, v) for k, v in query if k != "schema"])
        return WarehouseURL(Dialect.POSTGRES, urlunsplit(parts._replace(query=rest)), _schema(schema, url))
    if url.startswith("duckdb:") or url.endswith((".duckdb", ".db")):
        path = url.removeprefix("duckdb:").removeprefix("//")
        schema = DEFAULT_SCHEMA
        if "?" in path:
            path, query = path.rsplit("?", 1)
            params = dict(parse_qsl(query, keep_blank_values=True))
            unknown = set(params) - {"schema"}
            if unknown:
                raise BadWarehouseURL(f"{url}: unknown parameter(s) {sorted(unknown)}; only schema= is understood")
            schema = params.get("schema", DEFAULT_SCHEMA)
        if not path:
            raise BadWarehouseURL(f"{url}: a DuckDB warehouse needs a file path, e.g. duckdb:warehouse.duckdb")
        return WarehouseURL(Dialect.DUCKDB, path, _schema(schema, url))
    raise BadWarehouseURL(
        f"{url!r} is not a warehouse URL: use duckdb:PATH (embedded, a file) or postgresql://USER@HOST:PORT/DB, "
        f"optionally with ?schema=NAME"
    )
