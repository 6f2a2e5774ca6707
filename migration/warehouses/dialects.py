"""The reconciliation's SQL in each warehouse's dialect.

The engine writes DuckDB or PostgreSQL SQL; any other warehouse gets the DuckDB text transpiled by
``sqlglot``, so one plan is written once and every warehouse runs the same comparison. Where sqlglot cannot
write a fragment for a warehouse (the JSON rules; every entity of a context array in a metric), the plan leaves a
stand-in that is replaced by that warehouse's own text: see :mod:`migration.warehouses.json_rules` and
:mod:`migration.warehouses.entity_elements`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.warehouse.columns import Dialect
from migration.warehouses import entity_elements, json_rules

#: SQLAlchemy backend name -> sqlglot dialect name, for the warehouses whose SQL is transpiled.
TRANSPILED = {"snowflake": "snowflake", "bigquery": "bigquery", "redshift": "redshift",
              "databricks": "databricks", "mysql": "mysql", "mssql": "tsql", "trino": "trino"}


class UnsupportedWarehouse(ValueError):
    """The URL names a database the reconciliation cannot render SQL for."""


def engine_dialect(backend_name: str) -> tuple[Dialect, str | None]:
    """Which SQL the engine writes for a SQLAlchemy backend, and the sqlglot dialect to transpile it to (if any)."""
    if backend_name == "duckdb":
        return Dialect.DUCKDB, None
    if backend_name in ("postgresql", "postgres"):
        return Dialect.POSTGRES, None
    if backend_name in TRANSPILED:
        return Dialect.DUCKDB, TRANSPILED[backend_name]
    raise UnsupportedWarehouse(f"sql:{backend_name}://... is not a warehouse the reconciliation knows; it runs on "
                               f"duckdb, postgresql, {', '.join(sorted(TRANSPILED))}")


def render(sql: str, target: str | None, params: Sequence[Any] = ()) -> str:
    """``sql`` (DuckDB) as ``target`` writes it; unchanged when the engine already writes that dialect.

    The engine's ``?`` placeholders become literals of the target: each warehouse driver has its own
    parameter style (Snowflake's connector binds ``%s`` unless told otherwise), and sqlglot knows every
    dialect's literals, so the values travel inside the rendered text instead.
    """
    if target is None:
        return sql
    import sqlglot
    from sqlglot import exp

    def own_text(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Join) and isinstance(node.this, exp.Table) and \
                isinstance(node.this.this, exp.Anonymous) and node.this.this.name.lower() == entity_elements.ENTITIES:
            return exp.Var(this=entity_elements.WRITERS[target].join(node.this.this.expressions[0].sql(dialect=target)))
        if not isinstance(node, exp.Anonymous):
            return node
        name = node.name.lower()
        if name in entity_elements.MARKERS:
            return exp.Var(this=_entity_text(target, name, node.expressions))
        if name != json_rules.MARKER:
            return node
        ref, kind, *rules = node.expressions
        text = json_rules.written(target, ref.sql(dialect=target), kind.name == "array", tuple(r.name for r in rules))
        return exp.Var(this=text)  # written verbatim: it is already the target's SQL

    statements = [exp.replace_placeholders(s, *params) if params else s
                  for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    return ";\n".join(s.transform(own_text).sql(dialect=target, unsupported_level=sqlglot.ErrorLevel.RAISE)
                       for s in statements)


def _entity_text(target: str, name: str, args: list[Any]) -> str:
    """A select-list stand-in of :mod:`migration.warehouses.entity_elements` as ``target`` writes it."""
    writer = entity_elements.WRITERS[target]
    if name == entity_elements.ARRAY:
        return writer.array(args[0].sql(dialect=target))
    if name == entity_elements.INDEX:
        return writer.index
    return writer.field(tuple(a.name if a.is_string else int(a.name) for a in args[1:]))
