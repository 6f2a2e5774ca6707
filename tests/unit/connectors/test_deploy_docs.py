"""The deployment examples in docs/deploy are valid: their configs load and their timings fit the drain."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import yaml

from toolkit.cli.conventions import Exit
from toolkit.config.loading import load_config
from toolkit.config.models import PipelineConfig

DOCS = Path(__file__).resolve().parents[3] / "docs"


def blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_kubernetes_pod_and_its_config_agree(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(blocks(DOCS / "deploy" / "kubernetes.md", "yaml")[0]))
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    pod = next(d for d in docs if d["kind"] == "Pod")
    json.loads(config_map["data"]["iglu-resolver.json"])
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kafka-password").write_text("example\n")
    toml = config_map["data"]["pipeline.toml"].replace("/var/run/secrets/sptk/", f"{secrets}/")
    (tmp_path / "pipeline.toml").write_text(toml)
    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "sptk")
    env = {e["name"]: e.get("value", "from-a-secret") for e in sidecar["env"]}
    cfg = load_config(tmp_path / "pipeline.toml", environ=env)

    assert cfg.kafka.bootstrap_servers == env["SPTK_KAFKA__BOOTSTRAP_SERVERS"]
    assert cfg.source.kind == "http" and cfg.sidecar.host == "0.0.0.0"
    assert sidecar["ports"][0]["containerPort"] == cfg.sidecar.port
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["spec"]["terminationGracePeriodSeconds"] > cfg.delivery.drain_timeout_s
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(cfg.sidecar.port)
    app = next(c for c in pod["spec"]["containers"] if c["name"] == "app")
    assert app["env"][0]["value"] == f"http://127.0.0.1:{cfg.sidecar.port}{cfg.source.http.path}"
    assert cfg.privacy["enriched"].pseudonymisation_key.reference == "env:SPTK_PSEUDONYMISATION_KEY"


def test_the_systemd_unit_gives_the_drain_time_and_its_config_loads(tmp_path: Path) -> None:
    doc = DOCS / "deploy" / "systemd.md"
    creds = tmp_path / "creds"
    creds.mkdir()
    for name in ("kafka-password", "pseudonymisation-key"):
        (creds / name).write_text("example\n")
    toml = blocks(doc, "toml")[0].replace("/run/credentials/sptk-pipeline.service/", f"{creds}/")
    (tmp_path / "pipeline.toml").write_text(toml)
    cfg = load_config(tmp_path / "pipeline.toml", environ={})
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(blocks(doc, "ini")[0])
    assert int(unit["Service"]["TimeoutStopSec"]) > cfg.delivery.drain_timeout_s
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert "--config /etc/sptk/pipeline.toml" in unit["Service"]["ExecStart"]
    assert cfg.source.kind == "kafka" and cfg.sidecar.port == 9108
    # a config mistake is not restarted in a loop; an unanswering broker (3) is (docs/cli.md)
    assert unit["Service"]["RestartPreventExitStatus"] == str(int(Exit.USAGE))


def _kubernetes_config(tmp_path: Path) -> PipelineConfig:
    """The pipeline config of the ConfigMap in kubernetes.md, loaded as the sidecar would."""
    docs = list(yaml.safe_load_all(blocks(DOCS / "deploy" / "kubernetes.md", "yaml")[0]))
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "kafka-password").write_text("example\n")
    (tmp_path / "pipeline.toml").write_text(config_map["data"]["pipeline.toml"].replace("/var/run/secrets/sptk/",
                                                                                         f"{secrets}/"))
    return load_config(tmp_path / "pipeline.toml", environ={"SPTK_KAFKA__BOOTSTRAP_SERVERS": "k:9093",
                                                             "SPTK_PSEUDONYMISATION_KEY": "example"})


def _prometheus_docs() -> dict[str, dict]:
    """The Kubernetes objects of docs/deploy/prometheus.md by kind (each kind once)."""
    objects = [d for block in blocks(DOCS / "deploy" / "prometheus.md", "yaml") for d in yaml.safe_load_all(block)]
    kinds = [d.get("kind", "grafana-provisioning") for d in objects]
    assert len(kinds) == len(set(kinds)), kinds
    return dict(zip(kinds, objects, strict=True))


def test_the_prometheus_rule_holds_what_sptk_monitor_rules_writes_for_the_kubernetes_config(tmp_path: Path) -> None:
    from connectors.monitoring.rules import rules_document

    doc = (DOCS / "deploy" / "prometheus.md").read_text(encoding="utf-8")
    [base] = re.findall(r"sptk monitor rules [^\n]*--runbook-base (\S+)", doc)
    rule = _prometheus_docs()["PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"] == rules_document(_kubernetes_config(tmp_path).slo, base)
    assert "(prometheus.md)" in (DOCS / "deploy" / "kubernetes.md").read_text(encoding="utf-8")


def test_the_service_monitor_scrapes_the_sidecar_port_of_the_pod_under_the_slo_job(tmp_path: Path) -> None:
    pod = next(d for d in yaml.safe_load_all(blocks(DOCS / "deploy" / "kubernetes.md", "yaml")[0])
               if d["kind"] == "Pod")
    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "sptk")
    [port] = sidecar["ports"]
    objects = _prometheus_docs()
    service, monitor = objects["Service"], objects["ServiceMonitor"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] == port["name"] and service_port["port"] == port["containerPort"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service_port["name"]
    assert endpoint["path"] == pod["metadata"]["annotations"]["prometheus.io/path"]
    # the rules select `slo.selector`: the scrape must give the series that job label
    [job] = [r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
    assert _kubernetes_config(tmp_path).slo.selector == f'job="{job}"'
    assert monitor["metadata"]["labels"] == objects["PrometheusRule"]["metadata"]["labels"]


def test_the_grafana_wiring_provisions_the_dashboard_the_command_writes() -> None:
    from connectors.monitoring.dashboard import DASHBOARD_FILE

    doc = (DOCS / "deploy" / "prometheus.md").read_text(encoding="utf-8")
    assert f"sptk monitor dashboard --config pipeline.toml --out {DASHBOARD_FILE}" in doc
    provisioning = _prometheus_docs()["grafana-provisioning"]
    [provider] = provisioning["providers"]
    assert provisioning["apiVersion"] == 1 and provider["type"] == "file"
    assert f"{provider['options']['path']}/{DASHBOARD_FILE}" in doc
