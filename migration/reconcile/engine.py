"""The reconciliation engine: plans in Python, pushes the heavy lifting down as SQL.

Order of work, so large tables stay cheap: (1) per-window row counts and
checksums on each side; (2) a key-level full outer join only over windows whose
checksums differ; (3) duplicates, per-type counts and key metrics as single
grouped passes. Python only ever holds aggregates and small samples.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from connectors.warehouse.backends import DuckDBBackend
from connectors.warehouse.columns import quote
from migration.reconcile.config import ReconcileConfig, format_duration
from migration.reconcile.entity_fields import differing_fields
from migration.reconcile.metrics import MetricSql, judge
from migration.reconcile.plan import EVENT_TYPE_COLUMNS, MissingColumns, plan_columns
from migration.reconcile.result import (
    BUCKETS,
    Bucket,
    Freshness,
    Reconciliation,
    SideTotals,
    TypeResult,
    WindowResult,
)
from migration.reconcile.scope import Scope
from migration.reconcile.sql import DIFF, FINDINGS, WINDOWS, Sql, literal
from migration.reconcile.verdict import decide, type_status
from migration.reconcile.workspace import Side, SourceFailed, Workspace

EPOCH = datetime(1970, 1, 1)
KEY_ORDER_IDS = "_sptk_same_json"
#: Up to this many differing windows are filtered as time ranges; more go through a temp table.
MAX_RANGES = 2000
#: How many modified events the report shows with both sides' values.
MODIFIED_VALUES = 5
TEMP_TABLES = (KEY_ORDER_IDS, FINDINGS, DIFF, WINDOWS)
#: The scoped view of a side (``_sptk_scoped_legacy``): every scan of that side reads through it.
SCOPED_VIEW = "_sptk_scoped_{}"


#: What DuckDB prints after a memory size (``current_setting('memory_limit')`` is ``953.6 MiB``).
MEMORY_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
                "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
#: Bytes of quantile state per row: each delay (8 bytes) kept three times (p50, p95, p99), and again for the
#: figure over the whole scope.
QUANTILE_BYTES_PER_ROW = 48


def quantiles_fit(rows: int, memory_limit: int) -> bool:
    """Whether in-memory quantiles of ``rows`` delays leave room under the limit; else they are read off a sort."""
    return rows * QUANTILE_BYTES_PER_ROW < memory_limit * 0.6


def _database_errors() -> tuple[type[BaseException], ...]:
    import duckdb
    import psycopg

    return (duckdb.Error, psycopg.Error, OSError, SourceFailed, MissingColumns)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def _text(value: Any) -> str | None:
    """A compared value as the report shows it (timestamps as ISO-8601, JSON as its text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | dict):  # JSON a driver decoded (PostgreSQL's jsonb): its compact text, as DuckDB's
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return iso(value) if isinstance(value, datetime) else str(value)


def _sql_tstamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _from_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def settings_of(config: ReconcileConfig) -> dict[str, object]:
    metrics = config.metric_specs()
    return {
        "window": format_duration(config.window_us),
        "lookback": format_duration(config.lookback_us),
        "rules": config.rules.describe(),
        "tolerances": {m.name: m.tolerance.fail for m in metrics},
        "metrics": {m.name: m.describe() for m in metrics},
        "scope": None if config.scope is None or config.scope.empty else config.scope.describe(),
        "freshness": config.freshness.describe(),
        "type_tolerance": config.type_tolerance,
        "fail_on": sorted(config.fail_on),
        "ignore_columns": sorted(config.ignore_columns),
        "sample_size": config.sample_size,
    }


def _no_steps(step: str) -> None:
    pass


def reconcile(workspace: Workspace, config: ReconcileConfig,
              on_step: Callable[[str], None] = _no_steps) -> Reconciliation:
    """Compare the two sides of ``workspace``; never raises for a source failure (the verdict is undecided).

    ``on_step`` is told the name of each stage as it starts, for a progress display.
    """
    rec = Reconciliation(workspace.legacy.description, workspace.new.description, settings_of(config))
    try:
        _Run(workspace, config, rec, on_step).run()
    except _database_errors() as exc:
        rec.error = f"a source failed mid-run, so no verdict can be trusted: {str(exc).strip()}"
    rec.verdict, rec.reasons = decide(rec, config)
    return rec


def failed(legacy: str, new: str, config: ReconcileConfig, error: str) -> Reconciliation:
    """The result for a reconciliation whose sources could not even be opened."""
    rec = Reconciliation(legacy, new, settings_of(config), error=error)
    rec.verdict, rec.reasons = decide(rec, config)
    return rec


def scope_workspace(workspace: Workspace, scope: Scope) -> Workspace:
    """The workspace with each side read through a temporary view of the scope; the optimiser inlines the view,
    so the predicate reaches each scan (DuckDB: the read_parquet filters and hive partition pruning)."""
    if scope.empty:
        return workspace
    sides = []
    for side in (workspace.legacy, workspace.new):
        view = SCOPED_VIEW.format(side.name)
        workspace.backend.execute(f"DROP VIEW IF EXISTS {view}")
        workspace.backend.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM {side.relation} t "
                                  f"WHERE {scope.predicate('t', side.columns)}")
        sides.append(replace(side, relation=view))
    return replace(workspace, legacy=sides[0], new=sides[1])


class _Run:
    def __init__(self, workspace: Workspace, config: ReconcileConfig, rec: Reconciliation,
                 on_step: Callable[[str], None] = _no_steps) -> None:
        self.step = on_step
        self.ws = workspace
        self.config = config
        self.rec = rec
        self.db = workspace.backend
        self.plan = plan_columns(workspace.legacy.columns, workspace.new.columns, config.ignore_columns)
        self.sql = Sql(self.db.dialect, config.rules, config.window_us, self.plan,
                       transpiled_to=self.db.transpiled_to)
        self.freshness: list[dict[int | None, Freshness]] = [{}, {}]

    def q(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.db.query(sql, params)

    def run(self) -> None:
        rec, ws, sql = self.rec, self.ws, self.sql
        rec.columns_compared = len(self.plan.compared)
        rec.columns_only_in_legacy, rec.columns_only_in_new = self.plan.only_in_legacy, self.plan.only_in_new
        for table in TEMP_TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")
        if self.config.scope is not None:
            self.ws = ws = scope_workspace(ws, self.config.scope)
        self.sql = sql = replace(sql, active=self._columns_with_values())
        passes = []
        for side in (ws.legacy, ws.new):
            self.step(f"counting and checksumming the {side.name} side per window")
            passes.append(self._side_pass(side.relation, side is ws.legacy))
        windows = [p[0] for p in passes]
        latest = [p[2] for p in passes]
        as_of = self.config.as_of or max((t for t in latest if t is not None), default=None)
        if as_of is None:  # both sides empty
            rec.legacy = SideTotals(0, 0, 0, 0, None)
            rec.new = SideTotals(0, 0, 0, 0, None)
            return
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
        cutoff = as_of - timedelta(microseconds=self.config.lookback_us)
        rec.as_of, rec.cutoff = iso(as_of), iso(cutoff)
        cut = _sql_tstamp(cutoff)
        rec.legacy, rec.new = (SideTotals(t[0], t[1], t[2], t[3], iso(last)) for (_, _, last, t) in passes)
        self.sql = sql = replace(sql, unique=(rec.legacy.rows == rec.legacy.event_ids,
                                              rec.new.rows == rec.new.event_ids))
        self.step("parity metrics")
        settled = f"t.collector_tstamp <= {sql.tstamp(cut)}"
        renderers = [(MetricSql(sql.duck, frozenset(side.columns), unique, sql.transpiled_to), side, other)
                     for side, other, unique in ((ws.legacy, ws.new, sql.unique[0]),
                                                 (ws.new, ws.legacy, sql.unique[1]))]
        rec.metrics = [judge(spec, *(self.q(r.query(spec, side.relation, settled, other.bad_relation))
                                     for r, side, other in renderers)) for spec in self.config.metric_specs()]
        self.step("freshness (load_tstamp - collector_tstamp)")
        self.freshness = [self._freshness(side) for side in (ws.legacy, ws.new)]
        rec.freshness = {side.name: f.get(None) for side, f in zip((ws.legacy, ws.new), self.freshness, strict=True)}
        self.type_counts = [p[1] for p in passes]
        differing = sorted(w for w in set(windows[0]) | set(windows[1]) if windows[0].get(w) != windows[1].get(w))
        rec.windows_diffed = len(differing)
        by_window: dict[int, dict[str, int]] = defaultdict(dict)
        by_type: dict[tuple[Any, ...], dict[str, int]] = defaultdict(dict)
        if differing:
            self.step(f"key-level diff of the {len(differing)} windows that differ")
            self._diff(differing, cut)
            self._collect(by_window, by_type)
        self.step("bad rows, windows and event types")
        rec.bad_rows = {side.name: dict(self.q(sql.bad_counts(side.bad_relation))) if side.bad_relation else {}
                        for side in (ws.legacy, ws.new)}
        rec.windows = self._window_results(windows, by_window, cutoff)
        rec.by_event_type = self._type_results(by_type)
        for table in TEMP_TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")
        for side in (ws.legacy, ws.new):
            if side.relation == SCOPED_VIEW.format(side.name):
                self.db.execute(f"DROP VIEW IF EXISTS {side.relation}")

    def _freshness(self, side: Side) -> dict[int | None, Freshness]:
        """Quantiles per window (key None: the whole scope); empty when the side has no load_tstamp of its own."""
        if "load_tstamp" not in side.columns or side.staged:
            return {}
        totals = self.rec.legacy if side.name == "legacy" else self.rec.new
        limit = self._duckdb_memory_limit()
        in_memory = limit is None or totals is None or quantiles_fit(totals.rows, limit)
        return {None if w is None else int(w): Freshness.of_micros(p50, p95, p99)
                for w, p50, p95, p99 in self.q(self.sql.freshness(side.relation, in_memory)) if p50 is not None}

    def _duckdb_memory_limit(self) -> int | None:
        """The embedded DuckDB's memory limit in bytes (None: another engine, which sorts and spills itself)."""
        if not isinstance(self.db, DuckDBBackend):
            return None
        number, _, unit = str(self.q("SELECT current_setting('memory_limit')")[0][0]).partition(" ")
        try:
            return int(float(number) * MEMORY_UNITS[unit])
        except (ValueError, KeyError):  # a form this version of DuckDB did not print: keep the in-memory quantiles
            return None

    def _side_pass(self, relation: str, legacy: bool) -> tuple[dict[int, tuple[int, int, int]],
                                                                dict[tuple[Any, ...], int], datetime | None,
                                                                tuple[int, int, int, int]]:
        """Per window (rows, ids, checksum), per event type (ids), the latest time and the side's totals
        (rows, ids, natural duplicates, synthetic ids).

        One grouped pass counts rows and sums row hashes per window and type; the rows of duplicated
        event ids (rare) are then read to turn rows into distinct ids: an event id counts once, in the
        window and type of its earliest row.
        """
        groups: dict[tuple[Any, ...], list[int]] = {}
        for w, *rest in self.q(self.sql.checksum_pass(relation, legacy)):
            groups[(int(w), *rest[:-2])] = [int(rest[-2]), int(rest[-2]), int(rest[-1])]  # rows, ids, checksum
        natural = synthetic = 0
        current: str | None = None
        fingerprints: set[str] = set()
        rows_of_id = 0
        for event_id, w, *rest in self.q(self.sql.duplicate_rows(relation, legacy)):
            group, fingerprint = (int(w), *rest[:-2]), rest[-2]
            if event_id != current:
                if current is not None:
                    natural += rows_of_id - len(fingerprints)
                    synthetic += len(fingerprints) > 1
                current, fingerprints, rows_of_id = event_id, set(), 0
                groups[group][1] += 1  # the earliest row is the event's home
            groups[group][1] -= 1
            fingerprints.add(fingerprint)
            rows_of_id += 1
        if current is not None:
            natural += rows_of_id - len(fingerprints)
            synthetic += len(fingerprints) > 1
        windows: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        types: dict[tuple[Any, ...], int] = defaultdict(int)
        for (w, *key), (rows, ids, checksum) in groups.items():
            slot = windows[w]
            slot[0], slot[1], slot[2] = slot[0] + rows, slot[1] + ids, slot[2] + checksum
            types[tuple(key)] += ids
        total_rows = sum(v[0] for v in windows.values())
        total_ids = sum(v[1] for v in windows.values())
        latest = self.q(self.sql.max_tstamp(relation))[0][0]
        return ({w: (v[0], v[1], v[2]) for w, v in windows.items()}, {k: n for k, n in types.items() if n},
                latest, (total_rows, total_ids, natural, synthetic))

    def _columns_with_values(self) -> frozenset[str] | None:
        """Columns that hold a value on either side, from DuckDB's storage statistics or, for Parquet read in
        place, a count per column that the files' statistics mostly answer (None: hash them all).

        A column NULL in every row of both sides cannot differ, and real events leave most of the 131
        fields empty, so skipping them makes the checksum pass and the key-level diff several times cheaper.
        """
        if not self.sql.duck:
            return None
        found: set[str] = set()
        for side in (self.ws.legacy, self.ws.new):
            if side.parquet:
                counts = self.q(f"SELECT {', '.join(f'count({quote(c)})' for c in side.columns)} "
                                f"FROM {side.relation}")[0]
                found |= {c for c, n in zip(side.columns, counts, strict=True) if n}
                continue
            if side.storage_table is None:
                return None
            try:
                rows = self.q("SELECT column_name, bool_or(stats.has_no_null) FROM pragma_storage_info(?) "
                              "WHERE segment_type = 'VALIDITY' GROUP BY 1", [side.storage_table])
            except _database_errors()[0]:
                return None
            found |= {name for name, has_values in rows if has_values is not False}
        return frozenset(found)

    def _diff(self, differing: list[int], cutoff: str) -> None:
        sql, ws = self.sql, self.ws
        if len(differing) > self.config.max_window_filter:  # most windows differ: no point filtering
            where = ""
        elif len(differing) <= MAX_RANGES:
            where = sql.in_windows(differing)
        else:
            self.db.execute(sql.windows_table())
            cast = "" if self.db.placeholder == "?" else "::bigint[]"
            self.db.execute(f"INSERT INTO {WINDOWS} SELECT unnest({self.db.placeholder}{cast})", [differing])
            where = sql.in_windows(None)
        self.db.execute(sql.diff(ws.legacy.relation, ws.new.relation, where))
        if self.config.rules.json_key_order and sql.duck:
            self._recheck_json_key_order()
        self.db.execute(sql.findings(ws.legacy.bad_relation, ws.new.bad_relation, cutoff))

    def _recheck_json_key_order(self) -> None:
        """DuckDB compares JSON as text; re-compare the few still-differing JSON values as parsed values."""
        json_columns = {c.name for c in self.plan.compared if c.is_json}
        changed = [c for (c,) in self.q(f"SELECT DISTINCT x.c FROM ({self.sql.elements(DIFF, 'changed')}) x")
                   if c in json_columns]
        for column in sorted(changed):
            same = [event_id for event_id, left, right in self.q(self.sql.json_pairs(column, self.ws.legacy.relation,
                                                                                  self.ws.new.relation))
                    if orjson.loads(left) == orjson.loads(right)]
            if not same:
                continue
            self.db.execute(f"DROP TABLE IF EXISTS {KEY_ORDER_IDS}")
            self.db.execute(f"CREATE TEMP TABLE {KEY_ORDER_IDS} AS SELECT unnest(?) AS event_id", [same])
            for statement in self.sql.drop_from_changed(column, KEY_ORDER_IDS):
                self.db.execute(statement)

    def _collect(self, by_window: dict[int, dict[str, int]], by_type: dict[tuple[Any, ...], dict[str, int]]) -> None:
        rec, k = self.rec, self.config.sample_size
        for bucket in BUCKETS:
            count = self.q(f"SELECT count(*) FROM {FINDINGS} WHERE bucket = {literal(bucket)}")[0][0]
            sample = [r[0] for r in self.q(f"SELECT event_id FROM {FINDINGS} WHERE bucket = {literal(bucket)} "
                                           f"ORDER BY event_id LIMIT {int(k)}")]
            rec.buckets[bucket] = Bucket(int(count), tuple(sample))
        rec.modified_columns = self._column_counts("changed", "bucket = 'modified'")
        rec.modified_columns = dict(sorted({**rec.modified_columns, **self._entity_field_counts()}.items()))
        rec.modified_values = self._modified_values(rec.bucket("modified").sample[:MODIFIED_VALUES])
        rec.null_only_columns = self._column_counts("null_only", "side = 'both'")
        rec.rejected_types = {t: int(n) for t, n in self.q(
            f"SELECT bad_row_type, count(*) FROM {FINDINGS} WHERE bucket = 'rejected' GROUP BY 1 ORDER BY 1")}
        for w, bucket, n in self.q(f"SELECT w, bucket, count(*) FROM {FINDINGS} GROUP BY 1, 2"):
            by_window[int(w)][bucket] = int(n)
        names = ", ".join(EVENT_TYPE_COLUMNS)
        for *key, bucket, n in self.q(f"SELECT {names}, bucket, count(*) FROM {FINDINGS} GROUP BY {names}, bucket"):
            by_type[tuple(key)][bucket] = int(n)

    def _modified_values(self, event_ids: tuple[str, ...]) -> dict[str, dict[str, tuple[str | None, str | None]]]:
        """Both sides' values of each changed column of these modified events (a handful: one small join)."""
        if not event_ids:
            return {}
        changed = {event_id: list(columns) for event_id, columns in self.q(
            f"SELECT event_id, changed FROM {FINDINGS} WHERE bucket = 'modified' AND event_id IN "
            f"({', '.join(literal(e) for e in event_ids)})")}
        names = sorted({c for columns in changed.values() for c in columns})
        where = f"WHERE t.event_id IN ({', '.join(literal(e) for e in event_ids)})"
        select = ", ".join(f"l.{quote(c)} AS l{i}, r.{quote(c)} AS r{i}" for i, c in enumerate(names))  # names unique
        values: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        for event_id, *pairs in self.q(
                f"SELECT l.event_id, {select} FROM {self.sql.projection(self.ws.legacy.relation, True, where)} l "
                f"JOIN {self.sql.projection(self.ws.new.relation, False, where)} r ON r.event_id = l.event_id"):
            columns = changed.get(event_id, [])
            values[event_id] = {c: (_text(pairs[2 * i]), _text(pairs[2 * i + 1]))
                                for i, c in enumerate(names) if c in columns}
        return dict(sorted(values.items()))

    def _entity_field_counts(self) -> dict[str, int]:
        """``entity.field`` -> modified events, for each entity column that differs (its field named)."""
        json_columns = {c.name for c in self.sql.compared if c.is_json}
        counts: dict[str, int] = defaultdict(int)
        for column in sorted(set(self.rec.modified_columns) & json_columns):
            modified = {r[0] for r in self.q(self.sql.naming(FINDINGS, "changed", column, "bucket = 'modified'"))}
            for event_id, left, right in self.q(self.sql.json_pairs(column, self.ws.legacy.relation,
                                                                   self.ws.new.relation)):
                if event_id in modified:
                    for name in differing_fields(left, right):
                        counts[f"{column}.{name}"] += 1
        return dict(counts)

    def _column_counts(self, list_column: str, where: str) -> dict[str, int]:
        rows = self.q(f"SELECT x.c, count(*) FROM ({self.sql.elements(FINDINGS, list_column, where)}) x "
                      f"GROUP BY x.c ORDER BY x.c")
        return {c: int(n) for c, n in rows}

    def _window_results(self, windows: list[dict[int, tuple[int, int, int]]], by_window: dict[int, dict[str, int]],
                        cutoff: datetime) -> list[WindowResult]:
        size = self.config.window_us
        results = []
        for w in sorted(set(windows[0]) | set(windows[1]) | set(by_window)):
            left, right = windows[0].get(w, (0, 0, 0)), windows[1].get(w, (0, 0, 0))
            start, end = _from_us(w * size), _from_us((w + 1) * size)
            freshness = {name: f.get(w) for name, f in zip(("legacy", "new"), self.freshness, strict=True)}
            results.append(WindowResult(iso(start) or "", iso(end) or "", left[0], left[1], right[0], right[1],
                                        left == right, end > cutoff, dict(sorted(by_window.get(w, {}).items())),
                                        freshness))
        return results

    def _type_results(self, by_type: dict[tuple[Any, ...], dict[str, int]]) -> list[TypeResult]:
        counts: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        for index, side_counts in enumerate(self.type_counts):
            for key, n in side_counts.items():
                counts[key][index] += n
        for key in by_type:
            counts.setdefault(key, [0, 0])
        results = []
        for key in sorted(counts, key=lambda k: tuple("" if v is None else str(v) for v in k)):
            legacy, new = counts[key]
            differences = dict(sorted(by_type.get(key, {}).items()))
            status = type_status(legacy, differences, self.config.type_tolerance)
            results.append(TypeResult(*key, legacy=legacy, new=new, differences=differences, status=status))
        return results
