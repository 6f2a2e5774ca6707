"""`sptk monitor dashboard`: a Grafana dashboard whose every query names a metric the toolkit exports.

The names a query uses are read back from its PromQL text (not from the generator), and compared
with the families the metrics module registers, the recording rules `sptk monitor rules` writes,
and Prometheus' own `up`; promtool checks that each query parses (tests/integration/monitoring).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connectors.monitoring.dashboard import DASHBOARD_FILE, dashboard
from connectors.monitoring.rules import rules_document
from connectors.sidecar.metrics import PipelineMetrics
from toolkit.cli.root import main
from toolkit.config.models import SloConfig

#: series Prometheus writes itself for every target
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
                "bool", "inf", "nan"}
CONFIG = ('[source]\nkind = "stdin"\n[iglu]\nresolver_config = "r.json"\n[output]\ntarget = "files:out"\n'
          '[slo]\nselector = \'job="sptk",env="prod"\'\n[slo.streams."derived.clicks.v1"]\nfreshness_target = 0.99\n')


def exported_series() -> set[str]:
    """Every series name a sidecar's /metrics can hold: each registered family with its type's suffixes."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "info": ("_info",),
                "gauge": ("",), "summary": ("_count", "_sum", "")}
    return {f.name + s for f in PipelineMetrics().registry.collect() for s in suffixes[f.type]}


def recorded_series(slo: SloConfig) -> set[str]:
    return {r["record"] for g in rules_document(slo)["groups"] for r in g["rules"] if "record" in r}


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (strings, matchers, ranges and groupings removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or m.group().lower() in PROMQL_WORDS:
            continue  # a function or an aggregation, not a series
        if m.start() and (text[m.start() - 1].isdigit() or text[m.start() - 1] == "."):
            continue  # the exponent or unit of a number (1e3)
        names.add(m.group())
    return names


def queries(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable."""
    found = [(p["title"], t["expr"]) for p in model["panels"] for t in p.get("targets", [])]
    found += [(f"variable {v['name']}", v["query"]["query"]) for v in model["templating"]["list"]
              if v["type"] == "query"]
    return found


def unknown_metrics(model: dict[str, Any], slo: SloConfig) -> list[str]:
    known = exported_series() | recorded_series(slo) | PROMETHEUS_SERIES
    out = []
    for where, expr in queries(model):
        inner = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", expr)
        out += [f"{where}: {name}" for name in sorted(metric_names(inner) - known)]
    return out


def test_every_query_names_a_metric_the_toolkit_exports_or_a_rule_records() -> None:
    slo = SloConfig(streams={"derived.clicks.v1": {"freshness_target": 0.99}})
    model = dashboard(slo)
    assert len(queries(model)) > 20
    assert unknown_metrics(model, slo) == []


def test_a_panel_that_names_a_metric_nobody_exports_is_caught() -> None:
    slo = SloConfig()
    model = dashboard(slo)
    model["panels"][1]["targets"][0]["expr"] = "sum(rate(sptk_records_consumed_total[$__rate_interval]))"
    assert unknown_metrics(model, slo) == [f"{model['panels'][1]['title']}: sptk_records_consumed_total"]
    assert metric_names('histogram_quantile(0.95, sum by (le, stream) (rate(x_bucket{a="b{c}"}[5m]))) > 1e3') == {
        "x_bucket"}


def test_the_dashboard_reads_what_the_issue_asks_for_from_the_exported_families() -> None:
    text = json.dumps(dashboard(SloConfig()))
    for family in ("sptk_records_out_total", "sptk_bad_records_total", "sptk_freshness_seconds_bucket",
                   "sptk_consumer_lag", "sptk_producer_queue_messages", "sptk_registry_cache_lookups_total",
                   "sptk_registry_available", "sptk_volume_anomaly_score", "sptk:freshness_slow:ratio_rate1h",
                   "sptk:delivery_failed:ratio_rate1h", "sptk:invalid:ratio_rate1h", "sptk:unavailable:ratio_rate1h"):
        assert family in text, family


def test_a_row_per_slo_and_per_stage_and_every_panel_reads_the_datasource_variable() -> None:
    model = dashboard(SloConfig())
    rows = [p["title"] for p in model["panels"] if p["type"] == "row"]
    assert [r for r in rows if r.startswith("SLO: ")] == [
        "SLO: freshness", "SLO: delivery", "SLO: invalid rate", "SLO: availability"]
    assert [r for r in rows if r.startswith("Stage: ")] == [
        "Stage: source", "Stage: validate", "Stage: produce", "Stage: warehouse load"]
    assert isinstance(model["schemaVersion"], int) and model["schemaVersion"] >= 39
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"job", "stream"} <= set(variables)
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
            assert all('job=~"$job"' in t["expr"] or t["expr"].startswith("sptk:") or ":ratio_rate" in t["expr"]
                       for t in panel["targets"]), panel["title"]


def test_burn_rates_divide_each_ratio_by_its_own_stream_s_budget() -> None:
    model = dashboard(SloConfig(streams={"derived.clicks.v1": {"freshness_target": 0.99}}))
    [burn] = [p for p in model["panels"] if p["title"] == "Freshness: burn rate"]
    first = burn["targets"][0]["expr"]
    assert 'sptk:freshness_slow:ratio_rate1h{stream="derived.clicks.v1",stream=~"$stream"} / 0.01' in first
    assert 'sptk:freshness_slow:ratio_rate1h{stream!~"derived\\\\.clicks\\\\.v1",stream=~"$stream"} / 0.05' in first


def test_the_command_writes_the_dashboard_from_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(CONFIG)
    result = CliRunner().invoke(main, ["monitor", "dashboard", "--config", str(cfg), "--out",
                                       str(tmp_path / "grafana" / DASHBOARD_FILE)])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "grafana" / DASHBOARD_FILE).read_text())
    assert written == dashboard(SloConfig(selector='job="sptk",env="prod"',
                                          streams={"derived.clicks.v1": {"freshness_target": 0.99}}))
    exprs = [t["expr"] for p in written["panels"] for t in p.get("targets", [])]
    assert any('sptk_records_in_total{job="sptk",env="prod",job=~"$job"}' in e for e in exprs)


def test_a_config_with_a_problem_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(CONFIG.replace("freshness_target = 0.99", "freshness_target = 2.0"))
    result = CliRunner().invoke(main, ["monitor", "dashboard", "--config", str(cfg), "--out",
                                       str(tmp_path / DASHBOARD_FILE)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("sptk monitor dashboard: ") and "freshness_target" in result.output
    assert not (tmp_path / DASHBOARD_FILE).exists()
