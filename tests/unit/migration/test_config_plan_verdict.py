"""Pure pieces of the reconciliation: durations, rules, column planning, verdicts, SQL per dialect."""

from __future__ import annotations

import pytest

from connectors.warehouse.columns import Dialect
from migration.reconcile.config import ReconcileConfig, Rules, parse_duration, parse_tolerances
from migration.reconcile.errors import ConfigError
from migration.reconcile.plan import MissingColumns, plan_columns
from migration.reconcile.result import Bucket, MetricResult, Reconciliation, SideTotals
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
    assert "json_merge_patch" in duck.projection("t", True)
    assert "jsonb_strip_nulls" in pg.projection("t", True) and "_schema_version" in pg.projection("t", True)
    assert "array_remove(ARRAY[" in pg.diff("a", "b", "") and "list_filter([" in duck.diff("a", "b", "")
    ranges = duck.in_windows([5, 3, 4, 9])
    assert ranges.count(" OR ") == 1 and "TIMESTAMP '1970-01-01 03:00:00'" in ranges
    assert "TIMESTAMP '1970-01-01 06:00:00'" in ranges and "_sptk_windows" in duck.in_windows(None)
    exact = Sql(Dialect.DUCKDB, Rules(timestamp_precision="us"), 60_000_000, plan)
    assert "date_trunc" not in exact.checksum_pass("t", True) and ">= 1" in exact.diff("a", "b", "")
