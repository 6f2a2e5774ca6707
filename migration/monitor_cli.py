"""``sptk monitor volume``, added to the ``monitor`` group of :mod:`connectors.monitoring.cli`.

Volume reads reconcile's sources (``migration.sources``), which ``connectors`` may not
import, so the group is completed here and the root names this module.
"""

from __future__ import annotations

import sys

import click

from connectors.monitoring.cli import monitor
from toolkit.cli.conventions import CommandFailed, Exit, emit, json_option

__all__ = ["monitor"]


@monitor.command("volume")
@click.option("--source", "source_text", required=True, metavar="SRC",
              help="What reconcile reads: duckdb:PATH, postgresql://..., tsv:PATH, jsonl:PATH.")
@click.option("--window", default="1h", show_default=True, help="Width of one counted window (divides a week).")
@click.option("--baseline", default="28d", show_default=True,
              help="How far back the same hour of the week is looked for (at least 21d).")
@click.option("--by", default="", metavar="COL,COL", help="Count per key, e.g. app_id,event_name.")
@click.option("--threshold", default=4.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="|score| from which a window is anomalous (a robust z-score: median and MAD).")
@click.option("--memory-limit", default="1GB", show_default=True, help="Memory the embedded DuckDB engine may use.")
@json_option("the anomaly report")
def volume_command(source_text: str, window: str, baseline: str, by: str, threshold: float, memory_limit: str,
                   json_to: str | None) -> None:
    """Drops and spikes in record counts against the same hour of the week.

    Exit codes: 0 every window normal; 1 an anomalous window; 2 a usage error; 3 the source could not be read.
    """
    from connectors.sidecar.volume import BadWindow
    from migration.reconcile.config import ConfigError, parse_duration
    from migration.reconcile.workspace import SourceFailed
    from migration.sources import BadSource, parse_source
    from migration.volume import UnknownColumn, volume

    columns = tuple(c.strip() for c in by.split(",") if c.strip())
    try:
        spec = parse_source(source_text)
        window_s, baseline_s = parse_duration(window) // 1_000_000, parse_duration(baseline) // 1_000_000
        report = volume(spec, window_s, baseline_s, columns, threshold, memory_limit)
    except (BadSource, ConfigError, BadWindow, UnknownColumn) as exc:
        raise CommandFailed(str(exc), Exit.USAGE) from None
    except SourceFailed as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    emit(json_to, report.to_json(), report.text())
    sys.exit(Exit.FOUND if report.anomalies else Exit.OK)
