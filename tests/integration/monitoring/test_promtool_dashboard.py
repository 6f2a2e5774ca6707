"""Every query of the generated Grafana dashboard parses as PromQL, by Prometheus' own parser.

promtool has no "check this expression" command, so each panel query becomes a recording rule of a
throw-away rule file and `promtool check rules` parses them all (after Grafana's variables are
given concrete values, as Grafana does before it sends a query). The metric names the queries
use are checked against the toolkit's exports in tests/unit/connectors/test_monitoring_dashboard.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.monitoring.dashboard import dashboard
from tests.integration.prometheus import prometheus_tool
from toolkit.config.models import SloConfig

#: what Grafana puts in place of its variables before the query reaches Prometheus
VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h", "${datasource}": "",
             "$job": "sptk|sptk-load", "$stream": "enriched|warehouse"}


@pytest.fixture(scope="session")
def promtool() -> Path:
    return prometheus_tool("promtool")


def concrete(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    leftover = re.findall(r"\$\{?\w+\}?", expr)
    assert not leftover, f"a Grafana variable this test does not know: {leftover} in {expr}"
    return expr


def panel_queries(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and of the selector of every label_values() variable."""
    found = [(f"{p['title']} {t['refId']}", t["expr"]) for p in model["panels"] for t in p.get("targets", [])]
    for v in model["templating"]["list"]:
        if v["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", v["query"]["query"])
            assert inner, v["query"]["query"]
            found.append((f"variable {v['name']}", inner.group(1)))
    return found


def check(promtool: Path, tmp_path: Path, queries: list[tuple[str, str]]) -> subprocess.CompletedProcess[str]:
    rules = [{"record": f"dashboard:query{n}", "expr": concrete(expr), "labels": {"panel": where}}
             for n, (where, expr) in enumerate(queries)]
    path = tmp_path / "dashboard-queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sort_keys=False))
    return subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True,
                          check=False, timeout=300)


@pytest.mark.parametrize("slo", [SloConfig(), SloConfig(selector='job="sptk",env="prod"', streams={
    "derived.clicks.v1": {"freshness_threshold_s": 60.0, "freshness_target": 0.99}})], ids=["defaults", "streams"])
def test_promtool_parses_every_query_of_the_dashboard(promtool: Path, tmp_path: Path, slo: SloConfig) -> None:
    queries = panel_queries(dashboard(slo))
    done = check(promtool, tmp_path, queries)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout + done.stderr


def test_promtool_rejects_a_query_that_does_not_parse(promtool: Path, tmp_path: Path) -> None:
    # the harness itself can fail: a panel with an unbalanced parenthesis is reported
    queries = [*panel_queries(dashboard(SloConfig())), ("broken", "sum(rate(sptk_records_in_total[$__rate_interval])")]
    done = check(promtool, tmp_path, queries)
    assert done.returncode != 0
    assert "dashboard:query" in done.stdout + done.stderr
