"""The JSON rules (``schema_version``, ``nulls_omitted``) written in each warehouse's own SQL.

The plan is DuckDB SQL that sqlglot transpiles, but DuckDB applies these rules with ``json_merge_patch`` over a
``'$[*]'`` walk of each context array, and neither travels: sqlglot cannot write the wildcard path for Snowflake,
BigQuery or Redshift, and no warehouse here has ``json_merge_patch``. So where a rule applies, the plan writes a
stand-in, ``sptk_json_rules(<column>, 'array'|'object', <rule>...)``, and :func:`migration.warehouses.dialects.render`
puts this module's text for that warehouse in its place. Each writer returns the normalised value as JSON text,
as DuckDB's ``CAST(... AS VARCHAR)`` does, and leaves NULL as NULL.

Only Snowflake's text is run here (through the fakesnow emulator); BigQuery's, Redshift's and Databricks' are
checked to parse in that dialect and are not run against the real services.
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.warehouse.columns import literal

#: The function name of the stand-in the plan writes; it never reaches a warehouse.
MARKER = "sptk_json_rules"
SCHEMA_VERSION, NULLS_OMITTED = "schema_version", "nulls_omitted"

#: Redshift and Databricks: (POSIX pattern, replacement) applied in order to the compact JSON text. Keys and the
#: version are matched as whole JSON strings that open right after ``{`` or ``,``, so a ``"k":null`` inside a
#: string value (its quotes are escaped there) is left alone. No backslashes: string-literal escaping differs.
TEXTUAL_RULES: dict[str, list[tuple[str, str]]] = {
    SCHEMA_VERSION: [(',"_schema_version":"[^"]*"', ""), ('[{]"_schema_version":"[^"]*",?', "{")],
    NULLS_OMITTED: [(',"[^"]*":null', ""), ('[{]"[^"]*":null,?', "{")],
}


def marker(ref: str, array: bool, rules: tuple[str, ...]) -> str:
    """The stand-in the plan writes (DuckDB text, so sqlglot parses it with the rest of the statement)."""
    kind = "array" if array else "object"
    return f"{MARKER}({ref}, {', '.join(literal(x) for x in (kind, *rules))})"


def _snowflake(ref: str, array: bool, rules: tuple[str, ...]) -> str:
    """VARIANT: each object rebuilt from its FLATTENed members (OBJECT_AGG), without ``_schema_version`` and
    without members whose value is a JSON null (IS_NULL_VALUE); a context array rebuilt element by element in
    its order (ARRAY_AGG ... WITHIN GROUP (ORDER BY index)). Top-level members of each entity only: Snowflake
    has no recursive null strip. Correlated FLATTEN in a scalar subquery: run here in the emulator only."""
    keep = (["m.key <> '_schema_version'"] if SCHEMA_VERSION in rules else []) + \
        (["NOT IS_NULL_VALUE(m.value)"] if NULLS_OMITTED in rules else [])

    def entity(value: str) -> str:
        return (f"coalesce((SELECT OBJECT_AGG(m.key, m.value) FROM TABLE(FLATTEN(INPUT => {value})) m "
                f"WHERE {' AND '.join(keep)}), OBJECT_CONSTRUCT())")

    if not array:
        return f"CASE WHEN {ref} IS NULL THEN NULL ELSE TO_JSON({entity(f'PARSE_JSON({ref})')}) END"
    return (f"CASE WHEN {ref} IS NULL THEN NULL ELSE TO_JSON(coalesce((SELECT ARRAY_AGG({entity('e.value')}) "
            f"WITHIN GROUP (ORDER BY e.index) FROM TABLE(FLATTEN(INPUT => PARSE_JSON({ref}))) e), "
            f"ARRAY_CONSTRUCT())) END")


def _bigquery(ref: str, array: bool, rules: tuple[str, ...]) -> str:
    """JSON type: JSON_REMOVE drops ``_schema_version``; JSON_STRIP_NULLS drops null members at every depth of
    objects (``include_arrays => FALSE``: a null inside an array stays, as DuckDB's merge patch keeps it); a
    context array is walked with UNNEST(JSON_QUERY_ARRAY(...)) WITH OFFSET, in its order."""
    def entity(value: str) -> str:
        if SCHEMA_VERSION in rules:
            value = f"JSON_REMOVE({value}, '$._schema_version')"
        if NULLS_OMITTED in rules:
            value = f"JSON_STRIP_NULLS({value}, include_arrays => FALSE)"
        return value

    if not array:
        return f"TO_JSON_STRING({entity(f'PARSE_JSON({ref})')})"
    return (f"CASE WHEN {ref} IS NULL THEN NULL ELSE TO_JSON_STRING(ARRAY(SELECT {entity('e')} "
            f"FROM UNNEST(JSON_QUERY_ARRAY(PARSE_JSON({ref}))) AS e WITH OFFSET AS i ORDER BY i)) END")


def _textual(compact: str) -> Callable[[str, bool, tuple[str, ...]], str]:
    """Redshift and Databricks have no function that drops an object member by name or by null value, so the
    rules edit the compact JSON text (:data:`TEXTUAL_RULES`): ``_schema_version`` and null members go at every
    depth of objects, arrays are kept as they are. ``compact`` re-serialises the value without whitespace."""
    def write(ref: str, array: bool, rules: tuple[str, ...]) -> str:
        text = compact.format(ref)
        for rule in (SCHEMA_VERSION, NULLS_OMITTED):
            if rule in rules:
                for pattern, replacement in TEXTUAL_RULES[rule]:
                    text = f"REGEXP_REPLACE({text}, {literal(pattern)}, {literal(replacement)})"
        return text

    return write


#: sqlglot dialect -> the writer of the rules there. Other transpiled targets keep sqlglot's rendering.
WRITERS: dict[str, Callable[[str, bool, tuple[str, ...]], str]] = {
    "snowflake": _snowflake,
    "bigquery": _bigquery,
    "redshift": _textual("JSON_SERIALIZE(JSON_PARSE({}))"),  # SUPER round trip: compact text
    "databricks": _textual("TO_JSON(PARSE_JSON({}))"),  # VARIANT round trip: compact text
}


def written(target: str, ref: str, array: bool, rules: tuple[str, ...]) -> str:
    """The rules applied to ``ref`` (already in ``target``'s SQL) as ``target`` writes them, as JSON text."""
    return f"({WRITERS[target](ref, array, rules)})"
