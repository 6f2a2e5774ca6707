"""The reconciliation plan rendered for warehouses not run here: the SQL must parse in each one's dialect.

BigQuery, Redshift, Databricks and Snowflake are not run against the real service in this repository; these tests
check that every statement of the plan renders (sqlglot, and the JSON rules each warehouse writes itself) into text
that dialect's parser accepts. Snowflake's also runs in an emulator (tests/integration/migration).
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import sqlglot

from connectors.warehouse.columns import Dialect
from migration.reconcile.config import ReconcileConfig
from migration.reconcile.metrics import DEFAULT_METRICS, MetricSql, parse_metric
from migration.reconcile.plan import plan_columns
from migration.reconcile.scope import scope_from_options
from migration.reconcile.sql import Sql
from migration.sources import BadSource, parse_source
from migration.warehouses.dialects import engine_dialect, render
from migration.warehouses.entity_elements import MARKERS
from migration.warehouses.json_rules import TEXTUAL_RULES
from migration.warehouses.layouts import wide_name

COLUMNS = ["event_id", "collector_tstamp", "load_tstamp", "app_id", "platform", "event", "event_vendor", "event_name",
           "event_version", "event_format", "page_title", "tr_total", "domain_userid", "domain_sessionid",
           "event_fingerprint", "contexts_com_acme_product_1", "unstruct_event_com_acme_click_1"]


def plan_statements(backend: str, json_rules: bool = True) -> list[str]:
    config = ReconcileConfig()
    rules = config.rules if json_rules else replace(config.rules, schema_version=False, nulls_omitted=False)
    written, target = engine_dialect(backend)
    sql = Sql(written, rules, config.window_us, plan_columns(COLUMNS, COLUMNS), transpiled_to=target)
    legacy, new = '"atomic"."events"', '"kafka"."events"'
    metrics = MetricSql(True, frozenset(COLUMNS))
    settled = f"t.collector_tstamp <= {sql.tstamp('2024-05-01 10:00:00')}"
    scope = scope_from_options("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", ["shop"], ["web"],
                               ["com.acme/click/jsonschema/1-*-*"])
    return [f"CREATE TEMP VIEW scoped AS SELECT * FROM {legacy} t WHERE {scope.predicate('t', COLUMNS)}",
            sql.checksum_pass(legacy, True), sql.duplicate_rows(new, False), sql.max_tstamp(legacy),
            *(metrics.query(spec, legacy, settled, '"kafka"."bad_rows"') for spec in DEFAULT_METRICS),
            sql.freshness(legacy), sql.diff(legacy, new, sql.in_windows([10, 11, 14])),
            sql.findings('"atomic"."bad_rows"', None, "2024-05-01 10:00:00")]


WAREHOUSES = ("bigquery", "redshift", "databricks", "snowflake")


def assert_parses(backend: str, statements: list[str]) -> None:
    written, target = engine_dialect(backend)
    assert written is Dialect.DUCKDB and target is not None
    for statement in statements:
        rendered = render(statement, target)
        assert sqlglot.parse(rendered, read=target), statement  # raises ParseError when the dialect rejects it


@pytest.mark.parametrize("backend", WAREHOUSES)
def test_every_statement_of_the_plan_parses_in_the_warehouse_dialect(backend: str) -> None:
    assert_parses(backend, plan_statements(backend, json_rules=False))


@pytest.mark.parametrize("backend", WAREHOUSES)
def test_the_json_normalisation_rules_render_in_the_warehouse_dialect(backend: str) -> None:
    assert_parses(backend, plan_statements(backend))


#: What each warehouse applies the JSON rules with (none of them has DuckDB's json_merge_patch).
OWN_JSON_FUNCTIONS = {"snowflake": ("FLATTEN(INPUT =>", "OBJECT_AGG(", "IS_NULL_VALUE(", "ARRAY_AGG("),
                      "bigquery": ("JSON_QUERY_ARRAY(", "JSON_REMOVE(", "JSON_STRIP_NULLS(", "WITH OFFSET"),
                      "redshift": ("JSON_SERIALIZE(JSON_PARSE(", "REGEXP_REPLACE("),
                      "databricks": ("TO_JSON(PARSE_JSON(", "REGEXP_REPLACE(")}


@pytest.mark.parametrize("backend", WAREHOUSES)
def test_the_json_rules_are_written_with_the_warehouse_own_json_functions(backend: str) -> None:
    target = engine_dialect(backend)[1]
    diff = next(render(s, target) for s in plan_statements(backend) if "_sptk_diff" in s and "CREATE" in s)
    assert "JSON_MERGE_PATCH" not in diff.upper() and "$[*]" not in diff
    assert [f for f in OWN_JSON_FUNCTIONS[backend] if f not in diff] == []


@pytest.mark.parametrize(("text", "expected"), [
    ('{"id":1,"_schema_version":"1-0-0","city":null}', '{"id":1}'),
    ('{"city":null,"_schema_version":"1-0-0","id":1}', '{"id":1}'),
    ('{"_schema_version":"1-0-0"}', '{}'),
    ('[{"a":null,"b":{"c":null,"d":2}},{"a":"x,\\"q\\":null"}]', '[{"b":{"d":2}},{"a":"x,\\"q\\":null"}]'),
    ('{"note":"{\\"k\\":null}","n":[null,1]}', '{"note":"{\\"k\\":null}","n":[null,1]}'),
])
def test_the_textual_json_rules_of_redshift_and_databricks_drop_members_not_text_inside_strings(
        text: str, expected: str) -> None:
    for pattern, replacement in TEXTUAL_RULES["schema_version"] + TEXTUAL_RULES["nulls_omitted"]:
        text = re.sub(pattern, replacement, text)  # the same POSIX patterns the warehouses' REGEXP_REPLACE run
    assert text == expected


def test_bigquery_full_version_names_become_the_major_version_the_plan_compares() -> None:
    assert wide_name("contexts_com_acme_product_1_0_0") == "contexts_com_acme_product_1"
    assert wide_name("CONTEXTS_COM_ACME_PRODUCT_1") == "contexts_com_acme_product_1"  # Snowflake's upper case
    assert wide_name("unstruct_event_com_acme_click_2_1_0") == "unstruct_event_com_acme_click_2"
    assert wide_name("page_title") == "page_title"


def test_a_sql_source_keeps_its_driver_parameters_and_takes_ours() -> None:
    spec = parse_source("sql:postgresql+psycopg://u:secret@db/x?sslmode=require&schema=legacy&layout=shredded")
    assert spec.kind == "sql" and spec.schema == "legacy" and spec.sql and spec.sql.layout == "shredded"
    assert spec.target == "postgresql+psycopg://u:secret@db/x?sslmode=require"
    assert "secret" not in str(spec)
    assert parse_source("sql:duckdb:////abs/wh.duckdb").target == "duckdb:////abs/wh.duckdb"


@pytest.mark.parametrize("text", ["sql:not a url", "sql:postgresql://h/db?layout=sideways"])
def test_a_wrong_sql_source_is_a_usage_error_that_says_the_form(text: str) -> None:
    with pytest.raises(BadSource, match="sql:|layout"):
        parse_source(text)


def metric_statement(field: str, backend: str) -> str:
    spec = parse_metric({"name": "product_revenue", "aggregation": "sum", "field": field,
                         "filter": {"event_name": "checkout_step"},
                         "group_by": ["app_id", "unstruct_event_com_acme_click_1.step"]})
    return MetricSql(True, frozenset(COLUMNS), transpiled_to=engine_dialect(backend)[1]).query(
        spec, '"atomic"."events"', "t.collector_tstamp <= TIMESTAMP '2024-05-01 10:00:00'", '"kafka"."bad_rows"')


@pytest.mark.parametrize("backend", WAREHOUSES)
def test_a_user_metric_on_one_entity_renders_in_the_warehouse_dialect(backend: str) -> None:
    assert_parses(backend, [metric_statement("contexts_com_acme_product_1[0].price", backend)])


@pytest.mark.parametrize("backend", WAREHOUSES)
def test_a_user_metric_over_every_entity_renders_in_the_warehouse_dialect(backend: str) -> None:
    assert_parses(backend, [metric_statement("contexts_com_acme_product_1[].price", backend),
                            metric_statement("contexts_com_acme_product_1[].dims.sizes[0]", backend)])


#: How each warehouse walks every element of a context array (Databricks keeps sqlglot's rendering).
OWN_ELEMENT_WALKS = {"snowflake": ("LATERAL FLATTEN(INPUT => ", "PARSE_JSON(", 'x.value:"price"', "x.index"),
                     "bigquery": ("CROSS JOIN UNNEST(JSON_QUERY_ARRAY(", "WITH OFFSET AS x_i",
                                  "JSON_VALUE(x, '$.\"price\"')"),
                     "redshift": ("JSON_PARSE(", " AS x AT x_i", 'x."price"', "JSON_SERIALIZE(")}


@pytest.mark.parametrize("backend", sorted(OWN_ELEMENT_WALKS))
def test_a_user_metric_over_every_entity_is_written_with_the_warehouse_own_unnesting(backend: str) -> None:
    rendered = render(metric_statement("contexts_com_acme_product_1[].price", backend), engine_dialect(backend)[1])
    assert "$[*]" not in rendered and [m for m in MARKERS if f"{m}(" in rendered.lower()] == []
    assert [f for f in OWN_ELEMENT_WALKS[backend] if f not in rendered] == []
