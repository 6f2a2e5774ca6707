"""The columns of ``atomic.events``, derived from the one field table.

Atomic columns come from :mod:`toolkit.contract.fields` (so a field is named and typed in
one place); the three self-describing fields become one JSON column per entity
type, named the way Snowplow's wide-row loaders name them, and added on demand.
The load metadata columns make every load idempotent and traceable to its input.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum

from toolkit.contract.fields import FIELDS, FieldKind


class Dialect(Enum):
    DUCKDB = "duckdb"
    POSTGRES = "postgres"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the events table and its SQL type in each dialect."""

    name: str
    kind: FieldKind | None  # None for JSON entity columns and load metadata
    duckdb_type: str
    postgres_type: str
    not_null: bool = False

    def sql_type(self, dialect: Dialect) -> str:
        return self.duckdb_type if dialect is Dialect.DUCKDB else self.postgres_type


_TYPES: dict[FieldKind, tuple[str, str]] = {
    FieldKind.STRING: ("VARCHAR", "TEXT"),
    FieldKind.UUID: ("VARCHAR(36)", "VARCHAR(36)"),
    FieldKind.INT: ("BIGINT", "BIGINT"),
    FieldKind.DOUBLE: ("DOUBLE", "DOUBLE PRECISION"),
    FieldKind.BOOL: ("BOOLEAN", "BOOLEAN"),
    # µs precision in both: nanosecond source text (beam-enrich) is truncated on load.
    FieldKind.TSTAMP: ("TIMESTAMP", "TIMESTAMP"),
}

#: The atomic columns in field-table order (the SDJ fields are not columns: they fan out into entity columns).
ATOMIC_COLUMNS: tuple[Column, ...] = tuple(
    Column(f.name, f.kind, *_TYPES[f.kind], not_null=f.name in ("event_id", "collector_tstamp"))
    for f in FIELDS
    if not f.kind.is_self_describing
)
ATOMIC_NAMES: frozenset[str] = frozenset(c.name for c in ATOMIC_COLUMNS)
SDJ_FIELD_NAMES: frozenset[str] = frozenset(f.name for f in FIELDS if f.kind.is_self_describing)

#: When and from where a row was loaded (file+line or topic+partition+offset); events and bad rows both carry it.
PROVENANCE_COLUMNS: tuple[Column, ...] = (
    Column("load_tstamp", None, "TIMESTAMP", "TIMESTAMP", not_null=True),
    Column("load_file", None, "VARCHAR", "TEXT"),
    Column("load_line", None, "BIGINT", "BIGINT"),
    Column("load_topic", None, "VARCHAR", "TEXT"),
    Column("load_partition", None, "INTEGER", "INTEGER"),
    Column("load_offset", None, "BIGINT", "BIGINT"),
)

#: Load metadata: provenance, and the dedup identity.
LOAD_COLUMNS: tuple[Column, ...] = (
    *PROVENANCE_COLUMNS,
    # event_fingerprint, or a hash of the row's content when the event has none
    Column("row_fingerprint", None, "VARCHAR", "TEXT", not_null=True),
    Column("synthetic_duplicate", None, "BOOLEAN", "BOOLEAN", not_null=True),
)
LOAD_NAMES: frozenset[str] = frozenset(c.name for c in LOAD_COLUMNS)

#: The bad-output table of a side: one row per bad row, found by event id when the bad row names one.
BAD_ROW_COLUMNS: tuple[Column, ...] = (
    Column("event_id", None, "VARCHAR", "TEXT"),
    Column("bad_row_type", None, "VARCHAR", "TEXT", not_null=True),
    Column("failure", None, "VARCHAR", "TEXT"),
    *PROVENANCE_COLUMNS,
)

#: PostgreSQL truncates identifiers past 63 bytes; every backend uses the same shortened name.
MAX_IDENTIFIER = 63
ENTITY_KEY = re.compile(r"^(contexts|unstruct_event)_[a-z0-9_]+_[0-9]+$")
_CAMEL = re.compile(r"([^A-Z_])([A-Z])")


def entity_key(prefix: str, vendor: str, name: str, major: int) -> str:
    """The wide-row key of an entity type: ``contexts_com_acme_web_page_1``.

    Vendor dots and dashes become underscores and a camelCase name becomes
    snake_case, as the Snowplow analytics SDKs and wide-row loaders do.
    """
    if prefix not in ("contexts", "unstruct_event"):
        raise ValueError(f"entity prefix must be 'contexts' or 'unstruct_event', not {prefix!r}")
    vendor_part = re.sub(r"[.\-]", "_", vendor).lower()
    name_part = _CAMEL.sub(r"\1_\2", name).replace("-", "_").lower()
    return f"{prefix}_{vendor_part}_{name_part}_{major}"


def entity_column(key: str) -> str:
    """The column name for an entity key, shortened with a stable hash when too long for PostgreSQL."""
    if len(key) <= MAX_IDENTIFIER:
        return key
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"{key[: MAX_IDENTIFIER - 9]}_{digest}"


def entity_type(column: str) -> Column:
    return Column(column, None, "JSON", "JSONB")


def is_entity_column(name: str) -> bool:
    return name.startswith(("contexts_", "unstruct_event_"))


def quote(name: str) -> str:
    """A double-quoted SQL identifier (both dialects)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A single-quoted SQL string literal (both dialects)."""
    return "'" + text.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def create_table_sql(schema: str, table: str, columns: tuple[Column, ...], dialect: Dialect) -> str:
    body = ",\n  ".join(
        f"{quote(c.name)} {c.sql_type(dialect)}{' NOT NULL' if c.not_null else ''}" for c in columns
    )
    return f"CREATE TABLE IF NOT EXISTS {qualified(schema, table)} (\n  {body}\n)"


def events_ddl(schema: str, dialect: Dialect, entity_columns: tuple[str, ...] = ()) -> list[str]:
    """The statements that create ``<schema>.events`` and ``<schema>.bad_rows`` (idempotent)."""
    columns = ATOMIC_COLUMNS + LOAD_COLUMNS + tuple(entity_type(c) for c in entity_columns)
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}",
        create_table_sql(schema, "events", columns, dialect),
        create_table_sql(schema, "bad_rows", BAD_ROW_COLUMNS, dialect),
    ]
    if dialect is Dialect.POSTGRES:
        # Provenance indexes: "already loaded?" is a lookup; event_id: the dedup checks; collector_tstamp: windows.
        statements += [
            f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(schema + '_events_file_line')} ON "
            f"{qualified(schema, 'events')} (load_file, load_line) WHERE load_file IS NOT NULL",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(schema + '_events_topic_offset')} ON "
            f"{qualified(schema, 'events')} (load_topic, load_partition, load_offset) WHERE load_topic IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {quote(schema + '_events_event_id')} ON "
            f"{qualified(schema, 'events')} (event_id)",
            f"CREATE INDEX IF NOT EXISTS {quote(schema + '_events_collector_tstamp')} ON "
            f"{qualified(schema, 'events')} (collector_tstamp)",
        ]
    return statements
