"""Pure pieces of the reconciliation: durations, rules, column planning, verdicts, SQL per dialect."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connectors.warehouse.columns import Dialect
from migration.reconcile.config import ReconcileConfig, Rules, parse_duration, parse_tolerances
from migration.reconcile.errors import ConfigError
from migration.reconcile.plan import MissingColumns, plan_columns
from migration.reconcile.result import Bucket, MetricResult, Reconciliation, SideTotals, TypeResult
from migration.reconcile.sql import Sql
from migration.reconcile.verdict import decide, type_status
from migration.sources import BadSource, parse_source


def test_durations() -> None:
    assert parse_duration("1h") == 3_600_000_000 and parse_duration("15m") == 900_000_000
    assert parse_duration("250ms") == 250_000 and parse_duration("0s") == 0
    for bad in ("1 hour", "h", "-1h", "1.5h"):
        with pytest.raises(ConfigError, match="not a duration"):
            parse_duration(bad)


def test_rules_switch_by_name_and_refuse_unknown_ones() -> None:
    rules = Rules().with_settings(["nulls_omitted=off", "timestamp_precision=us"])
    assert (rules.nulls_omitted, rules.precision_us, rules.schema_version) == (False, 1, True)
    assert Rules().with_settings(["timestamp_precision=off"]).timestamp_precision == "us"
    with pytest.raises(ConfigError, match="unknown rule 'null_omitted'"):
        Rules().with_settings(["null_omitted=off"])
    with pytest.raises(ConfigError, match="on or off"):
        Rules().with_settings(["schema_version=maybe"])
    assert parse_tolerances(["users=0.01"])["users"] == 0.01
    with pytest.raises(ConfigError, match="unknown metric"):
        parse_tolerances(["revenue=0.1"])
    with pytest.raises(ConfigError, match="--fail-on"):
        ReconcileConfig(fail_on=frozenset({"everything"}))


def test_sources() -> None:
    spec = parse_source("postgresql://u:pw@127.0.0.1:5/db?schema=legacy&bad=/b.jsonl&sslmode=disable")
    assert (spec.kind, spec.schema, spec.bad) == ("postgres", "legacy", "/b.jsonl")
    assert spec.target == "postgresql://u:pw@127.0.0.1:5/db?sslmode=disable" and "pw" not in str(spec)
    assert parse_source("duckdb:/w.duckdb?schema=kafka").schema == "kafka"
    assert parse_source("jsonl:/d/events?bad=/d/bad").bad == "/d/bad"
    for bad in ("events.jsonl", "csv:/x", "jsonl:/x?schema=a", "tsv:"):
        with pytest.raises(BadSource):
            parse_source(bad)


def test_a_postgres_source_passes_its_query_through_exactly_without_our_parameters() -> None:
    # libpq decodes %XX but not '+': re-encoding the query turned options' %20 into '+', so PostgreSQL got
    # '-c+search_path=foo' and refused the setting
    query = "options=-c%20search_path%3Dfoo&application_name=a+b%2Fc&sslmode=disable&empty="
    spec = parse_source(f"postgresql://u:pw@h:5/db?schema=legacy&{query}&bad=/x%20y.jsonl")
    assert spec.target == f"postgresql://u:pw@h:5/db?{query}"
    assert (spec.schema, spec.bad) == ("legacy", "/x y.jsonl")
    assert parse_source("postgresql://h/db?schema=kafka").target == "postgresql://h/db"


def test_the_plan_compares_shared_atomic_columns_and_every_entity_column() -> None:
    base = ["event_id", "collector_tstamp", "app_id", "page_title", "load_tstamp", "row_fingerprint"]
    plan = plan_columns(base + ["contexts_a_b_1", "geo_city"], base + ["unstruct_event_c_d_1"], ignore=["page_title"])
    names = [c.name for c in plan.compared]
    assert names == ["app_id", "collector_tstamp", "contexts_a_b_1", "unstruct_event_c_d_1"]
    assert [(c.in_legacy, c.in_new) for c in plan.compared[2:]] == [(True, False), (False, True)]
    assert plan.only_in_legacy == ("geo_city",) and plan.legacy_fingerprint == "row_fingerprint"
    with pytest.raises(MissingColumns, match="no collector_tstamp"):
        plan_columns(["event_id"], base)


def _rec(**buckets: int) -> Reconciliation:
    rec = Reconciliation("l", "n", {})
    rec.legacy = rec.new = SideTotals(10, 10, 0, 0, None)
    rec.buckets = {name: Bucket(n, ("x",)) for name, n in buckets.items()}
    return rec


def test_verdicts() -> None:
    config = ReconcileConfig()
    assert decide(_rec(), config) == ("parity", [])
    assert decide(_rec(pending=2), config)[0] == "warn"
    assert decide(_rec(pending=2), ReconcileConfig(fail_on=frozenset({"pending"})))[0] == "fail"
    assert decide(_rec(rejected=1, null_only=1), ReconcileConfig(fail_on=frozenset({"warn"})))[0] == "fail"
    assert decide(_rec(modified=1, pending=2), config) == ("fail", ["1 event modified",
                                                                    "2 events pending (inside the lookback)"])
    failed = _rec()
    failed.error = "boom"
    assert decide(failed, config) == ("undecided", ["boom"])
    empty = _rec()
    empty.legacy = empty.new = SideTotals(0, 0, 0, 0, None)
    assert decide(empty, config)[0] == "undecided"
    off = _rec()
    off.metrics = [MetricResult("users", 100, 99, 0.01, 0.0)]
    assert decide(off, config)[0] == "fail"
    off.metrics = [MetricResult("users", 100, 99, 0.01, 0.02)]
    assert decide(off, config)[0] == "parity"
    assert type_status(100, {"only_legacy": 5}, 0.1) == "warn" and type_status(100, {"only_legacy": 11}, 0.1) == "fail"
    assert type_status(100, {}, 0.0) == "parity"


def test_the_sql_speaks_each_dialect() -> None:
    plan = plan_columns(["event_id", "collector_tstamp", "contexts_a_b_1"], ["event_id", "collector_tstamp"])
    duck = Sql(Dialect.DUCKDB, Rules(), 3_600_000_000, plan)
    pg = Sql(Dialect.POSTGRES, Rules(), 3_600_000_000, plan)
    assert "hash(" in duck.checksum_pass("t", True) and "hashtextextended" in pg.checksum_pass("t", True)
    assert "date_trunc('milliseconds'" in duck.checksum_pass("t", True)
    assert "json_merge_patch" in duck.projection("t", True, "")
    assert "jsonb_strip_nulls" in pg.projection("t", True, "") and "_schema_version" in pg.projection("t", True, "")
    assert "array_remove(ARRAY[" in pg.diff("a", "b", "") and "list_filter([" in duck.diff("a", "b", "")
    ranges = duck.in_windows([5, 3, 4, 9])
    assert ranges.count(" OR ") == 1 and "TIMESTAMP '1970-01-01 03:00:00'" in ranges
    assert "TIMESTAMP '1970-01-01 06:00:00'" in ranges and "_sptk_windows" in duck.in_windows(None)
    exact = Sql(Dialect.DUCKDB, Rules(timestamp_precision="us"), 60_000_000, plan)
    assert "date_trunc" not in exact.checksum_pass("t", True) and ">= 1" in exact.diff("a", "b", "")


def test_a_side_with_one_row_per_event_id_is_projected_without_a_window_over_its_rows() -> None:
    plan = plan_columns(["event_id", "collector_tstamp", "page_title"], ["event_id", "collector_tstamp", "page_title"])
    for dialect in (Dialect.DUCKDB, Dialect.POSTGRES):
        sql = replace(Sql(dialect, Rules(), 3_600_000_000, plan), unique=(True, False))
        # the representative row is only chosen where a side holds duplicates: the window over every row of the
        # differing windows (materialised, partitioned by id) is what made the key-level diff heavy
        assert "row_number()" not in sql.projection("l", True, "") and "row_number()" in sql.projection("n", False, "")
        assert "row_number()" in sql.diff("a", "b", "") and sql.diff("a", "b", "").count("row_number()") == 1


def test_type_status_at_its_edges() -> None:
    assert type_status(100, {"only_legacy": 10}, 0.1) == "warn"  # at the tolerance: not over it
    assert type_status(0, {"only_new": 1}, 0.5) == "fail"  # a type new on one side: 1 of at least 1
    assert type_status(100, {"null_only": 3}, 0.0) == "warn"


def test_every_reason_says_what_differs_and_by_how_much() -> None:
    rec = _rec(only_legacy=1, only_new=2, modified=3, pending=4, rejected=1, null_only=5)
    rec.legacy, rec.new = SideTotals(10, 10, 1, 0, None), SideTotals(10, 10, 0, 2, None)
    rec.by_event_type = [
        TypeResult("com.acme", "click", "1-0-0", "web-app", "web", 200, 190, {"only_legacy": 10, "modified": 5,
                                                                               "null_only": 3}, "fail"),
        TypeResult(None, None, None, None, "srv", 0, 4, {"only_new": 4}, "fail"),
        TypeResult("com.acme", "view", None, "web-app", "web", 10, 10, {"null_only": 1}, "warn"),
    ]
    rec.metrics = [MetricResult("revenue", 100.0, 90.0, 0.1, 0.05)]
    verdict, reasons = decide(rec, ReconcileConfig())
    assert verdict == "fail"
    assert reasons == [
        "1 event only in legacy", "2 events only in new", "3 events modified",
        "event type com.acme/click/1-0-0 [web-app, web]: 200 legacy vs 190 new, 15 events differ (7.5% of the type)",
        "event type (no type) [None, srv]: 0 legacy vs 4 new, 4 events differ (100.0% of the type)",
        "metric revenue: 100 legacy vs 90 new (10.0000% > fail level 5.0000%)",
        "4 events pending (inside the lookback)", "1 event rejected into bad rows on one side",
        "5 events differ only by NULL vs value",
        "duplicates differ: natural 1 vs 0, synthetic event ids 0 vs 2"]
    dup = _rec()
    dup.legacy, dup.new = SideTotals(10, 10, 1, 0, None), SideTotals(10, 10, 0, 0, None)
    assert decide(dup, ReconcileConfig()) == ("warn", ["duplicates differ: natural 1 vs 0, synthetic event ids 0 vs 0"])
    assert decide(dup, ReconcileConfig(fail_on=frozenset({"duplicates"})))[0] == "fail"
    assert decide(dup, ReconcileConfig(fail_on=frozenset({"warn"})))[0] == "fail"  # every warning fails


def test_one_side_missing_or_empty() -> None:
    half = _rec()
    half.new = None
    assert decide(half, ReconcileConfig()) == ("undecided", ["the comparison did not run to the end"])
    one_sided = _rec(only_new=3)
    one_sided.legacy = SideTotals(0, 0, 0, 0, None)
    assert decide(one_sided, ReconcileConfig()) == ("fail", ["3 events only in new"])
    nothing = _rec()
    nothing.legacy = nothing.new = SideTotals(0, 0, 0, 0, None)
    assert decide(nothing, ReconcileConfig()) == (
        "undecided", ["neither side holds any event: there is nothing to compare (check the sources)"])


#: functions and spellings only one of the two warehouses understands
DUCKDB_ONLY = ("epoch_us(", "len(", "json_merge_patch(", "list_transform(", "hash(t.event_id",
               "VARCHAR", "list_filter(", "CAST([]", "quantile_cont(")
POSTGRES_ONLY = ("jsonb", "::bigint", "cardinality(", "array_remove(", "ARRAY[]::text[]",
                 "hashtextextended(", "extract(epoch FROM", "TEXT", "percentile_cont(")


def every_statement(sql: Sql) -> str:
    json_columns = [c.name for c in sql.compared if c.is_json]
    parts = [sql.checksum_pass("l", True), sql.checksum_pass("n", False), sql.duplicate_rows("l", True),
             sql.duplicate_rows("n", False), sql.projection("l", True, ""), sql.projection("n", False, ""),
             sql.freshness("l"), sql.max_tstamp("l"), sql.in_windows([1, 2]),
             sql.in_windows(None),
             sql.diff("a", "b", ""), sql.findings("bl", "bn", "2024-01-01 00:00:00"), sql.bad_counts("bl")]
    for name in json_columns:
        parts += [sql.json_pairs(name, "a", "b"), *sql.drop_from_changed(name, "ids")]
    parts += [sql.value(c, False, "t", False) for c in sql.plan.compared]
    return "\n".join(parts)


@pytest.mark.parametrize("rules", [Rules(), Rules(schema_version=False, nulls_omitted=False, timestamp_precision="us"),
                                   Rules(timestamp_precision="s"),
                                   Rules(schema_version=True, nulls_omitted=False),
                                   Rules(schema_version=False, nulls_omitted=True)])
def test_each_dialect_speaks_only_its_own_sql(rules: Rules) -> None:
    columns = ["event_id", "collector_tstamp", "app_id", "platform", "event_vendor", "event_name", "event_version",
               "event_format", "tr_total", "dvce_created_tstamp", "contexts_com_acme_a_1",
               "unstruct_event_com_acme_b_1", "derived_tstamp", "event_fingerprint"]
    plan = plan_columns(columns, [c for c in columns if c not in ("event_version", "event_fingerprint")] +
                        ["contexts_com_acme_c_1"])
    duck = every_statement(Sql(Dialect.DUCKDB, rules, 60_000_000, plan))
    pg = every_statement(Sql(Dialect.POSTGRES, rules, 60_000_000, plan))
    assert [w for w in POSTGRES_ONLY if w in duck] == []
    assert [w for w in DUCKDB_ONLY if w in pg] == []
    assert [w for w in ("epoch_us(", "len(", "hash(t.event_id", "VARCHAR", "list_filter(",
                        "quantile_cont(") if w not in duck] == []
    assert [w for w in ("jsonb", "::bigint", "cardinality(", "array_remove(", "hashtextextended(",
                        "extract(epoch FROM", "percentile_cont(") if w not in pg] == []
    assert "list_filter(changed" in duck and "array_remove(changed, 'contexts_com_acme_a_1')" in pg
    assert 'unnest(d."changed") AS u(value)' in duck and 'unnest(d."changed") AS u(value)' in pg  # one form: FROM
    if rules.schema_version or rules.nulls_omitted:
        assert "list_transform(" in duck and "jsonb_array_elements(" in pg
    unit = {"us": None, "ms": "milliseconds", "s": "seconds"}[rules.timestamp_precision]
    assert (f"date_trunc('{unit}', t.\"dvce_created_tstamp\")" in duck) is (unit is not None)
    assert "WHERE CAST(floor(epoch_us(t.collector_tstamp)" in duck


def test_columns_one_side_lacks_are_read_as_nulls_of_that_side_only() -> None:
    columns = ["event_id", "collector_tstamp", "event_version", "event_fingerprint"]
    plan = plan_columns(columns, ["event_id", "collector_tstamp"])
    sql = Sql(Dialect.DUCKDB, Rules(), 60_000_000, plan)
    assert 't."event_version"' in sql.checksum_pass("l", True)
    assert 't."event_version"' not in sql.checksum_pass("n", False)
    assert 't."event_version"' in sql.projection("l", True, "") and 't."event_version"' not in sql.projection(
        "n", False, "")
    assert 't."event_version"' in sql.duplicate_rows("l", True)
    assert 't."event_version"' not in sql.duplicate_rows("n", False)
    assert 't."event_fingerprint"' in sql.projection("l", True, "")
    assert 't."event_fingerprint"' not in sql.projection("n", False, "")
    assert 't."event_fingerprint"' in sql.duplicate_rows("l", True)
    assert 't."event_fingerprint"' not in sql.duplicate_rows("n", False)
    assert sql.fingerprint("t", True) == 't."event_fingerprint"'
    assert sql.fingerprint("t", False) == "CAST(NULL AS VARCHAR)"
