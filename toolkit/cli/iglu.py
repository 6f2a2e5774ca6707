"""`sptk iglu`: resolve, validate, lint, compat, check, serve.

It lives in ``toolkit``, not in ``iglu_registry``, so that it shares the conventions of every
other group (docs/adr/0006). Exit codes (docs/cli.md): 0 fine, 1 the schemas or data have
problems (lint errors, a bump too small, invalid data, schema not found), 2 the command line or
an input must change (bad arguments, unreadable files, a bad resolver config, a git ref that
does not exist, a port that cannot be had), 3 a registry could not answer (retrying can help).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from iglu_registry.check import CheckError, check_repository
from iglu_registry.compat import CompatReport, Effect, compare_schemas
from iglu_registry.errors import ResolutionError
from iglu_registry.governance import DEFAULT_FILE, Governance, GovernanceError, load_governance
from iglu_registry.http_server import ServerLimits
from iglu_registry.layout import read_json
from iglu_registry.lint import CHECK_NAMES, Severity, lint_directory, unknown_checks
from iglu_registry.resolver import Resolver
from iglu_registry.resolver_config import ResolverConfigError
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey
from iglu_registry.validation import SchemaValidator, validation_error_json
from toolkit.cli.conventions import CommandFailed, Exit, emit, json_option


def _skip_set(skip: str) -> frozenset[str]:
    names = frozenset(s.strip() for s in skip.split(",") if s.strip())
    bad = unknown_checks(names)
    if bad:
        raise CommandFailed(f"unknown check(s) {', '.join(bad)}; known checks: {', '.join(CHECK_NAMES)}")
    return names


def _resolver(path: Path) -> Resolver:
    try:
        return Resolver.from_config(path)
    except ResolverConfigError as exc:
        raise CommandFailed(str(exc)) from None


def _not_resolved(error: ResolutionError) -> CommandFailed:
    """Not found is a finding (1); a registry that could not answer is 3, since retrying can help."""
    click.echo(json.dumps(error.to_json(), indent=2))
    return CommandFailed(error.message, Exit.UNDECIDED if error.retryable else Exit.FOUND)


@click.group()
def iglu() -> None:
    """Iglu schemas: resolve, validate, lint, compatibility checks, and a registry server."""


@iglu.command()
@click.argument("directory", type=click.Path(exists=True, path_type=Path))
@click.option("--skip-checks", default="", help=f"Comma-separated checks to skip: {', '.join(CHECK_NAMES)}.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@json_option("the issues")
def lint(directory: Path, skip_checks: str, strict: bool, json_to: str | None) -> None:
    """Lint every schema under DIRECTORY (a registry root, its schemas/ folder, or one file)."""
    issues = lint_directory(directory, _skip_set(skip_checks))
    errors = [i for i in issues if i.severity is Severity.ERROR]
    text = [str(issue) for issue in issues] + [f"lint: {len(errors)} error(s), {len(issues) - len(errors)} warning(s)"]
    emit(json_to, json.dumps([i.to_json() for i in issues], indent=2), "\n".join(text))
    sys.exit(Exit.FOUND if errors or (strict and issues) else Exit.OK)


def _compat_text(report: CompatReport) -> str:
    old = report.old_key.uri if report.old_key else "OLD"
    new = str(report.new_key.version) if report.new_key else "NEW"
    meaning = {Effect.NONE: "every instance valid under the old version stays valid",
               Effect.SOME: "some data valid under the old version is rejected",
               Effect.ALL: "no data the old version describes stays valid"}
    worst = max((c.effect for c in report.changes), default=Effect.NONE)
    lines = [f"{old} -> {new}", f"classification: {report.required.name} ({meaning[worst]})"]
    lines += [f"  {change.effect.bump.name:<9} {change.path} [{change.keyword}] {change.reason}"
              for change in report.changes]
    if report.actual is not None:
        lines.append(f"version bump: {report.actual.name}")
    if report.problem:
        lines.append(f"FAIL: {report.problem}")
    return "\n".join(lines)


@iglu.command()
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option("the report")
def compat(old: Path, new: Path, json_to: str | None) -> None:
    """Classify the change from schema file OLD to NEW by its effect on data; exit 1 if the bump is too small."""
    try:
        old_schema, new_schema = read_json(old), read_json(new)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    if not isinstance(old_schema, dict) or not isinstance(new_schema, dict):
        raise CommandFailed("both OLD and NEW must be JSON schema objects")
    report = compare_schemas(old_schema, new_schema)
    emit(json_to, json.dumps(report.to_json(), indent=2), _compat_text(report))
    sys.exit(Exit.FOUND if report.problem else Exit.OK)


@iglu.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--against", "against", metavar="GIT_REF", help="Only new or changed schemas since this git ref "
              "(e.g. origin/main); published versions there must not change.")
@click.option("--skip-checks", default="", help="Comma-separated lint checks to skip.")
@click.option("--strict", is_flag=True, help="Fail on lint warnings too.")
@click.option("--governance", "governance_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Owners and deprecations (YAML) [default: DIRECTORY/{DEFAULT_FILE} when it exists]; with it every "
                   "new or changed schema needs an owner.")
@json_option("the report")
def check(directory: Path, against: str | None, skip_checks: str, strict: bool, governance_path: Path | None,
          json_to: str | None) -> None:
    """CI gate: lint + compat for new/changed schemas, no overwritten versions, no numbering gaps, an owner each."""
    governance = _governance(governance_path, directory)
    try:
        report = check_repository(directory, against, _skip_set(skip_checks), governance)
    except CheckError as exc:
        raise CommandFailed(str(exc)) from None
    text = [f"compat {item.old_key.uri} -> {item.new_key.version}: {item.required.name} "
            f"(bump {item.actual.name if item.actual else '?'}) {'FAIL' if item.problem else 'ok'}"
            for item in report.compat if item.old_key and item.new_key]
    text += [str(issue) for issue in report.issues]
    text += [f"approval: {a.schema} owned by {', '.join(a.owners)}, approve: {', '.join(a.approvers)}"
             for a in report.approvals]
    approvers = sorted({name for a in report.approvals for name in a.approvers})
    text.append(f"check: {len(report.checked)} schema(s) checked, {len(report.errors)} error(s), "
                f"{len(report.issues) - len(report.errors)} warning(s)"
                + (f"; approval needed from {', '.join(approvers)}" if approvers else ""))
    emit(json_to, json.dumps(report.to_json(), indent=2), "\n".join(text))
    sys.exit(Exit.OK if report.ok(strict) else Exit.FOUND)


@iglu.command()
@click.option("--governance", "governance_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The governance file (YAML) whose deprecations to list.")
@click.option("--source", default=None, metavar="SRC", help="Count live usage in a warehouse: duckdb:PATH"
              "[?schema=NAME] or parquet:GLOB (the events table's event_vendor/name/format/version).")
@json_option("the deprecations")
def deprecations(governance_path: Path, source: str | None, json_to: str | None) -> None:
    """List deprecated schemas, their dates and replacement, and (with --source) how many events still use them."""
    from toolkit.cli.schema_usage import UsageSourceError, schema_usage

    governance = _governance(governance_path)
    assert governance is not None
    usage = []
    if source is not None:
        try:
            usage = schema_usage(source)
        except UsageSourceError as exc:
            raise CommandFailed(str(exc)) from None
    rows = []
    text = []
    for d in governance.deprecations:
        live = [u for u in usage if d.criterion.matches(u.key)]
        row = {**d.to_json(), "events": sum(u.events for u in live) if source else None,
               "last_seen": max((u.last_seen for u in live), default=None),
               "versions": {u.key.uri: u.events for u in live}}
        rows.append(row)
        line = f"{d.criterion.uri}: {d.describe()}"
        if source is not None:
            line += f"; {row['events']} event(s) in {source}" + (f", last {row['last_seen']}" if live else "")
        text.append(line)
    text.append(f"{len(rows)} deprecated schema(s)")
    emit(json_to, json.dumps({"source": source, "deprecations": rows}, indent=2), "\n".join(text))


def _governance(path: Path | None, directory: Path | None = None) -> Governance | None:
    """The governance file named, else ``DIRECTORY/governance.yml`` if present, else none (exit 2 if unusable)."""
    if path is None and directory is not None and (directory / DEFAULT_FILE).is_file():
        path = directory / DEFAULT_FILE
    if path is None:
        return None
    try:
        return load_governance(path)
    except GovernanceError as exc:
        raise CommandFailed(str(exc)) from None


@iglu.command()
@click.argument("uri")
@click.option("--resolver", "resolver_path", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Snowplow resolver-config file (JSON or HOCON).")
def resolve(uri: str, resolver_path: Path) -> None:
    """Print the schema for URI as the resolver finds it (exit 1 not found, 3 registry unreachable)."""
    try:
        key = SchemaKey.parse(uri)
    except InvalidSchemaKey as exc:
        raise CommandFailed(str(exc)) from None
    result = _resolver(resolver_path).lookup(key)
    if isinstance(result, ResolutionError):
        raise _not_resolved(result)
    click.echo(json.dumps(result.schema, indent=2))
    click.echo(f"resolved {key.uri} from {result.repository}", err=True)


@iglu.command()
@click.argument("uri")
@click.option("--data", "data", required=True, help="The data as JSON, or @FILE to read it from a file.")
@click.option("--resolver", "resolver_path", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Snowplow resolver-config file (JSON or HOCON).")
def validate(uri: str, data: str, resolver_path: Path) -> None:
    """Validate DATA against the schema URI; print Snowplow-style data reports (exit 1 invalid, 3 no registry)."""
    try:
        key = SchemaKey.parse(uri)
    except InvalidSchemaKey as exc:
        raise CommandFailed(str(exc)) from None
    text = data
    if data.startswith("@"):
        try:
            text = Path(data[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandFailed(f"cannot read {data[1:]}: {exc.strerror}") from None
    try:
        instance = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"--data is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    validator = SchemaValidator(_resolver(resolver_path))
    result = validator.validate(key, instance)
    if isinstance(result, ResolutionError):
        raise _not_resolved(result)
    if result:
        click.echo(json.dumps(validation_error_json(result, validator.superseded_by(key)), indent=2))
        click.echo(f"invalid: {len(result)} problem(s) against {key.uri}", err=True)
        sys.exit(Exit.FOUND)
    click.echo(f"valid against {key.uri}")


def _stop(signum: int, frame: object) -> None:
    """SIGTERM stops the server the same way Ctrl-C does: finish, close the socket, exit 0."""
    raise KeyboardInterrupt


@iglu.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--port", default=8080, show_default=True, help="TCP port (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--api-key", envvar="SPTK_IGLU_API_KEY", default=None,
              help="API key that publishing requires (env SPTK_IGLU_API_KEY); without it the registry is read-only.")
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@click.option("--request-timeout", type=click.FloatRange(min=0.001), default=ServerLimits.request_timeout_s,
              show_default=True, help="Seconds a client has to send a whole request; slower ones are disconnected.")
@click.option("--max-connections", type=click.IntRange(min=1), default=ServerLimits.max_connections,
              show_default=True, help="Connections served at once (one thread each); more wait their turn.")
def serve(directory: Path, port: int, host: str, api_key: str | None, access_log: bool, request_timeout: float,
          max_connections: int) -> None:
    """Serve DIRECTORY (a registry root holding schemas/) as an Iglu Server and static repository."""
    from iglu_registry.server import make_server

    limits = ServerLimits(request_timeout_s=request_timeout, max_connections=max_connections)
    try:
        server = make_server(directory, host, port, api_key, quiet=not access_log, limits=limits)
    except OSError as exc:  # the operator chose the port: a usage error, as in `pipeline run` (docs/cli.md)
        raise CommandFailed(f"cannot listen on {host}:{port}: {exc.strerror}; the port is --port") from None
    store = server.store  # type: ignore[attr-defined]
    for problem in store.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"serving {len(store.schemas)} schemas from {directory} at http://{bound_host}:{bound_port} "
               f"(Iglu Server API under /api, static under /schemas; publishing "
               f"{'enabled' if api_key else 'disabled'})", nl=True)
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
