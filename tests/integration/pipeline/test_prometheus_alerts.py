"""The generated rules in a real Prometheus server scraping a running pipeline sidecar.

Stopping the Iglu registry makes ``SptkRegistryUnavailable`` fire (after its ``for: 1m``);
restarting the registry resolves it. The server is built from Prometheus' Go module by
scripts/prometheus_tools.py, like promtool.
"""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from pathlib import Path

from connectors.monitoring.rules import RULES_FILE, render
from tests.integration.pipeline.conftest import base_config, free_port, start, wait_for, write_config
from tests.integration.pipeline.test_registry_down import Registry, registry  # noqa: F401 (the fixture)
from tests.integration.pipeline_infra.conftest import unique
from tests.integration.prometheus import prometheus_tool
from toolkit.config.models import SloConfig
from toolkit.kafka import create_topics


def _alerts(port: int, name: str) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=10) as r:
        alerts = json.loads(r.read())["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == name]


def _state(port: int, name: str) -> str:
    found = _alerts(port, name)
    return found[0]["state"] if found else "inactive"


def test_stopping_the_registry_fires_sptk_registry_unavailable_and_restarting_resolves_it(
        tmp_path: Path, kafka_bootstrap: str, prefix: str, registry: Registry) -> None:  # noqa: F811
    binary = prometheus_tool("prometheus")
    resolver = registry.resolver_config(tmp_path / "resolver.json")
    topic = f"{prefix}.input"
    create_topics(kafka_bootstrap, [topic], partitions=1)
    sidecar_port, prometheus_port = free_port(), free_port()
    cfg = base_config(prefix, kafka_bootstrap, resolver=resolver,
                      source={"kind": "kafka", "kafka": {"topics": [topic], "group_id": unique("alerts")}},
                      sidecar={"host": "127.0.0.1", "port": sidecar_port, "log_format": "json"})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    (tmp_path / RULES_FILE).write_text(render(SloConfig()))
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{RULES_FILE}]\n"
        f"scrape_configs: [{{job_name: sptk, static_configs: [{{targets: ['127.0.0.1:{sidecar_port}']}}]}}]\n")

    pipeline = start("pipeline", "run", "--config", str(config), "--create-topics")
    server = subprocess.Popen([str(binary), f"--config.file={tmp_path / 'prometheus.yml'}",
                               f"--storage.tsdb.path={tmp_path / 'data'}",
                               f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        wait_for(lambda: _ready(prometheus_port), 60, "Prometheus to start")
        wait_for(lambda: _up(prometheus_port), 60, "Prometheus to scrape the sidecar")
        assert _state(prometheus_port, "SptkRegistryUnavailable") == "inactive"

        registry.stop()
        wait_for(lambda: _state(prometheus_port, "SptkRegistryUnavailable") == "pending", 30,
                 "SptkRegistryUnavailable to be pending")
        wait_for(lambda: _state(prometheus_port, "SptkRegistryUnavailable") == "firing", 90,
                 "SptkRegistryUnavailable to fire after its 1m")
        fired = _alerts(prometheus_port, "SptkRegistryUnavailable")[0]
        assert fired["labels"]["impact"] == "delay" and fired["labels"]["severity"] == "page"
        assert fired["annotations"]["runbook_url"] == "docs/runbooks/SptkRegistryUnavailable.md"

        registry.start()
        wait_for(lambda: _state(prometheus_port, "SptkRegistryUnavailable") == "inactive", 60,
                 "SptkRegistryUnavailable to resolve once the registry answers")
    finally:
        server.terminate()
        server.communicate(timeout=60)
        pipeline.send_signal(signal.SIGTERM)
        _, err = pipeline.communicate(timeout=60)
    assert pipeline.returncode == 0, err[-3000:]


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _up(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query=sptk_registry_available", timeout=10) as r:
        return bool(json.loads(r.read())["data"]["result"])
