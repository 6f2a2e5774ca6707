"""Scoped runs, user-defined parity metrics and freshness (issue 12 items 4-6), on real DuckDB data."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from migration.reconcile.config import ReconcileConfig
from migration.reconcile.engine import reconcile, scope_workspace
from migration.reconcile.metrics import DEFAULT_METRICS, MetricSql, load_metrics_file
from migration.reconcile.scope import scope_from_options
from migration.sources import open_workspace, parse_source
from tests.unit.migration.scenario import run

DOCS = Path(__file__).resolve().parents[3] / "docs"
START = datetime(2024, 5, 1)
COLUMNS = ("event_id VARCHAR, collector_tstamp TIMESTAMP, load_tstamp TIMESTAMP, app_id VARCHAR, platform VARCHAR, "
           "event_vendor VARCHAR, event_name VARCHAR, event_format VARCHAR, event_version VARCHAR, "
           "domain_userid VARCHAR, domain_sessionid VARCHAR, tr_total DOUBLE, event_fingerprint VARCHAR, "
           "contexts_com_acme_product_1 JSON, unstruct_event_com_acme_checkout_step_1 JSON")


def row(i: int, delay_s: float = 5.0, **extra: Any) -> dict[str, Any]:
    """Event ``i``: one every 20 minutes over three days, two apps, checkout steps with two products."""
    at = START + timedelta(minutes=20 * i)
    checkout = i % 3 == 0
    values: dict[str, Any] = {
        "event_id": f"00000000-0000-4000-8000-{i:012d}", "collector_tstamp": at,
        "load_tstamp": at + timedelta(seconds=delay_s), "app_id": "shop" if i % 2 else "blog",
        "platform": "web" if i % 5 else "mob",
        "event_vendor": "com.acme" if checkout else "com.snowplowanalytics.snowplow",
        "event_name": "checkout_step" if checkout else "page_view", "event_format": "jsonschema",
        "event_version": "1-0-0", "domain_userid": f"u{i % 9}", "domain_sessionid": f"s{i % 13}", "tr_total": None,
        "event_fingerprint": f"fp{i}",
        "contexts_com_acme_product_1": orjson.dumps([{"sku": f"a{i}", "price": 10.0}, {"sku": f"b{i}", "price": 2.5}])
        .decode() if checkout else None,
        "unstruct_event_com_acme_checkout_step_1": orjson.dumps({"step": i % 4}).decode() if checkout else None,
    }
    values.update(extra)
    return values


def table(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]]) -> None:
    con.execute(f"CREATE TABLE {name} ({COLUMNS})")
    names = [c.split()[0] for c in COLUMNS.split(", ")]
    con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in names)})",
                    [[r[n] for n in names] for r in rows])


def warehouse(tmp: Path, legacy: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[str, str]:
    path = tmp / "wh.duckdb"
    con = duckdb.connect(str(path))
    for schema, rows in (("legacy", legacy), ("kafka", new)):
        con.execute(f"CREATE SCHEMA {schema}")
        table(con, f"{schema}.events", rows)
    con.close()
    return f"duckdb:{path}?schema=legacy", f"duckdb:{path}?schema=kafka"


def report_of(tmp: Path, legacy: str, new: str, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp / "report.json"
    result = run("--legacy", legacy, "--new", new, "--lookback", "0s", "--json", str(out), *args)
    assert out.exists(), result.output
    return result.exit_code, orjson.loads(out.read_bytes())


# -- item 4: scoped runs ---------------------------------------------------------------------------------------------

def test_a_scoped_run_sees_only_its_scope_and_its_counts_equal_the_data_filtered_by_hand(tmp_path: Path) -> None:
    legacy = [row(i) for i in range(216)]
    new = [r for r in (row(i) for i in range(216)) if r["event_id"] not in (legacy[3]["event_id"],
                                                                         legacy[151]["event_id"])]
    new[10]["domain_userid"] = "changed"  # event 10: blog, page_view, day 1
    sources = warehouse(tmp_path, legacy, new)
    since, until = "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"
    code, report = report_of(tmp_path, *sources, "--since", since, "--until", until, "--app-id", "shop",
                             "--event", "com.acme/checkout_step/jsonschema/1-*-*")
    in_scope = [r for r in legacy if START <= r["collector_tstamp"] < START + timedelta(days=1)
                and r["app_id"] == "shop" and r["event_name"] == "checkout_step"]
    assert report["totals"]["legacy"]["event_ids"] == len(in_scope)
    assert report["totals"]["new"]["event_ids"] == len(in_scope) - 1  # event 3 is in scope, 151 and 10 are not
    assert report["only_legacy"] == {"count": 1, "sample": [legacy[3]["event_id"]]}
    assert report["modified"]["count"] == 0
    assert report["settings"]["scope"] == {"since": "2024-05-01T00:00:00Z", "until": "2024-05-02T00:00:00Z",
                                           "app_ids": ["shop"], "platforms": [],
                                           "events": ["com.acme/checkout_step/jsonschema/1-*-*"]}
    assert report["format"] == "sptk-reconcile/2"
    assert code == 2
    _, unscoped = report_of(tmp_path, *sources)
    assert unscoped["only_legacy"]["count"] == 2 and unscoped["modified"]["count"] == 1
    assert unscoped["settings"]["scope"] is None


def test_the_scope_is_pushed_into_the_parquet_scan_and_prunes_partitions(tmp_path: Path) -> None:
    con = duckdb.connect()
    table(con, "e", [row(i) for i in range(216)])
    for side in ("legacy", "new"):
        con.execute(f"COPY (SELECT *, CAST(collector_tstamp AS DATE) AS collector_date FROM e) TO "
                    f"'{tmp_path / side}' (FORMAT parquet, PARTITION_BY (collector_date))")
    scope = scope_from_options("2024-05-02T06:00:00", "2024-05-02T12:00:00", (), ("web",), ())
    legacy, new = parse_source(f"parquet:{tmp_path / 'legacy'}"), parse_source(f"parquet:{tmp_path / 'new'}")
    with open_workspace(legacy, new, scope=scope) as workspace:
        scoped = scope_workspace(workspace, scope)
        plan = "\n".join(r[1] for r in workspace.backend.query(f"EXPLAIN ANALYZE SELECT count(*) FROM "
                                                                f"{scoped.legacy.relation}"))
        assert "READ_PARQUET" in plan and "Scanning Files: 1/3" in plan, plan
        assert "collector_tstamp" in plan.split("Filters:", 1)[1], plan
        result = reconcile(workspace, ReconcileConfig(lookback_us=0, scope=scope))
    expected = [r for r in (row(i) for i in range(216)) if r["platform"] == "web"
                and datetime(2024, 5, 2, 6) <= r["collector_tstamp"] < datetime(2024, 5, 2, 12)]
    assert result.legacy is not None and result.legacy.event_ids == len(expected) > 10
    assert result.verdict == "parity"


def test_a_scope_naming_a_column_a_side_lacks_is_a_clear_error(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("legacy", "kafka"):
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.events (event_id VARCHAR, collector_tstamp TIMESTAMP)")
        con.execute(f"INSERT INTO {schema}.events VALUES ('a', TIMESTAMP '2024-05-01 10:00:00')")
    con.close()
    result = run("--legacy", f"duckdb:{tmp_path / 'w.duckdb'}?schema=legacy",
                 "--new", f"duckdb:{tmp_path / 'w.duckdb'}?schema=kafka", "--app-id", "shop")
    assert result.exit_code == 3
    assert "app_id" in result.output and "Traceback" not in result.output


def test_bad_scope_options_are_usage_errors(tmp_path: Path) -> None:
    for args, words in ((("--since", "yesterday"), "--since"), (("--event", "com.acme/x/jsonschema/a-b-c"), "--event"),
                        (("--since", "2024-05-02", "--until", "2024-05-01"), "not before")):
        result = run("--legacy", "jsonl:a", "--new", "jsonl:b", *args)
        assert result.exit_code == 3 and words in result.output, result.output


# -- item 5: user-defined parity metrics -----------------------------------------------------------------------------

def metrics_file(tmp: Path, text: str) -> str:
    path = tmp / "metrics.yaml"
    path.write_text(text)
    return str(path)


PRICE_METRIC = """
- name: product_revenue
  aggregation: sum
  field: contexts_com_acme_product_1[].price
  filter: {event_name: checkout_step}
  tolerance: {kind: relative, warn: 0.001, fail: 0.01}
"""


def priced(delta: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Legacy and new with equal events; in new, event 9's first product costs ``10 + delta``."""
    legacy = [row(i) for i in range(60)]
    new = [row(i) for i in range(60)]
    new[9]["contexts_com_acme_product_1"] = orjson.dumps([{"sku": "a9", "price": 10.0 + delta},
                                                          {"sku": "b9", "price": 2.5}]).decode()
    return legacy, new


def test_a_sum_over_an_entity_field_beyond_its_tolerance_fails(tmp_path: Path) -> None:
    legacy, new = priced(5.0)  # 250 vs 255: 1.96 % apart
    code, report = report_of(tmp_path, *warehouse(tmp_path, legacy, new), "--metrics",
                             metrics_file(tmp_path, PRICE_METRIC), "--ignore-column", "contexts_com_acme_product_1")
    metric = report["metrics"]["product_revenue"]
    assert (metric["legacy"], metric["new"], metric["status"]) == (250.0, 255.0, "fail")
    assert code == 2 and any("product_revenue" in r for r in report["reasons"])
    assert report["metrics"]["page_views"]["status"] == "parity"  # the built-ins are still there


def test_a_sum_within_its_tolerance_is_parity_and_between_the_levels_warns(tmp_path: Path) -> None:
    legacy, new = priced(0.1)  # 250 vs 250.1: 0.04 %
    code, report = report_of(tmp_path, *warehouse(tmp_path, legacy, new), "--metrics",
                             metrics_file(tmp_path, PRICE_METRIC), "--ignore-column", "contexts_com_acme_product_1")
    assert report["metrics"]["product_revenue"]["status"] == "parity" and code == 0
    legacy, new = priced(1.0)  # 250 vs 251: 0.4 %
    (tmp_path / "wh.duckdb").unlink()
    code, report = report_of(tmp_path, *warehouse(tmp_path, legacy, new), "--metrics",
                             metrics_file(tmp_path, PRICE_METRIC), "--ignore-column", "contexts_com_acme_product_1")
    assert report["metrics"]["product_revenue"]["status"] == "warn" and code == 1


def test_group_by_isolates_the_group_that_differs(tmp_path: Path) -> None:
    legacy, new = priced(5.0)  # event 9: app shop, step 1
    text = """
metrics:
  - name: revenue_by_app_and_step
    aggregation: sum
    field: contexts_com_acme_product_1[].price
    group_by: [app_id, unstruct_event_com_acme_checkout_step_1.step]
    tolerance: {kind: absolute, fail: 0}
"""
    code, report = report_of(tmp_path, *warehouse(tmp_path, legacy, new), "--metrics", metrics_file(tmp_path, text),
                             "--ignore-column", "contexts_com_acme_product_1")
    metric = report["metrics"]["revenue_by_app_and_step"]
    failing = [g["group"] for g in metric["groups"] if g["status"] == "fail"]
    assert failing == [{"app_id": "shop", "unstruct_event_com_acme_checkout_step_1.step": "1"}]
    assert len(metric["groups"]) > 2 and metric["group"] == failing[0]
    assert code == 2


def test_the_documented_metrics_file_loads(tmp_path: Path) -> None:
    text = (DOCS / "reconciliation.md").read_text()
    block = text.split("```yaml metrics", 1)[1].split("```", 1)[0]
    specs = {m.name: m for m in load_metrics_file(metrics_file(tmp_path, block))}
    assert {"page_views", "sessions", "users", "tr_total", "product_revenue", "checkout_steps"} <= set(specs)


@pytest.mark.parametrize("text, words", [
    ("- {name: x, aggregation: median, field: tr_total}", "aggregation must be one of"),
    ("- {name: x, aggregation: sum, field: page_title}", "needs a numeric field"),
    ("- {name: x, aggregation: sum, field: contexts_com_acme_product_1}", "name a field inside"),
    ("- {name: x, aggregation: count, colour: red}", "unknown key"),
    ("- {name: x, aggregation: sum, field: tr_totl}", "did you mean"),
])
def test_a_bad_metrics_file_is_a_usage_error_that_says_where(tmp_path: Path, text: str, words: str) -> None:
    result = run("--legacy", "jsonl:a", "--new", "jsonl:b", "--metrics", metrics_file(tmp_path, text))
    assert result.exit_code == 3 and "metrics[0]" in result.output and words in result.output, result.output


# -- item 6: freshness -----------------------------------------------------------------------------------------------

def test_freshness_quantiles_per_side_and_window_and_a_slow_new_path_warns_or_fails(tmp_path: Path) -> None:
    legacy = [row(i, delay_s=5) for i in range(30)]
    new = [row(i, delay_s=5 + 60 * (i % 10)) for i in range(30)]  # 5 s .. 545 s late
    sources = warehouse(tmp_path, legacy, new)
    code, report = report_of(tmp_path, *sources)
    assert code == 0  # no limits: reported, not judged
    assert report["freshness"]["legacy"] == {"p50_s": 5.0, "p95_s": 5.0, "p99_s": 5.0}
    new_p = report["freshness"]["new"]
    delays = sorted(5 + 60 * (i % 10) for i in range(30))
    assert new_p["p50_s"] == float(delays[14] + delays[15]) / 2 and new_p["p95_s"] == new_p["p99_s"] == 545.0
    assert all(w["freshness"]["legacy"]["p95_s"] == 5.0 for w in report["windows"])
    assert report["windows"][0]["freshness"]["new"]["p50_s"] == 65.0  # events 0-2: 5, 65, 125 s
    code, report = report_of(tmp_path, *sources, "--freshness-p95-max", "warn=5m,fail=15m")
    assert code == 1 and any("freshness" in r and "p95" in r for r in report["reasons"])
    code, report = report_of(tmp_path, *sources, "--freshness-p95-max", "20m", "--freshness-gap-max", "8m")
    assert code == 2 and any("gap" in r for r in report["reasons"])
    assert report["settings"]["freshness"]["gap_fail"] == "8m"


def test_the_terminal_and_html_reports_show_metrics_and_freshness(tmp_path: Path) -> None:
    legacy, new = priced(5.0)
    sources = warehouse(tmp_path, legacy, new)
    result = run("--legacy", sources[0], "--new", sources[1], "--lookback", "0s", "--metrics",
                 metrics_file(tmp_path, PRICE_METRIC), "--html", str(tmp_path / "r.html"))
    assert "metric fail   product_revenue: 250 -> 255" in result.output
    assert "freshness new    p50 5s" in result.output
    html = (tmp_path / "r.html").read_text()
    assert "product_revenue" in html and "Freshness" in html


def test_a_side_with_one_row_per_event_id_counts_and_sums_without_deduplicating_first() -> None:
    columns = frozenset({"event_id", "collector_tstamp", "event_name", "tr_total", "domain_userid"})
    by_name = {m.name: m for m in DEFAULT_METRICS}
    for duck in (True, False):
        plain, unique = MetricSql(duck, columns), MetricSql(duck, columns, unique=True)
        # the side pass has counted rows and ids: with no duplicated id, a DISTINCT over millions of ids (and a
        # GROUP BY id before a sum) is work that cannot change the figure
        assert "count(DISTINCT s.id)" in plain.query(by_name["page_views"], "e", "TRUE", None)
        assert "DISTINCT" not in unique.query(by_name["page_views"], "e", "TRUE", None)
        assert "GROUP BY" in plain.query(by_name["tr_total"], "e", "TRUE", None)
        assert "GROUP BY" not in unique.query(by_name["tr_total"], "e", "TRUE", None)
        assert "count(DISTINCT s.v)" in unique.query(by_name["users"], "e", "TRUE", None)  # still distinct users


def test_freshness_from_a_sort_equals_the_in_memory_quantiles_and_is_chosen_when_they_would_not_fit() -> None:
    from connectors.warehouse.columns import Dialect
    from migration.reconcile.engine import quantiles_fit
    from migration.reconcile.plan import plan_columns
    from migration.reconcile.sql import Sql

    con = duckdb.connect()
    # uneven delays in uneven windows (one window of a single event), so the interpolation is exercised
    con.execute("CREATE TABLE e AS SELECT TIMESTAMP '2024-05-01 10:00:00' + to_seconds(i * 37 % 7200) AS "
                "collector_tstamp, TIMESTAMP '2024-05-01 10:00:00' + to_seconds(i * 37 % 7200) + "
                "to_microseconds((hash(i) % 9000000)::BIGINT) AS load_tstamp FROM range(1001) t(i) "
                "UNION ALL SELECT TIMESTAMP '2024-05-01 15:30:00', TIMESTAMP '2024-05-01 15:30:02.5'")
    columns = ["event_id", "collector_tstamp"]
    sql = Sql(Dialect.DUCKDB, ReconcileConfig().rules, 3_600_000_000, plan_columns(columns, columns))
    in_memory = sorted(con.execute(sql.freshness("e")).fetchall(), key=str)
    sorted_ = sorted(con.execute(sql.freshness("e", in_memory=False)).fetchall(), key=str)
    assert len(in_memory) == 4  # three windows and the whole
    assert [(w, *(round(float(v), 3) for v in vs)) for w, *vs in sorted_] == \
        [(w, *(round(float(v), 3) for v in vs)) for w, *vs in in_memory]
    # quantile_cont keeps every delay of a group in memory (three times, and again for the whole), unspillable
    assert quantiles_fit(10_000_000, 10**9) and not quantiles_fit(50_000_000, 10**9)
    assert not quantiles_fit(10_000_000, 256 * 2**20)
