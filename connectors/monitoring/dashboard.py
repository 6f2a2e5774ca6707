"""A Grafana dashboard from the ``[slo]`` section: ``sptk monitor dashboard``.

Generated, like the rules, so the burn rates it draws are the ratios the alerts compare
(the recording rules of :mod:`connectors.monitoring.rules`, divided by the same budgets) and a
panel cannot drift from the metrics the sidecar exports (a test reads every query back against
the metrics module). One row per SLO, then one per stage of the flow, source to warehouse.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from connectors.monitoring.rules import BURN_WINDOWS, Objective, objectives, sel, union
from connectors.sidecar.volume import DEFAULT_THRESHOLD as VOLUME_SCORE
from toolkit.config.models import SloConfig

DASHBOARD_FILE = "sptk.dashboard.json"
#: the classic JSON model of Grafana 12; a later Grafana migrates it when it loads the file
SCHEMA_VERSION = 41
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
JOB = 'job=~"$job"'
STREAM = 'stream=~"$stream"'
#: panels per row, each a third of Grafana's 24 columns
PER_ROW, WIDTH, HEIGHT = 3, 8, 8


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    #: (PromQL, legend) per series
    targets: tuple[tuple[str, str], ...]
    description: str = ""


def _quantiles(metric: str, matchers: str, by: str, quantiles: tuple[float, ...]) -> tuple[tuple[str, str], ...]:
    group = f"{by}, le" if by else "le"
    legend = f"{{{{{by}}}}} " if by else ""
    return tuple((f"histogram_quantile({q:g}, sum by ({group}) (rate({metric}_bucket{matchers}[{RATE}])))",
                  f"{legend}p{q * 100:g}") for q in quantiles)


def _burn_panel(objective: Objective) -> Panel:
    """The burn rate over each alert's long window: 1 spends the budget in exactly the SLO window."""
    stream = STREAM if objective.per_stream else ""
    targets = []
    for _, long_w, _, factor in BURN_WINDOWS:
        expr = union([f"{objective.ratio}{long_w}{sel(matcher, stream)} / {budget:.6g}"
                      for matcher, budget in objective.budgets])
        targets.append((expr, f"{'{{stream}} ' if stream else ''}{long_w} (alert at {factor:g})"))
    return Panel(f"{objective.name.capitalize()}: burn rate", "none", tuple(targets),
                 f"Error ratio over each alert's long window divided by the error budget; {objective.alert} fires "
                 "when a long and its short window both exceed the factor in the legend.")


def _slo_rows(slo: SloConfig) -> list[tuple[str, list[Panel]]]:
    s = sel(slo.selector, JOB)
    ss = sel(slo.selector, JOB, STREAM)
    fast = sel(slo.selector, JOB, STREAM, f'le="{float(slo.freshness_threshold_s)!r}"')
    burns = {o.name: _burn_panel(o) for o in objectives(slo)}
    return [
        ("SLO: freshness", [
            Panel("Freshness per stream", "s", _quantiles("sptk_freshness_seconds", ss, "stream",
                                                          (0.5, slo.freshness_target, 0.99)),
                  "now - collector_tstamp of every record when it reaches its stream (enriched, warehouse)."),
            Panel("Records older than the threshold", "percentunit", ((
                f"1 - sum by (stream) (rate(sptk_freshness_seconds_bucket{fast}[{RATE}])) / "
                f"sum by (stream) (rate(sptk_freshness_seconds_count{ss}[{RATE}]))", "{{stream}}"),),
                  f"Share of records written later than {slo.freshness_threshold_s:g} s (the default threshold)."),
            burns["freshness"],
        ]),
        ("SLO: delivery", [
            Panel("Failed delivery reports per stream", "ops", ((
                f"sum by (stream) (rate(sptk_delivery_errors_total{ss}[{RATE}]))", "{{stream}}"),),
                  "Each failed report is retried; the delivery SLO counts them against the confirmed."),
            Panel("Retries", "ops", ((f"sum by (what) (rate(sptk_retries_total{s}[{RATE}]))", "{{what}}"),)),
            burns["delivery"],
        ]),
        ("SLO: invalid rate", [
            Panel("Bad rows by type", "ops", ((f"sum by (type) (rate(sptk_bad_records_total{s}[{RATE}]))",
                                               "{{type}}"),)),
            Panel("Invalid records by app and schema (top 10)", "ops", ((
                f"topk(10, sum by (app_id, schema) (rate(sptk_invalid_records_total{s}[{RATE}])))",
                "{{app_id}} {{schema}}"),)),
            burns["invalid rate"],
        ]),
        ("SLO: availability", [
            Panel("Scraped (up) and ready", "none", (
                (f"up{s}", "up {{instance}}"), (f"sptk_ready{s}", "ready {{instance}}"),
                (f"sptk_draining{s}", "draining {{instance}}"))),
            burns["availability"],
        ]),
    ]


def _stage_rows(slo: SloConfig) -> list[tuple[str, list[Panel]]]:
    s = sel(slo.selector, JOB)
    ss = sel(slo.selector, JOB, STREAM)
    hit = sel(slo.selector, JOB, 'result="hit"')
    return [
        ("Stage: source", [
            Panel("Records in per source", "ops", ((f"sum by (source) (rate(sptk_records_in_total{s}[{RATE}]))",
                                                    "{{source}}"),)),
            Panel("Consumer lag per topic", "short", ((f"sum by (topic) (sptk_consumer_lag{s})", "{{topic}}"),)),
            Panel("Volume anomaly score", "none", ((f"sptk_volume_anomaly_score{s}", "{{stream}}"),),
                  f"Robust z-score against the same hour of the week; SptkVolumeDrop/Spike at ±{VOLUME_SCORE:g}."),
        ]),
        ("Stage: validate", [
            Panel("Stage latency p95", "s", _quantiles("sptk_stage_latency_seconds", s, "stage", (0.95,))),
            Panel("Registry cache hit rate", "percentunit", ((
                f"sum(rate(sptk_registry_cache_lookups_total{hit}[{RATE}])) / "
                f"sum(rate(sptk_registry_cache_lookups_total{s}[{RATE}]))", "hit rate"),)),
            Panel("Registry available and quarantined", "none", (
                (f"sptk_registry_available{s}", "available {{instance}}"),
                (f"sum(increase(sptk_quarantined_records_total{s}[{RATE}]))", "quarantined"))),
        ]),
        ("Stage: produce", [
            Panel("Records out per stream", "ops", ((f"sum by (stream) (rate(sptk_records_out_total{ss}[{RATE}]))",
                                                     "{{stream}}"),)),
            Panel("Filtered per stream and rule", "ops", ((
                f"sum by (stream, rule) (rate(sptk_filtered_records_total{ss}[{RATE}]))", "{{stream}} {{rule}}"),)),
            Panel("Produce latency p95", "s", _quantiles("sptk_produce_latency_seconds", ss, "stream", (0.95,))),
            Panel("Queue depth", "short", (
                (f"sum(sptk_producer_queue_messages{s})", "awaiting delivery"),
                (f"sum(sptk_in_flight_records{s})", "in flight"),
                (f"sum by (client) (sptk_kafka_queue_messages{s})", "librdkafka {{client}}"))),
            Panel("Broker round trip", "s", ((f"max by (broker) (sptk_kafka_broker_rtt_seconds{s})",
                                              "{{broker}}"),)),
            Panel("librdkafka retries and errors", "short", (
                (f"sum by (client) (sptk_kafka_request_retries{s})", "retries {{client}}"),
                (f"sum by (client) (sptk_kafka_request_errors{s})", "errors {{client}}"))),
        ]),
        ("Stage: warehouse load", [
            Panel("Load latency", "s", _quantiles("sptk_warehouse_load_latency_seconds", s, "", (0.5, 0.95))),
            Panel("Process CPU and memory", "short", (
                (f"rate(process_cpu_seconds_total{s}[{RATE}])", "cpu s/s {{instance}}"),
                (f"process_resident_memory_bytes{s} / 2^20", "MiB {{instance}}"))),
        ]),
    ]


def _variables(slo: SloConfig) -> list[dict[str, Any]]:
    def query(name: str, label: str, expr: str) -> dict[str, Any]:
        q = f"label_values({expr}, {name})"
        return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
                "query": {"query": q, "refId": f"{name}-variable"}, "definition": q, "refresh": 2,
                "includeAll": True, "multi": True, "allValue": ".*", "sort": 1,
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]}}

    return [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "refresh": 1,
         "current": {}},
        query("job", "job", f"sptk_ready{sel(slo.selector)}"),
        query("stream", "stream", f"sptk_records_out_total{sel(slo.selector, JOB)}"),
    ]


def _panels(rows: list[tuple[str, list[Panel]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    y = 0
    for title, panels in rows:
        out.append({"type": "row", "title": title, "id": len(out) + 1, "collapsed": False, "panels": [],
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        y += 1
        for i, p in enumerate(panels):
            out.append({
                "type": "timeseries", "title": p.title, "description": p.description, "id": len(out) + 1,
                "datasource": DATASOURCE,
                "gridPos": {"h": HEIGHT, "w": WIDTH, "x": (i % PER_ROW) * WIDTH, "y": y + (i // PER_ROW) * HEIGHT},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                            "tooltip": {"mode": "multi", "sort": "desc"}},
                "targets": [{"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": expr,
                             "legendFormat": legend} for n, (expr, legend) in enumerate(p.targets)],
            })
        y += HEIGHT * -(-len(panels) // PER_ROW)
    return out


def dashboard(slo: SloConfig) -> dict[str, Any]:
    """The dashboard's JSON model (Grafana's classic model: import it, or provision it from a folder)."""
    uid = "sptk-" + hashlib.sha256(slo.selector.encode()).hexdigest()[:12]
    return {
        "uid": uid,
        "title": f"sptk pipeline ({slo.selector})",
        "description": "Generated by `sptk monitor dashboard` from the [slo] section; edit the config, not this.",
        "tags": ["sptk", "snowplow", "kafka"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": {"list": _variables(slo)},
        "annotations": {"list": []},
        "panels": _panels(_slo_rows(slo) + _stage_rows(slo)),
    }


def render(slo: SloConfig) -> str:
    """The dashboard as JSON: deterministic, so a diff in review shows what changed."""
    return json.dumps(dashboard(slo), indent=2, ensure_ascii=False) + "\n"
