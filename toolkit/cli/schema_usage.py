"""How many events a warehouse holds per event schema, for `sptk iglu deprecations --source`.

Counting needs only the four ``event_*`` columns and ``collector_tstamp`` of the events table
the toolkit's loaders write, so the same query serves a DuckDB warehouse and Parquet files
(DuckDB reads those in place); nothing is copied or loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey

#: what ``--source`` accepts, for help texts and errors
SOURCE_FORMS = "duckdb:PATH[?schema=NAME] (table <schema>.events, default atomic) or parquet:GLOB"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class UsageSourceError(ValueError):
    """The source cannot be read; the message says which and why."""


@dataclass(frozen=True)
class SchemaUsage:
    key: SchemaKey
    events: int
    last_seen: str


def _relation(source: str) -> tuple[str, str | None]:
    """The SQL relation to count in, and the DuckDB file to open (``None``: in memory)."""
    if source.startswith("parquet:"):
        pattern = source[len("parquet:"):]
        if not pattern:
            raise UsageSourceError(f"--source {source}: name the Parquet files, e.g. parquet:lake/events/*.parquet")
        return "read_parquet('" + pattern.replace("'", "''") + "')", None
    if source.startswith("duckdb:"):
        path, _, query = source[len("duckdb:"):].partition("?")
        schema = query[len("schema="):] if query.startswith("schema=") else "atomic"
        if not _IDENT.match(schema) or (query and not query.startswith("schema=")):
            raise UsageSourceError(f"--source {source}: the only parameter is schema=NAME (a plain SQL name)")
        if not Path(path).is_file():
            raise UsageSourceError(f"--source {source}: {path} is not a DuckDB file")
        return f'"{schema}"."events"', path
    raise UsageSourceError(f"--source {source}: expected {SOURCE_FORMS}")


def schema_usage(source: str) -> list[SchemaUsage]:
    """Events and the last ``collector_tstamp`` per event schema in ``source``."""
    import duckdb

    relation, database = _relation(source)
    sql = (f"SELECT event_vendor, event_name, event_format, event_version, count(*), "
           f"CAST(max(collector_tstamp) AS VARCHAR) FROM {relation} "
           "GROUP BY ALL ORDER BY 1, 2, 3, 4")
    try:
        with duckdb.connect(database or ":memory:", read_only=database is not None) as con:
            rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise UsageSourceError(f"cannot count events per schema in {source}: {str(exc).splitlines()[0]}") from None
    out = []
    for vendor, name, fmt, version, events, last in rows:
        try:
            key = SchemaKey.parse(f"iglu:{vendor}/{name}/{fmt}/{version}")
        except InvalidSchemaKey:
            continue  # an event without a schema (empty columns): nothing can deprecate it
        out.append(SchemaUsage(key, int(events), last or ""))
    return out
