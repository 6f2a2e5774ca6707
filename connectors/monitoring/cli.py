"""`sptk monitor rules` and `sptk monitor dashboard`: a deployment's Prometheus rules and Grafana dashboard,
from its pipeline config's ``[slo]`` section."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.monitoring import dashboard as grafana
from connectors.monitoring.rules import DEFAULT_RUNBOOKS, RULES_FILE, RulesError, render
from toolkit.cli.conventions import CommandFailed, write_file
from toolkit.config.errors import ConfigError
from toolkit.config.loading import load_config
from toolkit.config.models import SloConfig

CONFIG_HELP = "The pipeline config (TOML or YAML) whose [slo] section holds the objectives."


def _slo(config_file: Path) -> SloConfig:
    try:
        return load_config(config_file).slo
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from None


@click.group()
def monitor() -> None:
    """Operate a deployment: Prometheus rules and a Grafana dashboard generated from its SLOs."""


@monitor.command()
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help=CONFIG_HELP)
@click.option("--out", "out_dir", default=Path("."), show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help=f"Folder to write {RULES_FILE} into (created if missing).")
@click.option("--runbook-base", default=DEFAULT_RUNBOOKS, show_default=True,
              help="Where the runbooks are served: each alert's runbook_url is <base>/<alert>.md.")
def rules(config_file: Path, out_dir: Path, runbook_base: str) -> None:
    """Write Prometheus recording and alerting rules for the SLOs of --config into --out.

    Multi-window, multi-burn-rate alerts on each objective plus the symptom alerts
    (docs/operations.md). Check the file with `promtool check rules`. Exit 0 when written,
    2 when the config or an objective is wrong.
    """
    slo = _slo(config_file)
    try:
        text = render(slo, runbook_base)
    except RulesError as exc:
        raise CommandFailed(str(exc)) from None
    target = out_dir / RULES_FILE
    write_file(target, text.encode(), "rules")
    click.echo(f"{target}: written ({text.count('- alert: ')} alerting and {text.count('- record: ')} "
               "recording rules); load it with rule_files in prometheus.yml")


@monitor.command()
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help=CONFIG_HELP)
@click.option("--out", "out_file", default=Path(grafana.DASHBOARD_FILE), show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The dashboard file to write (its folder is created if missing).")
def dashboard(config_file: Path, out_file: Path) -> None:
    """Write a Grafana dashboard (JSON model) for the deployment of --config into --out.

    A row per SLO (freshness, delivery, invalid rate, availability: the measure and its burn rate,
    read from the recording rules of `sptk monitor rules`) and per stage (source, validate,
    produce, warehouse load), with ${datasource}, job and stream variables. Import it in Grafana or
    provision it (docs/deploy/prometheus.md). Exit 0 when written, 2 when the config is wrong.
    """
    text = grafana.render(_slo(config_file))
    write_file(out_file, text.encode(), "dashboard")
    panels = text.count('"type": "timeseries"')
    click.echo(f"{out_file}: written ({panels} panels); it reads the recording rules of `sptk monitor rules`, "
               "so load those into Prometheus too")
