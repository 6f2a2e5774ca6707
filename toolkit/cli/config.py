"""`sptk config schema|check`: the configuration's JSON Schema for editors, and a check that starts nothing."""

from __future__ import annotations

import json
from pathlib import Path

import click

from toolkit.cli.conventions import CommandFailed
from toolkit.config.errors import ConfigError
from toolkit.config.identity import pipeline_id
from toolkit.config.loading import load_config
from toolkit.config.schema import config_json_schema


@click.group()
def config() -> None:
    """Check pipeline configs and print their JSON Schema."""


@config.command()
def schema() -> None:
    """Print the JSON Schema of a pipeline config file (TOML or YAML) on stdout.

    Save it next to your configs and point the editor at it: in YAML the first line
    `# yaml-language-server: $schema=sptk-config.schema.json`, in TOML (taplo, Even
    Better TOML) the first line `#:schema ./sptk-config.schema.json`.
    """
    click.echo(json.dumps(config_json_schema(), indent=2, ensure_ascii=False))


@config.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE as a run would (SPTK_* overrides and secrets included) without starting anything.

    Exit 0 when it is valid, 2 with every problem listed when it is not.
    """
    try:
        cfg = load_config(file)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from None
    writes = f"kafka (topic prefix {cfg.kafka.topic_prefix})" if cfg.kafka and cfg.output.target.kind == "kafka" \
        else str(cfg.output.target)
    streams = ", ".join(d.stream_id for d in cfg.derived) or "none"
    click.echo(f"{file}: valid; reads {cfg.source.kind}, writes {writes}; derived streams: {streams}; "
               f"{pipeline_id(cfg)}")
