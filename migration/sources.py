"""Reconcile sources: where each side's events (and bad output) come from, and staging them for SQL.

A source is ``duckdb:PATH[?schema=S]``, a PostgreSQL URL (``?schema=S``), ``tsv:PATH``
or ``jsonl:PATH`` (a file or a directory of files, gzip too), or a lake: ``parquet:PATH_OR_GLOB``,
``delta:PATH`` or ``iceberg:PATH[?namespace=NS&table=NS.T&catalog=URI]`` (see
:mod:`connectors.warehouse.lakes.url`), which DuckDB scans in place, or a warehouse through SQLAlchemy,
``sql:URL[?schema=S&layout=wide|shredded]`` (see :mod:`migration.warehouses`). Any source can add
``bad=PATH`` for a side's bad output as Snowplow bad rows (JSON lines); a warehouse
source otherwise uses ``<schema>.bad_rows`` when it exists. Both sides end up
visible to one SQL engine: PostgreSQL itself when both live in one database, else an
embedded DuckDB that attaches DuckDB files and stages everything else.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from connectors.warehouse.backends import DuckDBBackend, PostgresBackend, WarehouseUnavailable
from connectors.warehouse.bad_rows import NotABadRow, parse_bad_row
from connectors.warehouse.columns import Dialect, literal, qualified, quote
from connectors.warehouse.lakes import LakeURL, is_lake_url, open_table, parse_lake_url
from connectors.warehouse.lakes.tables import LakeUnreadable
from connectors.warehouse.loader import Dedup, Warehouse
from connectors.warehouse.rows import Provenance
from connectors.warehouse.url import DEFAULT_SCHEMA, BadWarehouseURL, WarehouseURL, _redact, take_params
from migration.legacy import InputFailed, file_lines, legacy_load, tsv_files
from migration.reconcile.errors import ConfigError
from migration.reconcile.scope import Scope
from migration.reconcile.workspace import Side, SourceFailed, Workspace
from migration.warehouses.connection import SqlAlchemyBackend, SqlURL, parse_sql_url
from migration.warehouses.dialects import UnsupportedWarehouse
from migration.warehouses.layouts import SideTable, read_side

KINDS = ("duckdb", "postgres", "tsv", "jsonl", "parquet", "delta", "iceberg", "sql")
#: Problems quoted in a SourceFailed message; the count is always given.
QUOTED_PROBLEMS = 5


class BadSource(ValueError):
    """The source text itself is wrong (a usage error, not a failure while reading)."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: str
    target: str  # a path, or a libpq URL without our parameters
    schema: str = DEFAULT_SCHEMA
    bad: str | None = None
    lake: LakeURL | None = None  # parquet, delta and iceberg sources
    sql: SqlURL | None = None  # a warehouse through SQLAlchemy

    def __str__(self) -> str:
        if self.sql is not None:
            text = f"sql:{self.sql.redacted}" + (f" schema={self.schema}" if self.schema != DEFAULT_SCHEMA else "")
            return text + (f" layout={self.sql.layout}" if self.sql.layout else "") + (
                f" bad={self.bad}" if self.bad else "")
        if self.lake is not None:
            return str(self.lake) + (f" bad={self.bad}" if self.bad else "")
        if self.kind == "postgres":
            text = _redact(self.target) + (f" schema={self.schema}" if self.schema != DEFAULT_SCHEMA else "")
        else:
            text = f"{self.kind}:{self.target}" + (f"?schema={self.schema}" if self.schema != DEFAULT_SCHEMA else "")
        return text + (f" bad={self.bad}" if self.bad else "")


def parse_source(text: str) -> SourceSpec:
    if text.startswith("sql:"):
        try:
            sql = parse_sql_url(text)
        except ValueError as exc:
            raise BadSource(str(exc)) from None
        return SourceSpec("sql", sql.url, sql.schema, sql.bad, sql=sql)
    if text.startswith(("postgresql://", "postgres://")):
        ours, target = take_params(text, ("schema", "bad"))
        return SourceSpec("postgres", target, ours.get("schema", DEFAULT_SCHEMA), ours.get("bad"))
    if is_lake_url(text):
        try:
            lake, ours = parse_lake_url(text, frozenset({"bad"}))
        except BadWarehouseURL as exc:
            raise BadSource(str(exc)) from None
        return SourceSpec(lake.format, lake.path, bad=ours.get("bad"), lake=lake)
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("duckdb", "tsv", "jsonl"):
        raise BadSource(f"{text!r} is not a source: use duckdb:PATH, postgresql://..., tsv:PATH, jsonl:PATH, "
                        f"parquet:PATH_OR_GLOB, delta:PATH, iceberg:PATH or sql:SQLALCHEMY_URL "
                        f"(add ?bad=PATH for the side's bad rows)")
    path, params = rest, {}
    if "?" in rest:
        path, query = rest.rsplit("?", 1)
        params = dict(parse_qsl(query, keep_blank_values=True))
    allowed = {"schema", "bad"} if kind == "duckdb" else {"bad"}
    unknown = set(params) - allowed
    if unknown:
        raise BadSource(f"{text}: unknown parameter(s) {', '.join(sorted(unknown))}; {kind} sources take "
                        f"{', '.join(sorted(allowed))}")
    if not path:
        raise BadSource(f"{text}: the source needs a path")
    return SourceSpec(kind, path, params.get("schema", DEFAULT_SCHEMA), params.get("bad"))


# -- reading files ------------------------------------------------------------------------------------------------

#: what a directory given as a ``jsonl:`` source (or as ``bad=``) is read for; gzip or not is told by content
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")


def _files(path: str) -> list[Path]:
    root = Path(path)
    if root.is_dir():
        found = sorted(p for p in root.rglob("*")
                       if p.is_file() and p.name.removesuffix(".gz").endswith(JSON_LINES_SUFFIXES))
        if not found:
            raise SourceFailed(f"{path} holds no {' / '.join(JSON_LINES_SUFFIXES)} files (gzip or not)")
        return found
    if not root.exists():
        raise SourceFailed(f"{path} does not exist")
    return [root]


def read_lines(path: str) -> Iterator[tuple[str, int, bytes]]:
    """(file, line number, line) for every non-blank line of a JSON-lines file or directory.

    Files are read as ``legacy-load`` and the pipeline's file sources read them (gzip recognised by
    its magic bytes, not by a name an archive may have lost); a file that breaks mid-read raises
    SourceFailed.
    """
    for file in _files(path):
        try:
            for number, line in file_lines(file):
                yield str(file), number, line
        except InputFailed as exc:
            raise SourceFailed(str(exc)) from exc


def canonical_rows(path: str) -> Iterator[tuple[dict[str, Any], Provenance]]:
    problems: list[str] = []
    count = 0
    for file, number, line in read_lines(path):
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            count += 1
            problems.append(f"{file}:{number}: not JSON ({exc})")
            continue
        if not isinstance(row, dict):
            count += 1
            problems.append(f"{file}:{number}: a canonical row is a JSON object, got {type(row).__name__}")
            continue
        yield row, Provenance.file_line(file, number)
    if count:
        raise SourceFailed(_problem_text(f"jsonl:{path}", count, problems))


def _problem_text(source: str, count: int, problems: list[str]) -> str:
    quoted = "; ".join(problems[:QUOTED_PROBLEMS])
    more = f" (and {count - QUOTED_PROBLEMS} more)" if count > QUOTED_PROBLEMS else ""
    return f"{count} rows of {source} could not be read: {quoted}{more}"


def bad_records(path: str) -> Iterator[Any]:
    for file, number, line in read_lines(path):
        try:
            yield parse_bad_row(line.decode("utf-8", "replace"), Provenance.file_line(file, number))
        except NotABadRow as exc:
            raise SourceFailed(f"bad-row file {path}: {exc}") from exc


# -- the workspace ------------------------------------------------------------------------------------------------

class _DuckWorkspaceBuilder:
    """Attach or stage each side into one embedded DuckDB."""

    def __init__(self, memory_limit: str, scope: Scope | None = None) -> None:
        import duckdb

        self.scope = scope
        self.tmp = tempfile.TemporaryDirectory(prefix="sptk-reconcile-")
        con = duckdb.connect(":memory:")
        con.execute(f"SET temp_directory = {literal(self.tmp.name)}")
        try:
            con.execute(f"SET memory_limit = {literal(memory_limit)}")
        except duckdb.Error as exc:
            con.close()
            self.tmp.cleanup()
            raise ConfigError(f"--memory-limit {memory_limit!r} is not a memory size like 1GB or 512MB "
                              f"({str(exc).strip()})") from exc
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET parquet_metadata_cache = true")
        self.backend = DuckDBBackend(":memory:", connection=con)
        self.attached: dict[str, str] = {}

    def _attach(self, path: str) -> str:
        real = os.path.realpath(path)
        if real not in self.attached:
            if not Path(real).exists():
                raise SourceFailed(f"DuckDB file {path} does not exist")
            alias = f"src{len(self.attached)}"
            try:
                self.backend.attach(path, alias)
            except WarehouseUnavailable as exc:
                raise SourceFailed(str(exc)) from exc
            self.attached[real] = alias
        return self.attached[real]

    def _columns(self, catalog: str, schema: str, table: str) -> list[str]:
        return [r[0] for r in self.backend.query(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position", [catalog, schema, table])]

    def side(self, name: str, spec: SourceSpec) -> Side:
        stage_schema = f"_sptk_{name}"
        bad_relation = None
        storage_table = f"{stage_schema}.events"
        parquet = False
        if spec.kind == "duckdb":
            alias = self._attach(spec.target)
            relation = f"{alias}.{qualified(spec.schema, 'events')}"
            columns = self._columns(alias, spec.schema, "events")
            if not columns:
                raise SourceFailed(f"{spec}: there is no {spec.schema}.events table in {spec.target}")
            if not spec.bad and self._columns(alias, spec.schema, "bad_rows"):
                bad_relation = f"{alias}.{qualified(spec.schema, 'bad_rows')}"
            storage_table = f"{alias}.{spec.schema}.events"
        elif spec.lake is not None:
            relation, columns, bad_relation, parquet = self._scan_lake(name, spec, spec.lake)
            storage_table = None
        elif spec.sql is not None:
            relation, columns, bad_relation, storage_table = self._warehouse(name, spec, spec.sql)
        elif spec.kind == "postgres":
            relation, columns = self._copy_from_postgres(spec, stage_schema)
            if not spec.bad and self._columns("memory", stage_schema, "bad_rows"):
                bad_relation = qualified(stage_schema, "bad_rows")
        else:
            warehouse = self._stage_warehouse(stage_schema)
            if spec.kind == "jsonl":
                report = warehouse.load(canonical_rows(spec.target), Dedup.NONE)
                if report.rejected:
                    raise SourceFailed(_problem_text(str(spec), report.rejected, [str(p) for p in report.problems]))
            else:
                # An archive line that does not parse is what the legacy loader sent to bad rows: it becomes
                # this side's bad output, so its event reads as rejected, not missing.
                try:
                    legacy = legacy_load(tsv_files(spec.target), warehouse, Dedup.NONE)
                except InputFailed as exc:
                    raise SourceFailed(str(exc)) from exc
                if legacy.bad_rows_written:
                    bad_relation = qualified(stage_schema, "bad_rows")
            relation = qualified(stage_schema, "events")
            columns = self._columns("memory", stage_schema, "events")
        if spec.bad:
            bad_relation = self._stage_bad(spec.bad, stage_schema)
        return Side(name, str(spec), relation, columns, bad_relation, storage_table,
                    staged=spec.kind in ("jsonl", "tsv"), parquet=parquet)

    def _scan_lake(self, name: str, spec: SourceSpec, lake: LakeURL) -> tuple[str, list[str], str | None, bool]:
        """Views over the lake's tables: DuckDB reads the files where they are, nothing is staged."""
        con, view = self.backend.con, f"_sptk_{name}_events"
        try:
            source = open_table(lake, "events").scan(con, view)
            if source is None:
                raise SourceFailed(f"{spec}: no events table there (Parquet files, a Delta table or an Iceberg "
                                   f"table, as docs/reconciliation.md describes)")
            bad_view = f"_sptk_{name}_bad_rows"
            has_bad = not spec.bad and open_table(lake, "bad_rows").scan(con, bad_view)
        except LakeUnreadable as exc:
            raise SourceFailed(f"{spec}: {exc}") from exc
        columns = [r[0] for r in con.execute(f"DESCRIBE {quote(view)}").fetchall()]
        return quote(view), columns, quote(bad_view) if has_bad else None, source.startswith("read_parquet(")

    def _warehouse(self, name: str, spec: SourceSpec, sql: SqlURL) -> tuple[str, list[str], str | None, str | None]:
        """A sql: side compared with a side elsewhere: a DuckDB file is attached and read in place; PostgreSQL
        rebuilds the wide rows itself and streams that result (never its entity tables) into DuckDB."""
        if sql.backend_name == "duckdb":
            from sqlalchemy.engine import make_url

            alias = self._attach(make_url(sql.url).database or "")
            table = read_side(self.backend, spec.schema, sql.layout, catalog=alias)
            if table is None:
                raise SourceFailed(f"{spec}: there is no {spec.schema}.events table")
            bad = (f"{alias}.{qualified(spec.schema, 'bad_rows')}"
                   if not spec.bad and self._columns(alias, spec.schema, "bad_rows") else None)
            if table.select is None:
                return f"{alias}.{qualified(spec.schema, 'events')}", table.columns, bad, \
                    f"{alias}.{spec.schema}.events"
            view = f"_sptk_{name}_events"
            self.backend.execute(f"CREATE VIEW {quote(view)} AS {table.select}")
            return quote(view), table.columns, bad, None
        if sql.backend_name not in ("postgresql", "postgres"):
            raise SourceFailed(f"{spec}: a {sql.backend_name} side is compared inside that warehouse, so the other "
                               f"side must be a sql: URL to the same warehouse (a different schema= is fine)")
        stage_schema = f"_sptk_{name}"
        relation, columns = self._copy_from_postgres(spec, stage_schema, sql)
        bad = qualified(stage_schema, "bad_rows") if not spec.bad and self._columns(
            "memory", stage_schema, "bad_rows") else None
        return relation, columns, bad, None

    def _stage_warehouse(self, stage_schema: str) -> Warehouse:
        warehouse = Warehouse(WarehouseURL(Dialect.DUCKDB, ":memory:", stage_schema), self.backend)
        warehouse.ensure_tables()
        return warehouse

    def _stage_bad(self, path: str, stage_schema: str) -> str:
        self._stage_warehouse(stage_schema).load_bad_rows(list(bad_records(path)))
        return qualified(stage_schema, "bad_rows")

    def loaded(self, name: str, description: str, fill: Callable[[Warehouse], None]) -> Side:
        """A side sptk loads itself through ``fill`` (a Kafka topic for ``sptk audit``), staged as tsv: and jsonl:
        sides are; its bad rows (what ``fill`` wrote to the stage's ``bad_rows``) are the side's bad output."""
        stage_schema = f"_sptk_{name}"
        fill(self._stage_warehouse(stage_schema))
        bad = qualified(stage_schema, "bad_rows")
        has_bad = self.backend.query(f"SELECT count(*) FROM {bad}")[0][0] > 0
        return Side(name, description, qualified(stage_schema, "events"),
                    self._columns("memory", stage_schema, "events"), bad if has_bad else None,
                    f"{stage_schema}.events", staged=True)

    def _copy_from_postgres(self, spec: SourceSpec, stage_schema: str,
                            sql: SqlURL | None = None) -> tuple[str, list[str]]:
        """Stream a PostgreSQL side into DuckDB through CSV (COPY), for a comparison across databases.

        A sql: side is read in its layout: PostgreSQL rebuilds shredded entities as wide-row JSON columns.
        """
        try:
            source: PostgresBackend | SqlAlchemyBackend = SqlAlchemyBackend(sql) if sql else \
                PostgresBackend(spec.target)
        except WarehouseUnavailable as exc:
            raise SourceFailed(str(exc)) from exc
        driver = source.con.driver_connection if sql else source.con
        try:
            self.backend.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(stage_schema)}")
            for table in ("events", "bad_rows"):
                described = source.query(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = %s ORDER BY ordinal_position", [spec.schema, table])
                if not described:
                    if table == "events":
                        raise SourceFailed(f"{spec}: there is no {spec.schema}.events table")
                    continue
                types = {name: _duck_type(pg_type) for name, pg_type in described}
                names = ", ".join(quote(n) for n in types)
                select = f"SELECT {names} FROM {qualified(spec.schema, table)}"
                if sql and table == "events":
                    side = read_side(source, spec.schema, sql.layout)
                    if side is not None and side.select is not None:
                        types = {n: types.get(n, "JSON") for n in side.columns}
                        select = side.select
                if table == "events" and self.scope is not None and not self.scope.empty:
                    # only the scope crosses the wire; PostgreSQL pushes the predicate into the rebuilt rows' scan
                    select = f"SELECT * FROM ({select}) t WHERE {self.scope.predicate('t', types)}"
                path = Path(self.tmp.name) / f"{stage_schema}_{table}.csv"
                with open(path, "wb") as out, driver.cursor() as cur, cur.copy(
                    f"COPY ({select}) TO STDOUT (FORMAT csv, HEADER true)"
                ) as copy:
                    for chunk in copy:
                        out.write(chunk)
                spec_text = "{" + ", ".join(f"{literal(n)}: {literal(t)}" for n, t in types.items()) + "}"
                self.backend.execute(
                    f"CREATE TABLE {qualified(stage_schema, table)} AS SELECT * FROM read_csv({literal(str(path))}, "
                    f"header = true, columns = {spec_text})"
                )
                path.unlink()
        finally:
            source.close()
        return qualified(stage_schema, "events"), self._columns("memory", stage_schema, "events")

    def close(self) -> None:
        self.backend.close()
        self.tmp.cleanup()


def _duck_type(pg_type: str) -> str:
    return {"text": "VARCHAR", "character varying": "VARCHAR", "bigint": "BIGINT", "integer": "INTEGER",
            "double precision": "DOUBLE", "boolean": "BOOLEAN", "jsonb": "JSON", "json": "JSON",
            "timestamp without time zone": "TIMESTAMP", "timestamp with time zone": "TIMESTAMPTZ",
            "smallint": "SMALLINT", "real": "FLOAT", "numeric": "DOUBLE", "uuid": "VARCHAR"}.get(pg_type, "VARCHAR")


def _postgres_workspace(legacy: SourceSpec, new: SourceSpec) -> Workspace:
    """Both sides in one PostgreSQL database: compare right there, nothing is copied."""
    import psycopg

    try:
        backend = PostgresBackend(legacy.target)
    except WarehouseUnavailable as exc:
        raise SourceFailed(str(exc)) from exc
    sides = []
    try:
        for name, spec in (("legacy", legacy), ("new", new)):
            columns = backend.columns(spec.schema, "events")
            if not columns:
                raise SourceFailed(f"{spec}: there is no {spec.schema}.events table")
            bad_relation = None
            if spec.bad:
                stage = f"_sptk_bad_{name}"
                records = list(bad_records(spec.bad))
                backend.execute(f"DROP TABLE IF EXISTS {stage}")
                backend.execute(f"CREATE TEMP TABLE {stage} (event_id TEXT, bad_row_type TEXT)")
                with backend.con.cursor() as cur, cur.copy(f"COPY {stage} (event_id, bad_row_type) FROM STDIN") as cp:
                    for record in records:
                        cp.write_row([record.event_id, record.bad_row_type])
                bad_relation = stage
            elif backend.table_exists(spec.schema, "bad_rows"):
                bad_relation = qualified(spec.schema, "bad_rows")
            sides.append(Side(name, str(spec), qualified(spec.schema, "events"), columns, bad_relation))
    except psycopg.Error as exc:
        backend.close()
        raise SourceFailed(f"PostgreSQL at {_redact(legacy.target)} failed while the sides were opened: "
                           f"{_first_line(exc)}") from exc
    except BaseException:
        backend.close()
        raise
    workspace = Workspace(backend, sides[0], sides[1])
    workspace.on_close(backend.close)
    return workspace


def _sql_workspace(legacy: SourceSpec, new: SourceSpec) -> Workspace:
    """Both sides in one warehouse reached through SQLAlchemy: the whole comparison runs there.

    A side whose layout needs rebuilding (shredded, or renamed wide columns) becomes a temporary view.
    """
    assert legacy.sql is not None
    for spec in (legacy, new):
        if spec.bad:
            raise BadSource(f"{spec}: bad= files are staged into DuckDB; when both sides are in one warehouse, "
                            f"load the bad rows into <schema>.bad_rows there instead")
    try:
        backend = SqlAlchemyBackend(legacy.sql)
    except UnsupportedWarehouse as exc:
        raise BadSource(str(exc)) from None
    sides = []
    try:
        for name, spec in (("legacy", legacy), ("new", new)):
            table: SideTable | None = read_side(backend, spec.schema, spec.sql.layout if spec.sql else None)
            if table is None:
                raise SourceFailed(f"{spec}: there is no {spec.schema}.events table")
            relation = qualified(spec.schema, "events")
            if table.select is not None:
                relation = f"_sptk_{name}_events"
                backend.execute(f"CREATE TEMP VIEW {relation} AS {table.select}")
            bad = qualified(spec.schema, "bad_rows") if backend.table_exists(spec.schema, "bad_rows") else None
            sides.append(Side(name, str(spec), relation, table.columns, bad))
    except BaseException:
        backend.close()
        raise
    workspace = Workspace(backend, sides[0], sides[1])
    workspace.on_close(backend.close)
    return workspace


def _first_line(exc: BaseException) -> str:
    """A database error in one line: PostgreSQL appends the statement and a caret, which say nothing to a user."""
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]


def _side(builder: _DuckWorkspaceBuilder, name: str, spec: SourceSpec) -> Side:
    """One side staged or attached; a database error while doing so is that side's failure, with its name."""
    import duckdb
    import psycopg

    try:
        return builder.side(name, spec)
    except (duckdb.Error, psycopg.Error, OSError) as exc:
        raise SourceFailed(f"the {name} side {spec} could not be read: {_first_line(exc)}") from exc


def open_workspace(legacy: SourceSpec, new: SourceSpec, memory_limit: str = "1GB",
                   on_step: Callable[[str], None] | None = None, scope: Scope | None = None) -> Workspace:
    """Make both sides visible to one SQL engine; raise SourceFailed (with the reason) when a side cannot be read.

    ``on_step`` is told as each side starts being read (staging a file or copying a table takes a while).
    ``scope`` limits what a PostgreSQL side (``postgresql://`` or ``sql:postgresql...``) copies into DuckDB; the
    engine applies it to every scan anyway, in whichever engine the comparison runs.
    """
    if legacy.kind == new.kind == "postgres" and legacy.target == new.target:
        if on_step:
            on_step(f"opening both sides in PostgreSQL ({_redact(legacy.target)})")
        return _postgres_workspace(legacy, new)
    if legacy.kind == new.kind == "sql" and legacy.target == new.target:
        if on_step:
            on_step(f"opening both sides in the warehouse ({legacy.sql.redacted if legacy.sql else ''})")
        return _sql_workspace(legacy, new)
    builder = _DuckWorkspaceBuilder(memory_limit, scope)
    try:
        sides = []
        for name, spec in (("legacy", legacy), ("new", new)):
            if on_step:
                on_step(f"reading the {name} side ({spec})")
            sides.append(_side(builder, name, spec))
        workspace = Workspace(builder.backend, sides[0], sides[1])
    except BaseException:
        builder.close()
        raise
    workspace.on_close(builder.close)
    return workspace


@contextmanager
def open_source(spec: SourceSpec, memory_limit: str = "1GB") -> Iterator[tuple[Any, Side]]:
    """One source alone, visible to SQL as reconcile sees a side: ``(backend, side)``, closed on exit."""
    builder = _DuckWorkspaceBuilder(memory_limit)
    try:
        yield builder.backend, _side(builder, "source", spec)
    finally:
        builder.close()


@contextmanager
def open_loaded(description: str, fill: Callable[[Warehouse], None],
                memory_limit: str = "1GB") -> Iterator[tuple[Any, Side]]:
    """A source only sptk can load (``fill`` writes it into a staging warehouse), then seen as :func:`open_source`
    sees one: in the embedded DuckDB, which spills to its temporary folder past ``memory_limit``."""
    builder = _DuckWorkspaceBuilder(memory_limit)
    try:
        yield builder.backend, builder.loaded("source", description, fill)
    finally:
        builder.close()
