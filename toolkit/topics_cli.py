"""`sptk topics plan|apply`: compare the declared topics with the broker, and fix what is safe to fix.

Exit codes: ``0`` the topics match (or only need creating); ``1`` the broker could not be asked
or refused an operation (retrying can help); ``2`` a person must act: an existing topic drifts,
``apply`` refuses a change, or the config (with its librdkafka settings) is unusable, which is
one line on stderr, as with ``sptk pipeline run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import click

from toolkit.config import ConfigError, PipelineConfig, load_config

#: Exit status when an existing topic differs from its declaration, apply refused a change, or the config is unusable.
EXIT_DRIFT = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"sptk topics: {message}", err=True)
    raise SystemExit(EXIT_DRIFT)

_config_option = click.option("--config", "config_path", required=True,
                              type=click.Path(dir_okay=False, path_type=Path),
                              help="Pipeline config (.toml, .yaml); SPTK_* environment overrides apply.")
_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                              show_default=True, help="Output format.")


def _load(path: Path) -> PipelineConfig:
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        _fail(str(exc))
    if cfg.output.target.kind != "kafka":
        _fail(f"{path}: output.target is {cfg.output.target}, so this pipeline declares no Kafka topics")
    return cfg


def _kafka_errors() -> tuple[type[BaseException], ...]:
    from toolkit.kafka import KafkaUnavailable
    from toolkit.kafka.admin import TopicAdminError

    return (KafkaUnavailable, TopicAdminError)


@click.group()
def topics() -> None:
    """Plan and apply the Kafka topics declared in a pipeline config."""


@topics.command()
@_config_option
@_format_option
def plan(config_path: Path, fmt: str) -> None:
    """Show, per topic and setting, what would be created or changed.

    Exit 2 if an existing topic drifted or apply would refuse something (such as a replication
    factor larger than the cluster).
    """
    from toolkit.kafka import KafkaConfigError
    from toolkit.topics import read_plan

    cfg = _load(config_path)
    try:
        result = read_plan(cfg)
    except KafkaConfigError as exc:
        _fail(str(exc))
    except _kafka_errors() as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if fmt == "json" else result.render())
    refusals = result.refusals
    if fmt == "text":
        for line in refusals:
            click.echo(f"apply would refuse {line}", err=True)
        if result.has_drift:
            click.echo("drift: run `sptk topics apply` for the alterable changes; refused ones need an operator",
                       err=True)
    if result.has_drift or refusals:
        click.get_current_context().exit(EXIT_DRIFT)


@topics.command()
@_config_option
@_format_option
def apply(config_path: Path, fmt: str) -> None:
    """Create missing topics, grow partitions and set configs. Never shrinks or re-replicates (exit 2 then)."""
    from toolkit.kafka import KafkaConfigError
    from toolkit.topics import apply_plan, read_plan

    cfg = _load(config_path)
    try:
        before = read_plan(cfg)
        result = apply_plan(cfg, before)
    except KafkaConfigError as exc:
        _fail(str(exc))
    except _kafka_errors() as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps({"created": result.created, "altered": result.altered, "refused": result.refused},
                              indent=2))
    else:
        for name in result.created:
            click.echo(f"created  {name}")
        for change in result.altered:
            click.echo(f"altered  {change}")
        for reason in result.refused:
            click.echo(f"refused  {reason}")
        if not (result.created or result.altered or result.refused):
            click.echo(f"nothing to do: {before.summary()}")
    if not result.complete:
        click.get_current_context().exit(EXIT_DRIFT)
