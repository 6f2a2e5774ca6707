"""``sptk sink``: deliver enriched or derived topics to endpoints outside Kafka (docs/sinks.md)."""

from __future__ import annotations

import sys

import click

from toolkit.cli.conventions import CommandFailed, Exit
from toolkit.config.errors import ConfigError


@click.group()
def sink() -> None:
    """Deliver enriched or derived topics to endpoints outside Kafka."""


@sink.command("http")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="HTTP sink config (TOML or YAML); see docs/sinks.md.")
@click.option("--until-caught-up", is_flag=True,
              help="Stop once every assigned partition is delivered or dead-lettered and committed.")
def http_command(config_path: str, until_caught_up: bool) -> None:
    """Send a topic's events in batches to an HTTP/CDP endpoint; commit only what landed.

    \b
    sptk sink http --config sink.toml

    Serves /healthz, /readyz and /metrics on [sidecar] host:port and drains on SIGTERM. Exit codes: 0 every
    record read was delivered and committed; 1 records went to the dead-letter topic, or the drain gave up a
    batch (not committed: a restart sends it again), or the run stopped on an error it logged (a dead-letter write not
    confirmed; nothing unconfirmed was committed); 2 the config, the topics or the port; 3 Kafka did not answer.
    """
    from connectors.sidecar import ListenError, configure_logging
    from connectors.sinks.http.app import SinkStartupError, run_sink
    from connectors.sinks.http.config import HttpSinkConfig
    from toolkit.config.loading import load_settings
    from toolkit.kafka import KafkaConfigError

    try:
        cfg = load_settings(config_path, HttpSinkConfig)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from None
    configure_logging(cfg.sidecar.log_format, cfg.sidecar.log_level)
    try:
        run = run_sink(cfg, until_caught_up=until_caught_up,
                       announce=lambda port: click.echo(f"sink http {cfg.sink.name}: /healthz, /readyz and /metrics "
                                                        f"on {cfg.sidecar.host}:{port}", err=True))
    except SinkStartupError as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED if exc.retryable else Exit.USAGE) from None
    except ListenError as exc:
        raise CommandFailed(f"{exc}; the port is [sidecar] port") from None
    except KafkaConfigError as exc:
        raise CommandFailed(str(exc)) from None
    click.echo(f"sink http {cfg.sink.name} from {', '.join(cfg.sink.topics)} to {cfg.http.url}: "
               f"{run.report.summary()}")
    sys.stdout.flush()
    sys.exit(Exit.FOUND if run.code != 0 or sum(run.report.dead_lettered.values()) else Exit.OK)
