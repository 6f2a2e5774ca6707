"""Warehouse URLs: ``duckdb:PATH`` or ``postgresql://...``, each with an optional ``schema=``.

The schema lets one database hold both paths of a shadow run side by side
(``?schema=legacy`` and ``?schema=kafka``); ``atomic`` is the default, as in
Snowplow's own loaders.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

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


def take_params(url: str, names: Collection[str]) -> tuple[dict[str, str], str]:
    """Our own parameters (``names``) of a libpq URL, and the URL without them, the rest exactly as written.

    Parsing the query and encoding it again is not neutral: ``urlencode`` writes a space as ``+``, which
    libpq does not decode, so ``options=-c%20search_path%3Dfoo`` reached PostgreSQL as
    ``-c+search_path=foo`` and broke the setting. Values are percent-decoded as libpq decodes them.
    """
    parts = urlsplit(url)
    ours: dict[str, str] = {}
    kept: list[str] = []
    for piece in parts.query.split("&"):
        key, _, value = piece.partition("=")
        if unquote(key) in names:
            ours[unquote(key)] = unquote(value)
        elif piece:
            kept.append(piece)
    return ours, urlunsplit(parts._replace(query="&".join(kept)))


def _schema(value: str, url: str) -> str:
    if not _IDENT.match(value):
        raise BadWarehouseURL(f"{url}: schema {value!r} must be a plain SQL identifier (letters, digits, _)")
    return value


def parse_warehouse_url(url: str) -> WarehouseURL:
    """Parse ``duckdb:PATH[?schema=S]`` or ``postgresql://...[?schema=S]`` (a bare ``*.duckdb`` path works too)."""
    if url.startswith(("postgresql://", "postgres://")):
        ours, target = take_params(url, ("schema",))
        return WarehouseURL(Dialect.POSTGRES, target, _schema(ours.get("schema", DEFAULT_SCHEMA), url))
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
