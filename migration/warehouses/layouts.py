"""Snowplow's two table layouts read as one shape: wide rows, one entity column per type.

Wide row (Snowflake, BigQuery, Databricks and this toolkit's loader): ``atomic.events`` holds a column per
entity type, ``contexts_com_acme_product_1`` (an array) or ``unstruct_event_com_acme_click_1`` (an object);
BigQuery's columns carry the full version (``contexts_com_acme_product_1_0_0``) and hold REPEATED RECORDs,
Snowflake's hold VARIANT. Shredded (Redshift and the Postgres loader): ``atomic.events`` plus a table per
entity type (``atomic.com_acme_product_1``) whose rows point at their event through ``root_id`` =
``event_id`` and ``root_tstamp`` = ``collector_tstamp``. The reconciliation compares wide rows, so a
shredded side is rebuilt as wide rows by a query the warehouse runs: nothing is copied out to do it.

An entity row of a shredded table is the event's unstruct event when its schema is the event's own
(``schema_vendor``/``schema_name`` = ``event_vendor``/``event_name``), else one of its contexts. Shredded
tables keep no element order, so a context array is rebuilt in the table's scan order; field names are the
shredded column names (snake_case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connectors.warehouse.backends import ReadBackend
from connectors.warehouse.columns import Dialect, entity_column, is_entity_column, literal, quote

WIDE, SHREDDED = "wide", "shredded"
#: The shredded tables' own columns (the Postgres loader has the first six): not fields of the entity.
ENTITY_META = ("schema_vendor", "schema_name", "schema_format", "schema_version", "root_id", "root_tstamp",
               "ref_root", "ref_tree", "ref_parent")
#: BigQuery's wide-row column names carry the whole version: ``contexts_com_acme_product_1_0_0``.
FULL_VERSION = re.compile(r"^((?:contexts|unstruct_event)_.+_\d+)_\d+_\d+$")
_JSON_TYPES = ("JSON", "JSONB", "VARCHAR", "TEXT", "CHARACTER VARYING", "STRING")


@dataclass(frozen=True, slots=True)
class SideTable:
    """How to read one side's events as wide rows."""

    layout: str
    columns: list[str]  # the wide-row column names the reconciliation sees
    select: str | None  # the query that rebuilds them; None when the events table is read as it is


def wide_name(column: str) -> str:
    """The wide-row name the plan compares: lower case, the entity's major version only."""
    name = column.lower()
    match = FULL_VERSION.match(name)
    return match.group(1) if match and is_entity_column(name) else name


class _Tables:
    def __init__(self, backend: ReadBackend, schema: str, catalog: str | None) -> None:
        self.backend, self.schema, self.catalog = backend, schema, catalog
        self.p = backend.placeholder
        self._stored: dict[str, str] = {}

    def stored(self, table: str) -> str:
        """The table's name as the warehouse keeps it: Snowflake folds unquoted ``events`` to ``EVENTS``."""
        if table not in self._stored:
            where, params = self._where()
            names = sorted({str(r[0]) for r in self.backend.query(
                f"SELECT table_name FROM information_schema.columns WHERE {where} AND lower(table_name) = {self.p}",
                [*params, table.lower()])})
            self._stored[table] = table if table in names or not names else names[0]
        return self._stored[table]

    def ref(self, table: str) -> str:
        prefix = f"{quote(self.catalog)}." if self.catalog else ""
        return f"{prefix}{quote(self.schema)}.{quote(self.stored(table))}"

    def _where(self) -> tuple[str, list[Any]]:
        where, params = f"table_schema = {self.p}", [self.schema]
        if self.catalog:
            where, params = where + f" AND table_catalog = {self.p}", params + [self.catalog]
        return where, params

    def described(self, table: str) -> list[tuple[str, str]]:
        where, params = self._where()
        return [(str(n), str(t)) for n, t in self.backend.query(
            f"SELECT column_name, data_type FROM information_schema.columns WHERE {where} AND table_name = {self.p} "
            f"ORDER BY ordinal_position", [*params, self.stored(table)])]

    def entity_tables(self) -> list[str]:
        where, params = self._where()
        rows = self.backend.query(
            f"SELECT table_name FROM information_schema.columns WHERE {where} AND lower(column_name) = 'root_id' "
            f"ORDER BY table_name", params)
        return [str(r[0]) for r in rows if str(r[0]).lower() != "events"]

    def exists(self, sql: str) -> bool:
        return bool(self.backend.query(sql))


def read_side(backend: ReadBackend, schema: str, layout: str | None, catalog: str | None = None) -> SideTable | None:
    """The side's events as wide rows, in the layout given or detected; None when there is no events table."""
    tables = _Tables(backend, schema, catalog)
    events = tables.described("events")
    if not events:
        return None
    if layout is None:
        has_entity_columns = any(is_entity_column(n.lower()) for n, _ in events)
        layout = SHREDDED if not has_entity_columns and tables.entity_tables() else WIDE
    if layout == SHREDDED:
        return _shredded(tables, [n for n, _ in events], backend.dialect)
    return _wide(tables, events, backend.dialect)


def _wide(tables: _Tables, events: list[tuple[str, str]], dialect: Dialect) -> SideTable:
    to_json = "to_json" if dialect is Dialect.DUCKDB else "to_jsonb"
    items, as_is = [], tables.stored("events") == "events"
    for name, data_type in events:
        wide = wide_name(name)
        expr = f"t.{quote(name)}"
        if is_entity_column(wide) and data_type.upper() not in _JSON_TYPES:
            expr, as_is = f"{to_json}({expr})", False  # STRUCT / RECORD / VARIANT / ARRAY: compared as JSON
        as_is = as_is and wide == name
        items.append(f"{expr} AS {quote(wide)}")
    columns = [wide_name(n) for n, _ in events]
    if as_is:
        return SideTable(WIDE, columns, None)
    return SideTable(WIDE, columns, f"SELECT {', '.join(items)} FROM {tables.ref('events')} t")


def _shredded(tables: _Tables, events: list[str], dialect: Dialect) -> SideTable:
    duck = dialect is Dialect.DUCKDB
    items = [f"e.{quote(n)}" for n in events]
    columns = list(events)
    for table in tables.entity_tables():
        described = tables.described(table)
        names = {n.lower() for n, _ in described}
        if "root_tstamp" not in names:
            continue
        fields = [n for n, _ in described if n.lower() not in ENTITY_META]
        if duck:
            obj = "json_object(" + ", ".join(f"{literal(f)}, c.{quote(f)}" for f in fields) + ")"
            array = f"json_group_array({obj})"
        else:
            obj = "(to_jsonb(c) - ARRAY[" + ", ".join(literal(m) for m in ENTITY_META) + "]::text[])"
            array = f"jsonb_agg({obj})"
        own = ("coalesce(c.schema_vendor = e.event_vendor AND c.schema_name = e.event_name, false)"
               if {"schema_vendor", "schema_name"} <= names else "false")
        source = (f"FROM {tables.ref(table)} c WHERE c.root_id = e.event_id AND c.root_tstamp = e.collector_tstamp")
        probe = f"SELECT 1 FROM {tables.ref(table)} c JOIN {tables.ref('events')} e ON c.root_id = e.event_id " \
                f"AND c.root_tstamp = e.collector_tstamp WHERE "
        key = table.lower()
        if tables.exists(probe + f"NOT {own} LIMIT 1"):
            column = entity_column(f"contexts_{key}")
            items.append(f"(SELECT {array} {source} AND NOT {own}) AS {quote(column)}")
            columns.append(column)
        if own != "false" and tables.exists(probe + f"{own} LIMIT 1"):
            column = entity_column(f"unstruct_event_{key}")
            items.append(f"(SELECT {obj} {source} AND {own} LIMIT 1) AS {quote(column)}")
            columns.append(column)
    return SideTable(SHREDDED, columns, f"SELECT {', '.join(items)} FROM {tables.ref('events')} e")
