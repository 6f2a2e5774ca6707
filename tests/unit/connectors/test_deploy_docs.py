"""The deployment examples in docs/deploy are valid: their configs load and their timings fit the drain."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import yaml

from toolkit.cli.conventions import Exit
from toolkit.config.loading import load_config

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
