"""`sptk monitor rules`: the Prometheus rules of a deployment, from its pipeline config's ``[slo]`` section."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.monitoring.rules import DEFAULT_RUNBOOKS, RULES_FILE, RulesError, render
from toolkit.cli.conventions import CommandFailed, write_file
from toolkit.config.errors import ConfigError
from toolkit.config.loading import load_config


@click.group()
def monitor() -> None:
    """Operate a deployment: Prometheus rules generated from its SLOs."""


@monitor.command()
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The pipeline config (TOML or YAML) whose [slo] section holds the objectives.")
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
    try:
        cfg = load_config(config_file)
        text = render(cfg.slo, runbook_base)
    except (ConfigError, RulesError) as exc:
        raise CommandFailed(str(exc)) from None
    target = out_dir / RULES_FILE
    write_file(target, text.encode(), "rules")
    click.echo(f"{target}: written ({text.count('- alert: ')} alerting and {text.count('- record: ')} "
               "recording rules); load it with rule_files in prometheus.yml")
