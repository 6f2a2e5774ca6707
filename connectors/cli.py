"""``sptk pipeline``: run the fan-out pipeline, and replay quarantined bad rows.

Exit codes (docs/cli.md): ``0`` everything read was confirmed and acknowledged; ``1`` the run
stopped with records unconfirmed (they are read again after a restart) or failed; ``2`` the
pipeline could not start and a person must change something (config, topics, registry config,
a port): nothing was read; ``3`` it could not start because the broker did not answer, which a
later start can get past. The run's summary (``{"in", "enriched", "bad", "filtered", "derived", ...}``) is printed
to stdout as one JSON line; logs go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from toolkit.cli.conventions import CommandFailed, Exit
from toolkit.config.errors import ConfigError
from toolkit.config.loading import load_config
from toolkit.config.models import PipelineConfig


def _load(config: str | None, inputs: tuple[str, ...], resolver: str | None, output: str | None,
          topic_prefix: str, profile: str | None) -> tuple[PipelineConfig, bool]:
    """The config, and whether it came from a file (rather than the quick-use options)."""
    from connectors.pipeline_app import override, quick_config

    try:
        if config:
            if resolver or profile:
                raise CommandFailed("--resolver and --profile are for quick use without --config; set [iglu] "
                                    "resolver_config and [output] enriched_profile in the config file instead")
            return override(load_config(config), inputs=inputs, output=output), True
        if not (inputs and resolver and output):
            raise CommandFailed("give --config FILE, or all of --input PATH, --resolver FILE and --output "
                                "files:DIR|kafka:BOOTSTRAP")
        assert resolver is not None and output is not None
        if not (output.startswith("files:") or output.startswith("kafka:")):
            raise CommandFailed(f"--output {output!r}: expected files:DIR or kafka:BOOTSTRAP (host:port[,host:port])")
        return quick_config(inputs, resolver, output, topic_prefix=topic_prefix, profile=profile), False
    except (ConfigError, ValueError) as exc:
        raise CommandFailed(str(exc)) from None


def run_app(cfg: PipelineConfig, *, serve: bool, create_topics: bool, allow_drift: bool, replay: object = None,
            only: tuple[str, ...] = (), bounds: object = None, observe: Any = None, keep_outputs: bool = True,
            prepare: Callable[[Any], None] | None = None) -> None:
    """Build the pipeline (``build``'s arguments), let ``prepare`` add to it (``sptk micro``'s API), run, exit."""
    from connectors.pipeline_app import StartupError, build
    from connectors.sidecar import configure_logging
    from toolkit.kafka import KafkaConfigError

    configure_logging(cfg.sidecar.log_format, cfg.sidecar.log_level)
    try:
        app = build(cfg, serve=serve, create_topics=create_topics, allow_drift=allow_drift,
                    replay=replay, only=only, install_signals=True, bounds=bounds,  # type: ignore[arg-type]
                    observe=observe, keep_outputs=keep_outputs)
        if prepare is not None:
            prepare(app)
    except StartupError as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED if exc.retryable else Exit.USAGE) from None
    except (ConfigError, KafkaConfigError, OSError) as exc:
        raise CommandFailed(str(exc)) from None
    except Exception as exc:  # route compile errors and the like: a config a person must fix, said in one line
        raise CommandFailed(f"{type(exc).__name__}: {exc}") from None
    code = app.run()
    click.echo(json.dumps(app.summary, sort_keys=False))
    sys.stdout.flush()
    raise SystemExit(code)


_input = click.option("--input", "inputs", multiple=True, metavar="PATH",
                      help="Enriched TSV file(s), plain or gzip, or - for stdin (replaces [source]).")
_output = click.option("--output", metavar="TARGET",
                       help="files:DIR (one file per stream, no broker), kafka:BOOTSTRAP, or kafka (the config's).")


@click.group()
def pipeline() -> None:
    """Run the fan-out pipeline from sources to raw, enriched, derived and bad outputs."""


@pipeline.command("run")
@click.option("--config", type=click.Path(dir_okay=False), help="Pipeline config (TOML or YAML).")
@_input
@click.option("--resolver", type=click.Path(dir_okay=False), help="Iglu resolver config (quick use, without --config).")
@_output
@click.option("--topic-prefix", default="sptk", show_default=True, help="Topic prefix for --output kafka:BOOTSTRAP.")
@click.option("--profile", help="JSON profile of the enriched stream (quick use; default canonical).")
@click.option("--allow-drift", is_flag=True, help="Start even when topic settings differ from the declaration.")
@click.option("--create-topics/--no-create-topics", default=None,
              help="Create missing topics before starting (default: on for quick use, off with --config).")
@click.option("--serve/--no-serve", default=None,
              help="Serve /healthz, /readyz, /metrics on [sidecar] host:port (default: on with --config).")
@click.option("--only", multiple=True, metavar="STREAM",
              help="Write only this stream (raw, enriched, bad, derived.<name>.v<N>); repeatable. For rebuilding "
                   "one stream from a replay of the raw topic.")
@click.option("--from-time", metavar="TIME",
              help="Kafka source: replay from the first record at or after TIME (ISO-8601, UTC unless it says), "
                   "then stop; see docs/runbooks/replay-and-backfill.md.")
@click.option("--to-time", metavar="TIME", help="Kafka source: replay records before TIME, then stop.")
@click.option("--from-offset", multiple=True, metavar="[TOPIC/]P:OFFSET",
              help="Kafka source: replay partition P from OFFSET; repeatable.")
@click.option("--to-offset", multiple=True, metavar="[TOPIC/]P:OFFSET",
              help="Kafka source: replay partition P up to and including OFFSET; repeatable.")
def run_command(config: str | None, inputs: tuple[str, ...], resolver: str | None, output: str | None,
                topic_prefix: str, profile: str | None, allow_drift: bool, create_topics: bool | None,
                serve: bool | None, only: tuple[str, ...], from_time: str | None, to_time: str | None,
                from_offset: tuple[str, ...], to_offset: tuple[str, ...]) -> None:
    """Process records from the source until it ends (or SIGTERM/SIGINT), then drain and exit.

    \b
    sptk pipeline run --config pipeline.toml
    sptk pipeline run --input events.tsv --resolver resolver.json --output files:out/
    sptk pipeline run --input events.tsv.gz --resolver resolver.json --output kafka:localhost:9092
    sptk pipeline run --config replay.toml --from-time 2024-05-17T00:00Z --to-time 2024-05-18T00:00Z

    With a time or offset bound and a Kafka source the run is a bounded replay: the range is
    fixed at start (up to the end the topic has then), no consumer group offset is read or
    committed, and the summary's "replayed" lists the offsets covered per partition.
    """
    cfg, from_file = _load(config, inputs, resolver, output, topic_prefix, profile)
    bounds = _bounds(cfg, from_time, to_time, from_offset, to_offset)
    run_app(cfg, serve=from_file if serve is None else serve,
         create_topics=(not from_file) if create_topics is None else create_topics, allow_drift=allow_drift,
         only=only, bounds=bounds)


def _bounds(cfg: PipelineConfig, from_time: str | None, to_time: str | None, from_offset: tuple[str, ...],
            to_offset: tuple[str, ...]) -> object:
    """The replay range the options ask for, checked against the config's source; None without any."""
    from toolkit.kafka.ranges import RangeBounds, RangeError, parse_offsets
    from toolkit.moments import parse_moment

    if not (from_time or to_time or from_offset or to_offset):
        return None
    if cfg.source.kind != "kafka" or cfg.source.kafka is None:
        raise CommandFailed(f"--from-time/--to-time/--from-offset/--to-offset replay a range of a Kafka topic; the "
                            f"source here is {cfg.source.kind!r}: use a config with [source] kind = \"kafka\"")
    topics = cfg.source.kafka.topics
    try:
        bounds = RangeBounds(parse_moment("--from-time", from_time) if from_time else None,
                             parse_moment("--to-time", to_time) if to_time else None,
                             parse_offsets("--from-offset", from_offset, topics),
                             parse_offsets("--to-offset", to_offset, topics))
    except (RangeError, ValueError) as exc:
        raise CommandFailed(str(exc)) from None
    if bounds.from_time and bounds.to_time and bounds.to_time <= bounds.from_time:
        raise CommandFailed(f"--to-time {to_time} is not after --from-time {from_time}")
    return bounds


@pipeline.command("replay-bad")
@click.option("--config", type=click.Path(dir_okay=False), required=True, help="Pipeline config (TOML or YAML).")
@click.option("--input", "inputs", multiple=True, type=click.Path(dir_okay=False), metavar="PATH",
              help="Read bad rows from these .jsonl files instead of the bad topic.")
@click.option("--group", default=None, help="Consumer group for reading the bad topic [default: sptk-replay-bad].")
@click.option("--all", "include_all", is_flag=True,
              help="Replay every bad row that holds its line, not only the quarantined (retryable) ones.")
@_output
@click.option("--allow-drift", is_flag=True, help="Start even when topic settings differ from the declaration.")
def replay_bad_command(config: str, inputs: tuple[str, ...], group: str | None, include_all: bool,
                       output: str | None, allow_drift: bool) -> None:
    """Run quarantined bad rows through the pipeline again, once the registry is back.

    Reads the bad topic up to its current end (or --input files), takes every
    schema_violations row that was quarantined because a registry could not answer,
    rebuilds its original line and processes it again: it lands in enriched and the
    derived streams, or in bad again with the reason it has now. A row diverted from a
    derived stream whose topic failed (StreamUnavailable) is written back into that
    stream only, and counted as restored. Rows that are not replayed are counted as
    skipped. Nothing is written to the raw stream.
    """
    from connectors.pipeline_app import ReplayOptions
    from connectors.replay import DEFAULT_GROUP

    cfg, _ = _load(config, (), None, output, "sptk", None)
    if not inputs and cfg.kafka is None:
        raise CommandFailed("without --input, replay-bad reads the bad topic, which needs a [kafka] section in the "
                            "config")
    if inputs and group:
        raise CommandFailed("--group is for reading the bad topic; it has no meaning with --input files")
    for path in inputs:
        if cfg.output.target.kind == "files" and Path(path).resolve().parent == cfg.output.target.directory:
            raise CommandFailed(f"--input {path} is inside the output directory {cfg.output.target.directory}, which "
                                "the replay starts afresh; copy it elsewhere or write to another directory")
    replay = ReplayOptions(tuple(Path(p) for p in inputs), group or DEFAULT_GROUP, include_all)
    run_app(cfg, serve=False, create_topics=False, allow_drift=allow_drift, replay=replay)
