"""The composition root of the ``sptk`` console script.

Each package owns its own click group; this module only names them. Groups are
imported lazily by dotted path when a user calls them, so ``sptk --help`` stays
fast and ``toolkit`` never imports ``connectors`` or ``migration`` at module level
(the package direction rule in docs/architecture.md; see docs/adr/0002).

The root group is also where the shared error convention is enforced (docs/cli.md,
docs/adr/0006): whatever a command did not handle ends as one line and exit 3, never a
traceback, so no group has to remember to guard itself.
"""

from __future__ import annotations

import importlib

import click

from toolkit import signals
from toolkit.cli.conventions import unexpected

#: commands that drain on SIGTERM (the sidecar runtime handles their signals): the root holds stop signals for
#: them from the start, so one that arrives while they import and read their config is a graceful stop too
DRAINING_COMMANDS = frozenset({("pipeline", "run"), ("pipeline", "replay-bad"), ("migrate", "kafka-load"),
                               ("sink", "http"), ("micro",)})

#: subcommand name -> "module:attribute" of the click group that implements it.
GROUPS: dict[str, tuple[str, str]] = {
    "audit": ("migration.audit_cli:audit", "Discovery: what an event estate holds, before a migration plan."),
    "config": ("toolkit.cli.config:config", "Check a pipeline config; print its JSON Schema for editors."),
    "event": ("toolkit.cli.event:event", "Parse enriched TSV, convert it to JSON profiles and back."),
    "iglu": ("toolkit.cli.iglu:iglu", "Resolve, validate, lint and check Iglu schemas; serve a registry."),
    "pipeline": ("connectors.cli:pipeline", "Run the fan-out pipeline (raw/enriched/derived/bad)."),
    "topics": ("toolkit.cli.topics:topics", "Plan and apply the declared Kafka topics."),
    "reconcile": ("migration.cli:reconcile", "Compare the legacy and the Kafka path and give a verdict."),
    "micro": ("connectors.micro.cli:micro", "A local Snowplow Micro: the collector, the pipeline and Micro's API."),
    "migrate": ("migration.cli:migrate", "Load the legacy and Kafka paths into a warehouse; shadow runs."),
    "sink": ("connectors.sinks.cli:sink", "Deliver enriched or derived topics to an HTTP/CDP endpoint."),
    "privacy": ("connectors.privacy.cli:privacy", "Serve data subject requests (forget) and retention, audited."),
    "monitor": ("migration.monitor_cli:monitor", "Alert rules and dashboard from the SLOs; volume anomalies."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(GROUPS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = GROUPS.get(cmd_name)
        if entry is None:
            return None
        target, _ = entry
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                            list[str]]:
        # ``args`` is the rest of the command line, group name first, and the group is not imported yet
        draining = tuple(args[:2]) in DRAINING_COMMANDS or tuple(args[:1]) in DRAINING_COMMANDS
        if draining and "--help" not in args and "-h" not in args:
            signals.hold()
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click shows these itself, with their exit codes
        except BrokenPipeError:
            raise  # the reader went away (`| head`): click closes quietly
        except (Exception, KeyboardInterrupt) as exc:
            raise unexpected(exc, ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from GROUPS so listing groups imports nothing heavy.
        rows = [(name, GROUPS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group("sptk", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="snowplow-kafka-toolkit", prog_name="sptk")
def main() -> None:
    """snowplow-kafka-toolkit: move a Snowplow pipeline onto Kafka and prove nothing was lost."""
