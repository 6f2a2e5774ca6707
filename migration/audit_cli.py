"""``sptk audit``: the discovery report over any source ``sptk reconcile`` reads, or a Kafka topic.

Exit codes (docs/cli.md): 0 the report was made (what it found is its content: a discovery report is read,
not gated on); 2 a usage error (a bad source, an unusable resolver, governance or rules file, a report that
cannot be written); 3 the source could not be read (a broker or a warehouse did not answer, a file broke).
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from toolkit.cli.conventions import CommandFailed, Exit, emit, json_option, write_file

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("audit")
@click.option("--source", "source_text", required=True, metavar="SRC",
              help="What reconcile reads (duckdb:PATH, postgresql://..., tsv:PATH, jsonl:PATH, parquet:GLOB, "
                   "delta:PATH, iceberg:PATH, sql:URL; ?bad=PATH for bad rows) or kafka:BOOTSTRAP/TOPIC[?bad=TOPIC].")
@click.option("--resolver", "resolver_path", type=FILE, default=None,
              help="Snowplow resolver config: check the schemas used against its registries.")
@click.option("--governance", "governance_path", type=FILE, default=None,
              help="Governance file (YAML): flag the deprecated schemas still used.")
@click.option("--rules", "rules_path", type=FILE, default=None,
              help="Naming rules (YAML: vendor, schema_name, app_id, platform); defaults in docs/audit.md.")
@json_option("the report (format sptk-audit/1)")
@click.option("--html", "html_path", default=None, metavar="FILE", help="Write the HTML report here.")
@click.option("--memory-limit", default="1GB", show_default=True, help="Memory the embedded DuckDB engine may use.")
def audit(source_text: str, resolver_path: Path | None, governance_path: Path | None, rules_path: Path | None,
          json_to: str | None, html_path: str | None, memory_limit: str) -> None:
    """What an event estate holds: event types, apps, trackers, entities, fill rates, schemas, naming, bad rows,
    duplicates.

    Exit codes: 0 the report was made; 2 a usage error; 3 the source could not be read.
    """
    from migration.audit.run import AuditUsage, run_audit
    from migration.reconcile.errors import ConfigError
    from migration.reconcile.workspace import SourceFailed
    from migration.reports.audit_html import render_audit_html
    from migration.reports.audit_terminal import render_audit_terminal
    from migration.sources import BadSource

    def step(text: str) -> None:
        click.echo(f"audit: {text}", err=True)

    try:
        doc = run_audit(source_text, resolver_path=resolver_path, governance_path=governance_path,
                        rules_path=rules_path, memory_limit=memory_limit, on_step=step)
    except (AuditUsage, BadSource, ConfigError) as exc:
        raise CommandFailed(str(exc), Exit.USAGE) from None
    except SourceFailed as exc:
        raise CommandFailed(str(exc), Exit.UNDECIDED) from None
    if html_path:
        write_file(html_path, render_audit_html(doc).encode(), "HTML")
    document = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    shown = None if json_to in (None, "-") else json_to
    emit(json_to, document, render_audit_terminal(doc, shown, html_path))
