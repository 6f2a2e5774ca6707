"""The generated rules under Prometheus' own tools: `promtool check rules`, then one `promtool test rules`
case per alert that fires on the series that should fire it and stays silent on the ones that should not.

promtool is built from Prometheus' Go module by scripts/prometheus_tools.py on first use and cached.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.monitoring.rules import RULES_FILE, render, rules_document
from tests.integration.prometheus import prometheus_tool
from toolkit.config.models import SloConfig

J = 'job="sptk",instance="a:8080"'


@pytest.fixture(scope="session")
def promtool() -> Path:
    return prometheus_tool("promtool")


def _fired(slo: SloConfig, name: str, labels: dict[str, str]) -> dict[str, Any]:
    """What promtool should see: the series' labels, the rule's labels, the rule's annotations."""
    rules = [r for r in rules_document(slo)["groups"][1]["rules"] if r["alert"] == name]
    rule = next(r for r in rules if r["labels"].get("window") == labels.get("window", r["labels"].get("window")))
    return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": rule["annotations"]}


def _burns(slo: SloConfig, name: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    return [_fired(slo, name, {**labels, "window": w}) for w in ("1h", "6h", "1d", "3d")]


def _cases(slo: SloConfig) -> list[dict[str, Any]]:
    up = {"job": "sptk", "instance": "a:8080"}
    symptoms = {
        "interval": "1m",
        "input_series": [
            {"series": 'up{job="sptk",instance="a:8080"}', "values": "0x40"},
            {"series": 'up{job="sptk",instance="b:8080"}', "values": "1x40"},
            {"series": f"sptk_ready{{{J}}}", "values": "0x40"},
            {"series": 'sptk_ready{job="sptk",instance="b:8080"}', "values": "1x40"},
            {"series": f"sptk_registry_available{{{J}}}", "values": "0x40"},
            {"series": 'sptk_registry_available{job="sptk",instance="b:8080"}', "values": "1x40"},
            {"series": f"sptk_quarantined_records_total{{{J}}}", "values": "0+1x40"},
            {"series": 'sptk_quarantined_records_total{job="sptk",instance="b:8080"}', "values": "5x40"},
            {"series": f'sptk_volume_anomaly_score{{{J},stream="enriched"}}', "values": "-5x40"},
            {"series": f'sptk_volume_anomaly_score{{{J},stream="raw"}}', "values": "5x40"},
            {"series": f'sptk_volume_anomaly_score{{{J},stream="bad"}}', "values": "0.5x40"},
            {"series": f'sptk_consumer_lag{{{J},topic="growing",partition="0"}}', "values": "2000+100x40"},
            {"series": f'sptk_consumer_lag{{{J},topic="steady",partition="0"}}', "values": "5000x40"},
            {"series": f'sptk_records_in_total{{{J},source="kafka"}}', "values": "0+100x40"},
            {"series": f'sptk_invalid_records_total{{{J},app_id="shop",schema="iglu:com.acme/cart/jsonschema/1-0-0"}}',
             "values": "0+10x40"},
            {"series": f'sptk_invalid_records_total{{{J},app_id="blog",schema="iglu:com.acme/page/jsonschema/1-0-0"}}',
             "values": "0+0.1x40"},
        ],
        "alert_rule_test": [
            {"eval_time": "5m", "alertname": "SptkPipelineDown", "exp_alerts": [_fired(slo, "SptkPipelineDown", up)]},
            {"eval_time": "1m", "alertname": "SptkPipelineDown", "exp_alerts": []},  # pending: `for: 2m`
            {"eval_time": "10m", "alertname": "SptkNotReady", "exp_alerts": [_fired(slo, "SptkNotReady", up)]},
            {"eval_time": "3m", "alertname": "SptkRegistryUnavailable",
             "exp_alerts": [_fired(slo, "SptkRegistryUnavailable", up)]},
            {"eval_time": "25m", "alertname": "SptkQuarantineGrowing",
             "exp_alerts": [_fired(slo, "SptkQuarantineGrowing", up)]},
            {"eval_time": "20m", "alertname": "SptkVolumeDrop",
             "exp_alerts": [_fired(slo, "SptkVolumeDrop", {**up, "stream": "enriched"})]},
            {"eval_time": "20m", "alertname": "SptkVolumeSpike",
             "exp_alerts": [_fired(slo, "SptkVolumeSpike", {**up, "stream": "raw"})]},
            {"eval_time": "35m", "alertname": "SptkConsumerLagGrowing",
             "exp_alerts": [_fired(slo, "SptkConsumerLagGrowing", {"topic": "growing"})]},
            {"eval_time": "35m", "alertname": "SptkHighInvalidRate", "exp_alerts": [_fired(
                slo, "SptkHighInvalidRate", {"app_id": "shop", "schema": "iglu:com.acme/cart/jsonschema/1-0-0"})]},
        ],
    }
    budgets = {
        "interval": "1m",
        "input_series": [
            # enriched: 90% of records older than the threshold, 1 delivery in 11 failed
            {"series": f'sptk_freshness_seconds_bucket{{{J},stream="enriched",le="300.0"}}', "values": "0+10x90"},
            {"series": f'sptk_freshness_seconds_count{{{J},stream="enriched"}}', "values": "0+100x90"},
            {"series": f'sptk_delivery_errors_total{{{J},stream="enriched"}}', "values": "0+10x90"},
            {"series": f'sptk_records_out_total{{{J},stream="enriched"}}', "values": "0+100x90"},
            # raw: every record fresh, every delivery confirmed
            {"series": f'sptk_freshness_seconds_bucket{{{J},stream="raw",le="300.0"}}', "values": "0+100x90"},
            {"series": f'sptk_freshness_seconds_count{{{J},stream="raw"}}', "values": "0+100x90"},
            {"series": f'sptk_delivery_errors_total{{{J},stream="raw"}}', "values": "0x90"},
            {"series": f'sptk_records_out_total{{{J},stream="raw"}}', "values": "0+100x90"},
            # 20% of input turns into bad rows; the sidecar missed every scrape
            {"series": f'sptk_records_in_total{{{J},source="kafka"}}', "values": "0+100x90"},
            {"series": f'sptk_bad_records_total{{{J},type="schema_violations"}}', "values": "0+20x90"},
            {"series": f"up{{{J}}}", "values": "0x90"},
        ],
        "alert_rule_test": [
            {"eval_time": "70m", "alertname": "SptkFreshnessBudgetBurn",
             "exp_alerts": _burns(slo, "SptkFreshnessBudgetBurn", {"stream": "enriched"})},
            {"eval_time": "70m", "alertname": "SptkDeliveryFailures",
             "exp_alerts": _burns(slo, "SptkDeliveryFailures", {"stream": "enriched"})},
            {"eval_time": "70m", "alertname": "SptkInvalidBudgetBurn",
             "exp_alerts": _burns(slo, "SptkInvalidBudgetBurn", {})},
            {"eval_time": "70m", "alertname": "SptkAvailabilityBudgetBurn",
             "exp_alerts": _burns(slo, "SptkAvailabilityBudgetBurn", {})},
        ],
    }
    healthy = {
        "interval": "1m",
        "input_series": [
            {"series": f'sptk_records_in_total{{{J},source="kafka"}}', "values": "0+100x90"},
            {"series": f'sptk_bad_records_total{{{J},type="schema_violations"}}', "values": "0+0.5x90"},
            {"series": f"up{{{J}}}", "values": "1x90"},
            {"series": f"sptk_ready{{{J}}}", "values": "1x90"},
            {"series": f"sptk_registry_available{{{J}}}", "values": "1x90"},
        ],
        "alert_rule_test": [{"eval_time": "70m", "alertname": a, "exp_alerts": []} for a in (
            "SptkInvalidBudgetBurn", "SptkAvailabilityBudgetBurn", "SptkPipelineDown", "SptkNotReady",
            "SptkRegistryUnavailable")],
    }
    return [symptoms, budgets, healthy]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, timeout=300)


def test_promtool_accepts_the_generated_rules(promtool: Path, tmp_path: Path) -> None:
    slo = SloConfig(streams={"derived.clicks.v1": {"freshness_threshold_s": 60.0, "delivery_target": 0.99}})
    (tmp_path / RULES_FILE).write_text(render(slo))
    done = _run(promtool, "check", "rules", "--lint-fatal", tmp_path / RULES_FILE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_every_alert_fires_on_its_series_and_stays_silent_on_the_others(promtool: Path, tmp_path: Path) -> None:
    slo = SloConfig()
    (tmp_path / RULES_FILE).write_text(render(slo))
    tests = {"rule_files": [RULES_FILE], "evaluation_interval": "1m", "tests": _cases(slo)}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = _run(promtool, "test", "rules", tmp_path / "tests.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    tested = {t["alertname"] for case in tests["tests"] for t in case["alert_rule_test"]}
    assert tested == {r["alert"] for r in rules_document(slo)["groups"][1]["rules"]}


def test_promtool_rejects_an_alert_that_does_not_fire_as_expected(promtool: Path, tmp_path: Path) -> None:
    # the harness itself can fail: expecting SptkPipelineDown on a healthy sidecar must be reported
    slo = SloConfig()
    (tmp_path / RULES_FILE).write_text(render(slo))
    case = {"interval": "1m", "input_series": [{"series": f"up{{{J}}}", "values": "1x10"}],
            "alert_rule_test": [{"eval_time": "5m", "alertname": "SptkPipelineDown", "exp_alerts": [
                _fired(slo, "SptkPipelineDown", {"job": "sptk", "instance": "a:8080"})]}]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": [RULES_FILE], "tests": [case]}))
    done = _run(promtool, "test", "rules", tmp_path / "tests.yml")
    assert done.returncode != 0
    assert "SptkPipelineDown" in done.stdout + done.stderr


def test_a_stream_is_held_to_its_own_freshness_threshold(promtool: Path, tmp_path: Path) -> None:
    # clicks: 60 s objective, 90% of records older than 60 s -> burns; enriched: the 300 s default, all within 300 s
    slo = SloConfig(streams={"derived.clicks.v1": {"freshness_threshold_s": 60.0}})
    (tmp_path / RULES_FILE).write_text(render(slo))
    series = [(f'sptk_freshness_seconds_bucket{{{J},stream="{stream}",le="{le}"}}', values)
              for stream in ("derived.clicks.v1", "enriched")
              for le, values in (("60.0", "0+10x90"), ("300.0", "0+100x90"))]
    series += [(f'sptk_freshness_seconds_count{{{J},stream="{stream}"}}', "0+100x90")
               for stream in ("derived.clicks.v1", "enriched")]
    fired = _burns(slo, "SptkFreshnessBudgetBurn", {"stream": "derived.clicks.v1"})
    case = {"interval": "1m", "input_series": [{"series": n, "values": v} for n, v in series],
            "alert_rule_test": [{"eval_time": "70m", "alertname": "SptkFreshnessBudgetBurn", "exp_alerts": fired}]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": [RULES_FILE], "tests": [case]}))
    done = _run(promtool, "test", "rules", tmp_path / "tests.yml")
    assert done.returncode == 0, done.stdout + done.stderr
