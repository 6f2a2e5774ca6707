"""The reconciliation's SQL in each warehouse's dialect.

The engine writes DuckDB or PostgreSQL SQL; any other warehouse gets the DuckDB text transpiled by
``sqlglot``, so one plan is written once and every warehouse runs the same comparison. Where sqlglot cannot
write a fragment for a warehouse (the JSON rules), the plan leaves a stand-in that is replaced by that
warehouse's own text: see :mod:`migration.warehouses.json_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.warehouse.columns import Dialect
from migration.warehouses import json_rules

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
        if not isinstance(node, exp.Anonymous) or node.name.lower() != json_rules.MARKER:
            return node
        ref, kind, *rules = node.expressions
        text = json_rules.written(target, ref.sql(dialect=target), kind.name == "array", tuple(r.name for r in rules))
        return exp.Var(this=text)  # written verbatim: it is already the target's SQL

    statements = [exp.replace_placeholders(s, *params) if params else s
                  for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    return ";\n".join(s.transform(own_text).sql(dialect=target, unsupported_level=sqlglot.ErrorLevel.RAISE)
                       for s in statements)
