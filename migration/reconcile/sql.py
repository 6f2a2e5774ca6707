"""The reconciliation's SQL, generated for DuckDB or PostgreSQL from a column plan (pure text builders).

Everything heavy runs in the warehouse: per-window checksums, the key-level full
outer join (only over windows whose checksums differ), duplicate counts, per-type
counts and key metrics. Python receives aggregates and small samples only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.warehouse.columns import Dialect, literal, quote
from migration.reconcile.config import Rules
from migration.reconcile.plan import EVENT_TYPE_COLUMNS, Category, ColumnPlan, PlannedColumn
from migration.warehouses import json_rules

WINDOWS = "_sptk_windows"
DIFF = "_sptk_diff"
FINDINGS = "_sptk_findings"
FRESHNESS_QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Sql:
    dialect: Dialect
    rules: Rules
    window_us: int
    plan: ColumnPlan
    #: Columns that hold a value on either side (None: all). A column NULL everywhere cannot differ.
    active: frozenset[str] | None = None
    #: Whether each side (legacy, new) holds one row per event id: then no representative row is picked.
    unique: tuple[bool, bool] = (False, False)
    #: The sqlglot dialect the DuckDB text is transpiled to (None: it runs as written).
    transpiled_to: str | None = None

    @property
    def compared(self) -> tuple[PlannedColumn, ...]:
        if self.active is None:
            return self.plan.compared
        return tuple(c for c in self.plan.compared if c.name in self.active)

    @property
    def duck(self) -> bool:
        return self.dialect is Dialect.DUCKDB

    @property
    def text_type(self) -> str:
        return "VARCHAR" if self.duck else "TEXT"

    # -- fragments -----------------------------------------------------------------------------------------

    def epoch_us(self, expr: str) -> str:
        return f"epoch_us({expr})" if self.duck else f"(extract(epoch FROM {expr}) * 1000000)::bigint"

    def window(self, expr: str) -> str:
        if self.duck:
            return f"CAST(floor(epoch_us({expr}) / {self.window_us}) AS BIGINT)"
        return f"floor(extract(epoch FROM {expr}) * 1000000 / {self.window_us})::bigint"

    def tstamp(self, text: str) -> str:
        return f"TIMESTAMP {literal(text)}"

    def _json_object(self, expr: str) -> str:
        if self.duck:
            if self.rules.schema_version:
                expr = f"json_merge_patch({expr}, '{{\"_schema_version\":null}}')"
            if self.rules.nulls_omitted:
                expr = f"json_merge_patch('{{}}', {expr})"
            return expr
        if self.rules.schema_version:
            expr = f"({expr} - '_schema_version')"
        if self.rules.nulls_omitted:
            expr = f"jsonb_strip_nulls({expr})"
        return expr

    def _json(self, column: PlannedColumn, ref: str) -> str:
        rules_apply = self.rules.schema_version or self.rules.nulls_omitted
        if self.duck:
            if not rules_apply:
                return f"CAST(json({ref}) AS VARCHAR)"
            if self.transpiled_to in json_rules.WRITERS:  # the warehouse writes the rules itself (render)
                rules = tuple(name for name, on in ((json_rules.SCHEMA_VERSION, self.rules.schema_version),
                                                     (json_rules.NULLS_OMITTED, self.rules.nulls_omitted)) if on)
                return json_rules.marker(ref, column.category is Category.JSON_ARRAY, rules)
            if column.category is Category.JSON_ARRAY:
                return (f"CAST(to_json(list_transform(json_extract({ref}, '$[*]'), "
                        f"lambda e: {self._json_object('e')})) AS VARCHAR)")
            return f"CAST({self._json_object(ref)} AS VARCHAR)"
        value = f"CAST({ref} AS jsonb)"
        if not rules_apply:
            return value
        if column.category is Category.JSON_ARRAY:
            return (f"CASE WHEN {ref} IS NULL THEN NULL ELSE coalesce((SELECT jsonb_agg({self._json_object('x.e')} "
                    f"ORDER BY x.i) FROM jsonb_array_elements({value}) WITH ORDINALITY AS x(e, i)), '[]'::jsonb) END")
        return self._json_object(value)

    def value(self, column: PlannedColumn, present: bool, alias: str, for_checksum: bool) -> str:
        """The normalised value of a column on one side (NULL of the right type when the side lacks it)."""
        ref = f"{alias}.{quote(column.name)}"
        category = column.category
        if column.is_json:
            if not present:
                return f"CAST(NULL AS {self.text_type})" if self.duck else "CAST(NULL AS jsonb)"
            return self._json(column, ref)
        if category is Category.TEXT and self.rules.nulls_omitted:
            return f"NULLIF({ref}, '')"
        if category is Category.TSTAMP and for_checksum and self.rules.timestamp_precision != "us":
            unit = {"ms": "milliseconds", "s": "seconds"}[self.rules.timestamp_precision]
            return f"date_trunc('{unit}', {ref})"
        return ref

    def fingerprint(self, alias: str, legacy: bool) -> str:
        name = self.plan.legacy_fingerprint if legacy else self.plan.new_fingerprint
        return f"{alias}.{quote(name)}" if name else f"CAST(NULL AS {self.text_type})"

    # -- whole-table passes --------------------------------------------------------------------------------

    def checksum_pass(self, relation: str, legacy: bool) -> str:
        """Per window and event type: rows and an order-independent checksum (the sum of a hash per row).

        The checksum hashes raw values (only timestamps are cut to the precision rule, which is cheap): equal
        raw rows are equal after any rule, and a window that differs only by a rule is settled key by key.
        """
        values = []
        for c in self.compared:
            present = c.in_legacy if legacy else c.in_new
            if not present:
                values.append("NULL")
            elif c.category is Category.TSTAMP:
                values.append(self.value(c, True, "t", True))
            else:
                values.append(f"t.{quote(c.name)}")
        row_hash = (f"hash(t.event_id, {', '.join(values)})" if self.duck
                    else f"hashtextextended(ROW(t.event_id, {', '.join(values)})::text, 0)::numeric")
        types = self._types(legacy)
        return (f"SELECT {self.window('t.collector_tstamp')} AS w, {types}, count(*), sum({row_hash}) "
                f"FROM {relation} t GROUP BY {', '.join(str(i) for i in range(1, len(EVENT_TYPE_COLUMNS) + 2))}")

    def _types(self, legacy: bool) -> str:
        return ", ".join(f"t.{quote(n)}" if (has_l if legacy else has_n) else f"CAST(NULL AS {self.text_type})"
                         for n, has_l, has_n in self.plan.type_columns)

    def duplicate_rows(self, relation: str, legacy: bool) -> str:
        """Every row of an event id that has more than one row (rare: read into Python to settle counts)."""
        fp = self.fingerprint("t", legacy)
        return (f"SELECT t.event_id, {self.window('t.collector_tstamp')} AS w, {self._types(legacy)}, "
                f"coalesce({fp}, ''), t.collector_tstamp FROM {relation} t WHERE t.event_id IN "
                f"(SELECT event_id FROM {relation} GROUP BY event_id HAVING count(*) > 1) "
                f"ORDER BY t.event_id, t.collector_tstamp, 2, 3, 4, 5, 6, 7")

    def freshness(self, relation: str, in_memory: bool = True) -> str:
        """p50/p95/p99 of ``load_tstamp - collector_tstamp`` (microseconds) per window, and overall (w NULL).

        ``in_memory=False``: the same continuous quantiles read off ranked rows (a sort, which spills) instead of
        quantile aggregates, which hold every value of a group in memory and cannot spill.
        """
        delays = (f"SELECT {self.window('t.collector_tstamp')} AS w, {self.epoch_us('t.load_tstamp')} - "
                  f"{self.epoch_us('t.collector_tstamp')} AS d FROM {relation} t WHERE t.load_tstamp IS NOT NULL")
        if not in_memory:
            return f"{self._ranked_quantiles(delays, True)} UNION ALL {self._ranked_quantiles(delays, False)}"

        def q(p: float) -> str:
            return f"quantile_cont(s.d, {p})" if self.duck else f"percentile_cont({p}) WITHIN GROUP (ORDER BY s.d)"

        return f"SELECT s.w, {q(0.5)}, {q(0.95)}, {q(0.99)} FROM ({delays}) s GROUP BY GROUPING SETS ((s.w), ())"

    def _ranked_quantiles(self, delays: str, per_window: bool) -> str:
        """Quantiles as quantile_cont defines them: at rank p*(n-1), interpolated between its two neighbours."""
        part = "PARTITION BY s.w " if per_window else ""
        window = "s.w" if per_window else "CAST(NULL AS BIGINT)"
        ranked = (f"SELECT {window} AS w, s.d, row_number() OVER ({part}ORDER BY s.d) - 1 AS k, "
                  f"count(*) OVER ({part.strip()}) AS n FROM ({delays}) s")
        ranks = {p: (f"floor({p} * (r.n - 1))", f"ceil({p} * (r.n - 1))") for p in FRESHNESS_QUANTILES}
        picked = [f"max(CASE WHEN r.k = {rank} THEN r.d END) AS {side}{i}" for i, (low, high) in
                  enumerate(ranks.values()) for side, rank in (("lo", low), ("hi", high))]
        needed = ", ".join(rank for pair in ranks.values() for rank in pair)
        grouped = (f"SELECT r.w, max(r.n) AS n, {', '.join(picked)} FROM ({ranked}) r WHERE r.k IN ({needed}) "
                   f"GROUP BY r.w")
        double = "DOUBLE" if self.duck else "double precision"
        values = [f"CAST(q.lo{i} + ({p} * (q.n - 1) - floor({p} * (q.n - 1))) * (q.hi{i} - q.lo{i}) AS {double})"
                  for i, p in enumerate(FRESHNESS_QUANTILES)]
        return f"SELECT q.w, {', '.join(values)} FROM ({grouped}) q"

    def max_tstamp(self, relation: str) -> str:
        return f"SELECT max(collector_tstamp) FROM {relation}"

    # -- key-level diff ------------------------------------------------------------------------------------

    def windows_table(self) -> str:
        return f"CREATE TEMP TABLE {WINDOWS} (w BIGINT)"

    def projection(self, relation: str, legacy: bool, where: str) -> str:
        """One representative row per event id (smallest fingerprint), normalised, as a subquery."""
        cols = [f"{self.value(c, c.in_legacy if legacy else c.in_new, 't', False)} AS {quote(c.name)}"
                for c in self.compared]
        types = [f"t.{quote(n)} AS {quote('_t_' + n)}" if (has_l if legacy else has_n)
                 else f"CAST(NULL AS {self.text_type}) AS {quote('_t_' + n)}"
                 for n, has_l, has_n in self.plan.type_columns]
        select = f"SELECT t.event_id, t.collector_tstamp AS _ts, {', '.join(types + cols)}"
        if self.unique[0 if legacy else 1]:  # nothing to choose from: no window over every row to materialise
            return f"({select} FROM {relation} t {where})"
        fp = self.fingerprint("t", legacy)
        return (
            f"(SELECT * FROM ({select}, row_number() OVER (PARTITION BY t.event_id ORDER BY {fp}, "
            f"t.collector_tstamp) AS _rn FROM {relation} t {where}) s WHERE _rn = 1)"
        )

    def in_windows(self, windows: list[int] | None) -> str:
        """Rows in the given windows, as time ranges (contiguous windows merged) so the scan reads the other
        columns only for matching rows; a very long list goes through the ``_sptk_windows`` table instead."""
        if windows is None:
            return f"WHERE {self.window('t.collector_tstamp')} IN (SELECT w FROM {WINDOWS})"
        ranges: list[list[int]] = []
        for w in sorted(windows):
            if ranges and ranges[-1][1] == w:
                ranges[-1][1] = w + 1
            else:
                ranges.append([w, w + 1])
        epoch = datetime(1970, 1, 1)
        parts = [f"(t.collector_tstamp >= {self.tstamp(str(epoch + timedelta(microseconds=a * self.window_us)))} "
                 f"AND t.collector_tstamp < {self.tstamp(str(epoch + timedelta(microseconds=b * self.window_us)))})"
                 for a, b in ranges]
        return "WHERE " + " OR ".join(parts)

    def _differs(self, column: PlannedColumn) -> str:
        left, right = f"l.{quote(column.name)}", f"r.{quote(column.name)}"
        if column.category is Category.TSTAMP:
            unit = self.rules.precision_us
            return f"abs({self.epoch_us(left)} - {self.epoch_us(right)}) >= {unit}"
        return f"{left} <> {right}"

    def _list(self, items: list[str]) -> str:
        if not items:
            return f"CAST([] AS {self.text_type}[])" if self.duck else "ARRAY[]::text[]"
        if self.duck:
            return f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL)"
        return f"array_remove(ARRAY[{', '.join(items)}]::text[], NULL)"

    def nonempty(self, expr: str) -> str:
        """Whether a list of column names holds any. A transpiled warehouse joins the names instead of counting
        them: Snowflake's ARRAY_SIZE is right, but the fakesnow emulator sizes a stored list as JSON text."""
        if self.transpiled_to is not None:
            return f"array_to_string({expr}, ',') <> ''"
        return f"len({expr}) > 0" if self.duck else f"cardinality({expr}) > 0"

    def elements(self, table: str, list_column: str, where: str = "TRUE") -> str:
        """Each element of a list column as a row (``event_id``, ``c``), the lists' own rows filtered by ``where``.

        The list is unnested in FROM, never in the select list nor tested with list_contains: sqlglot writes this
        as Snowflake's FLATTEN, BigQuery's UNNEST or Redshift's PartiQL navigation, where a select-list unnest
        becomes a generated index series (which the Snowflake emulator refuses) and list_contains a VARIANT cast
        of the name (which it misreads as JSON). The element is named ``value``, FLATTEN's own name, so its cast
        gives the bare string (fakesnow emulates that by the name).
        """
        return (f"SELECT d.event_id, CAST(u.value AS {self.text_type}) AS c FROM {table} d, "
                f"unnest(d.{quote(list_column)}) AS u(value) WHERE {where}")

    def naming(self, table: str, list_column: str, name: str, where: str = "TRUE") -> str:
        """The event ids whose ``list_column`` holds ``name``."""
        return f"SELECT x.event_id FROM ({self.elements(table, list_column, where)}) x WHERE x.c = {literal(name)}"

    def diff(self, legacy: str, new: str, where: str) -> str:
        """Full outer join of the representatives: missing on a side, value changes and null-only changes."""
        changed, null_only = [], []
        for c in self.compared:
            left, right = f"l.{quote(c.name)}", f"r.{quote(c.name)}"
            changed.append(f"CASE WHEN {left} IS NOT NULL AND {right} IS NOT NULL AND {self._differs(c)} "
                           f"THEN {literal(c.name)} END")
            null_only.append(f"CASE WHEN ({left} IS NULL) <> ({right} IS NULL) THEN {literal(c.name)} END")
        types = [f"coalesce(l.{quote('_t_' + n)}, r.{quote('_t_' + n)}) AS {quote(n)}" for n in EVENT_TYPE_COLUMNS]
        return (
            f"CREATE TEMP TABLE {DIFF} AS SELECT * FROM ("
            f"SELECT coalesce(l.event_id, r.event_id) AS event_id, "
            f"CASE WHEN r.event_id IS NULL THEN 'only_legacy' WHEN l.event_id IS NULL THEN 'only_new' "
            f"ELSE 'both' END AS side, least(l._ts, r._ts) AS ts, {', '.join(types)}, "
            f"{self._list(changed)} AS changed, {self._list(null_only)} AS null_only "
            f"FROM {self.projection(legacy, True, where)} l FULL OUTER JOIN "
            f"{self.projection(new, False, where)} r ON l.event_id = r.event_id) d "
            f"WHERE side <> 'both' OR {self.nonempty('changed')} OR {self.nonempty('null_only')}"
        )

    def json_pairs(self, column: str, legacy: str, new: str) -> str:
        """The normalised JSON of both sides where a column still differs (for the key-order re-check)."""
        ids = f"WHERE t.event_id IN ({self.naming(DIFF, 'changed', column)})"
        # each value has a name of its own: some drivers keep one of two result columns that share a name
        return (f"SELECT l.event_id, l.{quote(column)} AS legacy_value, r.{quote(column)} AS new_value "
                f"FROM {self.projection(legacy, True, ids)} l "
                f"JOIN {self.projection(new, False, ids)} r ON r.event_id = l.event_id")

    def drop_from_changed(self, column: str, ids_table: str) -> list[str]:
        if self.duck:
            update = f"list_filter(changed, lambda x: x <> {literal(column)})"
        else:
            update = f"array_remove(changed, {literal(column)})"
        return [
            f"UPDATE {DIFF} SET changed = {update} WHERE event_id IN (SELECT event_id FROM {ids_table})",
            f"DELETE FROM {DIFF} WHERE side = 'both' AND NOT {self.nonempty('changed')} "
            f"AND NOT {self.nonempty('null_only')}",
        ]

    def findings(self, bad_legacy: str | None, bad_new: str | None, cutoff: str) -> str:
        """Each difference in its bucket: rejected (in the other side's bad output), pending (inside the
        lookback), only_legacy / only_new, modified, or null_only."""
        def bad(relation: str | None) -> str:
            if relation is None:
                return (f"(SELECT CAST(NULL AS {self.text_type}) AS event_id, CAST(NULL AS {self.text_type}) "
                        f"AS bad_row_type WHERE 1 = 0)")
            return (f"(SELECT event_id, min(bad_row_type) AS bad_row_type FROM {relation} "
                    f"WHERE event_id IS NOT NULL GROUP BY event_id)")

        return (
            f"CREATE TEMP TABLE {FINDINGS} AS SELECT d.*, {self.window('d.ts')} AS w, "
            f"CASE WHEN d.side = 'only_legacy' AND bn.bad_row_type IS NOT NULL THEN 'rejected' "
            f"WHEN d.side = 'only_new' AND bl.bad_row_type IS NOT NULL THEN 'rejected' "
            f"WHEN d.side <> 'both' AND d.ts > {self.tstamp(cutoff)} THEN 'pending' "
            f"WHEN d.side <> 'both' THEN d.side "
            f"WHEN {self.nonempty('d.changed')} THEN 'modified' ELSE 'null_only' END AS bucket, "
            f"CASE WHEN d.side = 'only_legacy' THEN bn.bad_row_type WHEN d.side = 'only_new' THEN bl.bad_row_type "
            f"END AS bad_row_type "
            f"FROM {DIFF} d LEFT JOIN {bad(bad_legacy)} bl ON bl.event_id = d.event_id "
            f"LEFT JOIN {bad(bad_new)} bn ON bn.event_id = d.event_id"
        )

    def bad_counts(self, relation: str) -> str:
        return f"SELECT bad_row_type, count(*) FROM {relation} GROUP BY 1 ORDER BY 1"
