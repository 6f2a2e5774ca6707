"""`sptk topics plan|apply`: compare the declared topics with the broker, and fix what is safe to fix.

Exit codes follow docs/cli.md: ``0`` the topics match (or only need creating); ``1`` an existing
topic drifts or ``apply`` refuses a change (a person must act); ``2`` the config (with its
librdkafka settings) is unusable, one line on stderr as with ``sptk pipeline run``; ``3`` the
broker could not be asked or refused an operation (retrying can help).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from toolkit.cli.conventions import CommandFailed, Exit, emit, json_option
from toolkit.config.errors import ConfigError
from toolkit.config.loading import load_config
from toolkit.config.models import PipelineConfig

_config_option = click.option("--config", "config_path", required=True,
                              type=click.Path(dir_okay=False, path_type=Path),
                              help="Pipeline config (.toml, .yaml); SPTK_* environment overrides apply.")


def _load(path: Path) -> PipelineConfig:
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from None
    if cfg.output.target.kind != "kafka":
        raise CommandFailed(f"{path}: output.target is {cfg.output.target}, so this pipeline declares no Kafka topics")
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
@json_option("the plan")
def plan(config_path: Path, json_to: str | None) -> None:
    """Show, per topic and setting, and per ACL binding, what would be created or changed.

    Exit 1 if an existing topic or the ACLs drifted or apply would refuse something (such as a
    replication factor larger than the cluster).
    """
    from toolkit.kafka import KafkaConfigError
    from toolkit.kafka.topics import read_plan

    cfg = _load(config_path)
    try:
        result = read_plan(cfg, acls=True)
    except KafkaConfigError as exc:
        raise CommandFailed(str(exc)) from None
    except _kafka_errors() as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    emit(json_to, json.dumps(result.to_dict(), indent=2), result.render())
    refusals = result.refusals
    for line in refusals:
        click.echo(f"apply would refuse {line}", err=True)
    if result.has_drift:
        click.echo("drift: run `sptk topics apply` for the alterable changes; refused ones need an operator",
                   err=True)
    if result.has_drift or refusals:
        click.get_current_context().exit(Exit.FOUND)


@topics.command()
@_config_option
@json_option("what was created, altered and refused")
def apply(config_path: Path, json_to: str | None) -> None:
    """Create missing topics, grow partitions, set configs, grant and revoke declared ACLs.

    Never shrinks, re-replicates or deletes a DENY binding (exit 1 then).
    """
    from toolkit.kafka import KafkaConfigError
    from toolkit.kafka.topics import apply_plan, read_plan

    cfg = _load(config_path)
    try:
        before = read_plan(cfg, acls=True)
        result = apply_plan(cfg, before)
    except KafkaConfigError as exc:
        raise CommandFailed(str(exc)) from None
    except _kafka_errors() as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    lines = [f"created  {name}" for name in result.created] + [f"altered  {change}" for change in result.altered] \
        + [f"granted  {acl}" for acl in result.granted] + [f"revoked  {acl}" for acl in result.revoked] \
        + [f"refused  {reason}" for reason in result.refused]
    emit(json_to, json.dumps({"created": result.created, "altered": result.altered, "granted": result.granted,
                              "revoked": result.revoked, "refused": result.refused},
                             indent=2), "\n".join(lines or [f"nothing to do: {before.summary()}"]))
    if not result.complete:
        click.get_current_context().exit(Exit.FOUND)
