"""Every entity of a context array as rows, written in each warehouse's own SQL (a metric over ``ctx[].field``).

DuckDB reads every element with a ``'$[*].field'`` path and ``unnest``/``generate_subscripts`` in the select list,
which sqlglot cannot write for Snowflake, BigQuery or Redshift (no wildcard JSON path there). So for those
warehouses :class:`migration.reconcile.metrics.MetricSql` writes stand-ins, as the plan does for the JSON rules
(:mod:`migration.warehouses.json_rules`), and :func:`migration.warehouses.dialects.render` puts this module's text
for the warehouse in their place:

- ``sptk_entity_array(<column>)`` in a wrapping select: the column as the warehouse's JSON array value (Redshift
  unnests only a SUPER column of a FROM item, so the parse happens one level down, as ``_sptk_entities``);
- ``CROSS JOIN sptk_entities(t._sptk_entities) AS x``: one row per element, in the FROM clause;
- ``sptk_entity_field(x, 'key' | index, ...)``: the field of the element as text (JSON null is NULL), as DuckDB's
  ``json_extract_string`` gives it; ``sptk_entity_index(x)``: the element's position.

Only Snowflake's text is run here (through the fakesnow emulator); BigQuery's and Redshift's are checked to parse
in that dialect and are not run against the real services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.warehouse.columns import literal, quote

ARRAY, ENTITIES, FIELD, INDEX = "sptk_entity_array", "sptk_entities", "sptk_entity_field", "sptk_entity_index"
MARKERS = (ARRAY, ENTITIES, FIELD, INDEX)
#: The wrapping select's column holding the parsed array, and the element's alias.
PARSED, ELEMENT = "_sptk_entities", "x"
Step = str | int  # a member name or an array position inside the element


def wrapped(relation: str, column: str) -> str:
    """``relation`` with the context column parsed as ``_sptk_entities`` (stand-in; DuckDB text for sqlglot)."""
    return f"(SELECT r.*, {ARRAY}(r.{quote(column)}) AS {PARSED} FROM {relation} r)"


def joined() -> str:
    return f" CROSS JOIN {ENTITIES}(t.{PARSED}) AS {ELEMENT}"


def field(steps: tuple[Step, ...]) -> str:
    return f"{FIELD}({ELEMENT}, {', '.join(literal(s) if isinstance(s, str) else str(s) for s in steps)})"


def index() -> str:
    return f"{INDEX}({ELEMENT})"


def _double_quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class Writer:
    """One warehouse's text for each stand-in: the parse, the FROM item, the field as text, the position."""

    array: Callable[[str], str]
    join: Callable[[str], str]  # the parsed column (``t._sptk_entities``) -> the join, with its leading separator
    field: Callable[[tuple[Step, ...]], str]
    index: str


def _snowflake_field(steps: tuple[Step, ...]) -> str:
    path = "".join((":" if n == 0 else ".") + _double_quoted(s) if isinstance(s, str) else f"[{s}]"
                   for n, s in enumerate(steps))
    value = f"{ELEMENT}.value{path}"
    return f"CASE WHEN IS_NULL_VALUE({value}) THEN NULL ELSE CAST({value} AS VARCHAR) END"


def _bigquery_field(steps: tuple[Step, ...]) -> str:
    path = "$" + "".join(f".{_double_quoted(s)}" if isinstance(s, str) else f"[{s}]" for s in steps)
    return f"JSON_VALUE({ELEMENT}, {literal(path)})"  # scalars only: NULL for a JSON null, an object or an array


def _redshift_field(steps: tuple[Step, ...]) -> str:
    value = ELEMENT + "".join(f".{_double_quoted(s)}" if isinstance(s, str) else f"[{s}]" for s in steps)
    return (f"CASE WHEN IS_VARCHAR({value}) THEN CAST({value} AS VARCHAR) "
            f"WHEN JSON_TYPEOF({value}) <> 'null' THEN JSON_SERIALIZE({value}) END")


#: sqlglot dialect -> its writer. Other transpiled targets (Databricks) keep sqlglot's rendering of DuckDB's text.
WRITERS: dict[str, Writer] = {
    # LATERAL FLATTEN over the parsed VARIANT: each element's ``value`` and ``index``
    "snowflake": Writer(lambda ref: f"PARSE_JSON({ref})",
                        lambda parsed: f", LATERAL FLATTEN(INPUT => {parsed}) AS {ELEMENT}",
                        _snowflake_field, f"{ELEMENT}.index"),
    # JSON_QUERY_ARRAY takes a JSON string or a JSON value; WITH OFFSET keeps the position
    "bigquery": Writer(lambda ref: ref,
                       lambda parsed: f" CROSS JOIN UNNEST(JSON_QUERY_ARRAY({parsed})) AS {ELEMENT} "
                                      f"WITH OFFSET AS {ELEMENT}_i",
                       _bigquery_field, f"{ELEMENT}_i"),
    # PartiQL unnesting of the SUPER value JSON_PARSE made: ``FROM t, t.col AS x AT i``
    "redshift": Writer(lambda ref: f"JSON_PARSE({ref})",
                       lambda parsed: f", {parsed} AS {ELEMENT} AT {ELEMENT}_i",
                       _redshift_field, f"{ELEMENT}_i"),
}
