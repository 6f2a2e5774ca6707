"""`sptk reconcile` and `sptk migrate`: the commands the migration package contributes.

Exit codes of ``sptk reconcile`` are the contract CI jobs gate a cutover on: 0 parity, 1 warn,
2 fail, 3 could not decide. Its 2 is a finding, so a usage error exits 3, not the 2 of every
other command, and so does anything else that stops it before a verdict (an unreadable source,
Ctrl-C, an unexpected exception); ``sptk migrate shadow`` keeps the same contract
(:class:`~toolkit.cli.conventions.VerdictCommand`, docs/cli.md). The loaders follow the shared
codes: 2 a person must change the command or its input, 3 a service did not answer.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from connectors.warehouse.loader import Dedup
from migration.cutover_cli import history_command, signoff_command
from migration.reconcile.config import (
    FAIL_ON_CHOICES,
    FreshnessLimits,
    ReconcileConfig,
    Rules,
    parse_duration,
    parse_levels,
    parse_tolerances,
)
from migration.reconcile.errors import ConfigError
from toolkit.cli.conventions import (
    BOOTSTRAP_ENV,
    STDOUT,
    CommandFailed,
    Exit,
    VerdictCommand,
    VerdictGroup,
    emit,
    json_option,
    write_file,
)


@click.group(cls=VerdictGroup)
@click.option("--legacy", "legacy_source", metavar="SRC",
              help="The legacy side: duckdb:PATH[?schema=S], postgresql://...?schema=S, tsv:PATH, jsonl:PATH, "
                   "parquet:PATH_OR_GLOB, delta:PATH or iceberg:PATH[?namespace=NS&table=NS.T&catalog=URI]; "
                   "add bad=PATH for its bad rows.  [required]")
@click.option("--new", "new_source", metavar="SRC", help="The new (Kafka) side, same forms.  [required]")
@click.option("--window", default="1h", show_default=True, help="Window size on collector_tstamp.")
@click.option("--lookback", default="2h", show_default=True,
              help="Events this close to --as-of that one side lacks are pending, not missing.")
@click.option("--as-of", default=None, help="The 'now' lookback counts back from (default: latest collector_tstamp).")
@json_option("the report")
@click.option("--html", "html_path", default=None, metavar="FILE", help="Write the HTML report here.")
@click.option("--fail-on", multiple=True, type=click.Choice(FAIL_ON_CHOICES),
              help="Treat these warn-level findings as failures (repeatable; 'warn' = all of them).")
@click.option("--rule", "rules", multiple=True, metavar="NAME=VALUE",
              help="Switch a normalisation rule: nulls_omitted, schema_version, json_key_order = on|off; "
                   "timestamp_precision = us|ms|s.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC=REL",
              help="Relative tolerance of a key metric: page_views, sessions, users, tr_total (e.g. users=0.001).")
@click.option("--type-tolerance", default=0.0, show_default=True, type=float,
              help="Share of an event type that may differ before the type fails.")
@click.option("--ignore-column", "ignore_columns", multiple=True, metavar="COLUMN",
              help="Do not compare this column (repeatable).")
@click.option("--sample", "sample_size", default=10, show_default=True, type=click.IntRange(0, 1000),
              help="Event ids listed per bucket.")
@click.option("--memory-limit", default="1GB", show_default=True, help="Memory the embedded DuckDB engine may use.")
@click.option("--since", default=None, metavar="TIME", help="Scope: events from this collector_tstamp on (ISO-8601).")
@click.option("--until", default=None, metavar="TIME", help="Scope: events before this collector_tstamp (ISO-8601).")
@click.option("--app-id", "app_ids", multiple=True, metavar="APP", help="Scope: only this app_id (repeatable).")
@click.option("--platform", "platforms", multiple=True, metavar="PLATFORM",
              help="Scope: only this platform (repeatable).")
@click.option("--event", "event_criteria", multiple=True, metavar="SCHEMA_CRITERION",
              help="Scope: only events whose schema matches, e.g. com.acme/checkout_step/jsonschema/1-*-* "
                   "(repeatable).")
@click.option("--metrics", "metrics_path", default=None, metavar="FILE",
              help="Parity metrics (YAML) on top of the built-ins; see docs/reconciliation.md.")
@click.option("--freshness-p95-max", default=None, metavar="[warn=|fail=]DURATION",
              help="Limit on the new side's p95 of load_tstamp - collector_tstamp: 10m (fail) or warn=5m,fail=10m.")
@click.option("--freshness-gap-max", default=None, metavar="[warn=|fail=]DURATION",
              help="How much the new side's freshness p95 may exceed legacy's: 2m (fail) or warn=1m,fail=5m.")
@click.pass_context
def reconcile(ctx: click.Context, legacy_source: str | None, new_source: str | None, window: str, lookback: str,
              as_of: str | None, json_to: str | None, html_path: str | None, fail_on: tuple[str, ...],
              rules: tuple[str, ...], tolerances: tuple[str, ...], type_tolerance: float,
              ignore_columns: tuple[str, ...], sample_size: int, memory_limit: str, since: str | None,
              until: str | None, app_ids: tuple[str, ...], platforms: tuple[str, ...],
              event_criteria: tuple[str, ...], metrics_path: str | None, freshness_p95_max: str | None,
              freshness_gap_max: str | None) -> None:
    """Compare the legacy and the Kafka path and give a cutover verdict.

    Exit codes: 0 parity, 1 warn, 2 fail, 3 could not decide. The subcommands track the cutover
    over the reports this writes: `history` (the streak of passing days) and `signoff`.
    """
    if ctx.invoked_subcommand is not None:
        given = [p.opts[0] for p in ctx.command.params
                 if ctx.get_parameter_source(p.name or "") is click.core.ParameterSource.COMMANDLINE]
        if given:
            what = "is an option" if len(given) == 1 else "are options"
            raise click.UsageError(f"{', '.join(given)} {what} of `sptk reconcile` itself, not of "
                                   f"`sptk reconcile {ctx.invoked_subcommand}`", ctx)
        return
    for param in ctx.command.params:
        if param.name in ("legacy_source", "new_source") and ctx.params[param.name] is None:
            raise click.MissingParameter(ctx=ctx, param=param)
    assert legacy_source is not None and new_source is not None
    from migration.reconcile.engine import failed
    from migration.reconcile.engine import reconcile as run
    from migration.reconcile.metrics import DEFAULT_METRICS, load_metrics_file
    from migration.reconcile.scope import parse_moment, scope_from_options
    from migration.reconcile.workspace import SourceFailed
    from migration.reports import render_html, render_json, render_terminal
    from migration.sources import BadSource, open_workspace, parse_source
    from toolkit.progress import stages

    try:
        metrics = load_metrics_file(metrics_path) if metrics_path else DEFAULT_METRICS
        p95_warn, p95_fail = parse_levels("--freshness-p95-max", freshness_p95_max)
        gap_warn, gap_fail = parse_levels("--freshness-gap-max", freshness_gap_max)
        config = ReconcileConfig(
            window_us=parse_duration(window), lookback_us=parse_duration(lookback),
            rules=Rules().with_settings(rules), tolerances=parse_tolerances(tolerances, [m.name for m in metrics]),
            type_tolerance=type_tolerance, sample_size=sample_size, fail_on=frozenset(fail_on),
            ignore_columns=frozenset(ignore_columns), as_of=parse_moment("--as-of", as_of), metrics=metrics,
            scope=scope_from_options(since, until, app_ids, platforms, event_criteria),
            freshness=FreshnessLimits(p95_warn, p95_fail, gap_warn, gap_fail))
        legacy, new = parse_source(legacy_source), parse_source(new_source)
    except (ConfigError, BadSource) as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    try:
        with stages("reconcile") as step, open_workspace(legacy, new, memory_limit, step,
                                                                  config.scope) as workspace:
            result = run(workspace, config, step)
    except ConfigError as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    except SourceFailed as exc:
        result = failed(str(legacy), str(new), config, f"a source could not be read: {exc}")
    if html_path:
        write_file(html_path, render_html(result).encode(), "HTML")
    emit(json_to, render_json(result),
         render_terminal(result, None if json_to == STDOUT else json_to, html_path))
    sys.exit(result.exit_code)


reconcile.add_command(history_command)
reconcile.add_command(signoff_command)


@click.group()
def migrate() -> None:
    """Load the legacy and the Kafka path into a warehouse, alone or side by side."""


def _open_warehouse(url: str, lakes: bool = False) -> Any:
    """The load target; ``lakes``: Parquet, Delta and Iceberg locations too (they record Kafka offsets only)."""
    from connectors.warehouse import BadWarehouseURL, Warehouse
    from connectors.warehouse.backends import WarehouseUnavailable
    from connectors.warehouse.lakes import LakeWarehouse, is_lake_url
    from connectors.warehouse.lakes.tables import LakeUnreadable

    try:
        if is_lake_url(url):
            if not lakes:
                raise BadWarehouseURL(f"{url}: legacy-load writes a DuckDB or PostgreSQL warehouse; lake targets "
                                      f"(parquet:, delta:, iceberg:) are for kafka-load, which commits Kafka offsets")
            return LakeWarehouse.open(url)
        return Warehouse.open(url)
    except LakeUnreadable as exc:
        raise CommandFailed(str(exc)) from None
    except BadWarehouseURL as exc:
        raise CommandFailed(str(exc)) from None
    except WarehouseUnavailable as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None


@migrate.command("legacy-load")
@click.option("--input", "input_path", required=True, metavar="DIR|FILE",
              help="Archived enriched TSV (plain or gzip): a file, or a directory read as the pipeline's dir source "
                   "reads it (recursively, in name order, skipping names that start with '.' or '_'); one file = one "
                   "batch.")
@click.option("--pattern", default="*", show_default=True, metavar="GLOB",
              help="In a directory, only file names matching this glob (e.g. 'part-*').")
@click.option("--warehouse", required=True, metavar="URL",
              help="duckdb:PATH or postgresql://..., with ?schema=NAME (default atomic).")
@click.option("--dedup", type=click.Choice([d.value for d in Dedup]), default=Dedup.IN_BATCH.value, show_default=True,
              help="How natural duplicates collapse, as the legacy loader was configured.")
@click.option("--batch-size", default=50_000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Rows per warehouse transaction.")
def legacy_load_command(input_path: str, pattern: str, warehouse: str, dedup: str, batch_size: int) -> None:
    """Load archived enriched TSV into a warehouse as the legacy loaders did (idempotent by file and line).

    Lines that do not parse go to <schema>.bad_rows as loader_parsing_error bad rows. Exits 2 when there
    is nothing to load (no such input, or no file matches) or an input cannot be read.
    """
    from migration.legacy import InputFailed, NothingToLoad, legacy_load, tsv_files

    try:
        files = tsv_files(input_path, pattern)
    except NothingToLoad as exc:
        raise CommandFailed(str(exc)) from None
    with _open_warehouse(warehouse) as target:
        try:
            report = legacy_load(files, target, Dedup(dedup), batch_size=batch_size, progress_mode="auto")
        except InputFailed as exc:
            raise CommandFailed(f"{str(exc).rstrip('.')}. Files before it were loaded; re-running is safe "
                                f"(loads are idempotent by file and line).") from None
    click.echo(f"legacy-load into {target.url}: {report.summary()}")
    for problem in report.load.problems[:10]:
        click.echo(f"  not loaded: {problem}")


@migrate.command("kafka-load")
@click.option("--bootstrap", envvar=BOOTSTRAP_ENV, required=True, metavar="HOST:PORT",
              help=f"Kafka bootstrap servers (default: ${BOOTSTRAP_ENV}, as for a pipeline config).")
@click.option("--topic", required=True, help="The enriched topic (canonical JSON or enriched TSV messages).")
@click.option("--bad-topic", default=None, help="The bad topic (Snowplow bad rows), loaded into <schema>.bad_rows.")
@click.option("--warehouse", required=True, metavar="URL",
              help="duckdb:PATH or postgresql://..., with ?schema=NAME (default atomic); or a lake: parquet:DIR, "
                   "delta:DIR or iceberg:DIR[?namespace=NS] (events and bad_rows tables, offsets in their commits).")
@click.option("--group", default="sptk-kafka-load", show_default=True, help="Consumer group id.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Messages per warehouse transaction (offsets are committed after each).")
@click.option("--until-caught-up", is_flag=True, help="Stop once every assigned partition is fully loaded.")
@click.option("--connect-timeout", default=None, metavar="SECONDS", type=click.FloatRange(0, min_open=True),
              help="With --until-caught-up: give up (exit 3) when no partition is assigned this long after the start "
                   "(the broker does not answer, or the topic does not exist), or when the broker stops answering "
                   "for this long. Default: 30.")
@click.option("--sidecar-port", default=None, type=click.IntRange(0, 65535),
              help="Serve /healthz, /readyz and /metrics here and drain on SIGTERM (0: any free port).")
@click.option("--session-timeout", default=None, metavar="SECONDS", type=click.FloatRange(6, 3600),
              help="How long the group waits for a member that stopped answering (a crash) before giving its "
                   "partitions to another; librdkafka's default is 45. The broker must allow it "
                   "(group.min.session.timeout.ms, 6 s by default).")
def kafka_load_command(bootstrap: str, topic: str, bad_topic: str | None, warehouse: str, group: str,
                       batch_size: int, until_caught_up: bool, connect_timeout: float | None,
                       sidecar_port: int | None, session_timeout: float | None) -> None:
    """Consume the enriched topic into a warehouse (idempotent by topic, partition and offset).

    Exit codes: 0 loaded and committed; 1 the drain did not finish in time (a restart re-reads the rest);
    3 with --until-caught-up, the load could not finish (no answer from the broker, no such topic); what was
    loaded before stays loaded and a rerun resumes.
    """
    from connectors.sidecar import ListenError, Sidecar
    from connectors.sources.kafka import KafkaSource
    from migration.kafka_load import KafkaLoader
    from toolkit.kafka import stats_settings

    topics = [topic] + ([bad_topic] if bad_topic else [])
    with _open_warehouse(warehouse, lakes=True) as target:
        # the sidecar runtime drains on SIGTERM/SIGINT (and on one held during start-up) with or without a port
        serving = sidecar_port is not None
        sidecar = Sidecar(port=sidecar_port or 0, serve=serving)
        settings = dict(stats_settings(sidecar.metrics.observe_kafka_stats)) if serving else {}
        if session_timeout is not None:
            settings["session.timeout.ms"] = int(session_timeout * 1000)
        source = KafkaSource(bootstrap, topics, group, settings or None)
        loader = KafkaLoader(source, target, bad_topics=[bad_topic] if bad_topic else [], batch_size=batch_size,
                             until_caught_up=until_caught_up, progress_mode="auto",
                             metrics=sidecar.metrics if serving else None)
        if connect_timeout is not None:
            loader.connect_timeout_s = connect_timeout
        try:
            if serving:
                try:
                    sidecar.start()
                except ListenError as exc:  # the operator chose the port: a usage error, like click's own (2)
                    raise CommandFailed(f"{exc}; the port is --sidecar-port") from None
                click.echo(f"kafka-load: /healthz, /readyz and /metrics on 127.0.0.1:{sidecar.port}", err=True)
            code = sidecar.run(loader)
        finally:
            source.close()
    loaded = loader.report.messages
    if loader.gave_up and not loaded:
        raise CommandFailed(f"nothing loaded: {loader.gave_up} (waited {loader.connect_timeout_s:g} s; "
                            f"--connect-timeout changes that)", Exit.UNDECIDED)
    click.echo(f"kafka-load from {topic} into {target.url}: {loader.report.summary()}")
    for problem in loader.report.load.problems[:10]:
        click.echo(f"  not loaded (kept as a bad row): {problem}")
    if loader.gave_up:
        raise CommandFailed(f"stopped after {loaded:,} messages: {loader.gave_up} (waited "
                            f"{loader.connect_timeout_s:g} s; --connect-timeout changes that). What was loaded stays "
                            "loaded; once Kafka answers, rerun the same command: it resumes after the last committed "
                            "offsets, and a batch whose commit did not reach Kafka is read again without adding rows.",
                            Exit.UNDECIDED)
    sys.exit(code)


@migrate.command("shadow", cls=VerdictCommand)
@click.option("--config", "config_path", required=True, metavar="FILE",
              help="Shadow config (YAML or TOML): input, pipeline, legacy and kafka warehouses, reconcile settings.")
def shadow_command(config_path: str) -> None:
    """Feed one input through both paths into two schemas (or databases) and reconcile when both are caught up.

    Exits with the reconciliation's code: 0 parity, 1 warn, 2 fail, 3 could not decide.
    """
    from connectors.pipeline_app import StartupError
    from connectors.warehouse import BadWarehouseURL
    from connectors.warehouse.backends import WarehouseUnavailable
    from migration.legacy import InputFailed
    from migration.reports import render_html, render_json, render_terminal
    from migration.shadow import ShadowConfigError, load_shadow_config, run_shadow
    from toolkit.config.errors import ConfigError as PipelineConfigError

    try:
        config = load_shadow_config(config_path)
        result = run_shadow(config)
    except (ShadowConfigError, InputFailed, StartupError, PipelineConfigError, BadWarehouseURL,
            WarehouseUnavailable) as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    click.echo(f"legacy path: {result.legacy.summary()}")
    summary = result.pipeline_summary
    bad = ", ".join(f"{k} {v}" for k, v in sorted(summary.get("bad_by_type", {}).items()))
    click.echo(f"kafka path: pipeline exit {result.pipeline_exit}, in {summary.get('in')}, enriched "
               f"{summary.get('enriched')}, filtered {summary.get('filtered')}, bad {summary.get('bad')}"
               + (f" ({bad})" if bad else ""))
    click.echo(f"kafka path load: {result.kafka.summary()}")
    rec = result.reconciliation
    if config.json_path:
        write_file(config.json_path, render_json(rec), "JSON")
    if config.html_path:
        write_file(config.html_path, render_html(rec).encode(), "HTML")
    click.echo(render_terminal(rec, str(config.json_path) if config.json_path else None,
                               str(config.html_path) if config.html_path else None), nl=False)
    sys.exit(rec.exit_code)
