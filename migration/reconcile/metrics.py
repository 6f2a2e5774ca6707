"""Parity metrics: what a team measures on both paths, declared as data (built-ins and ``--metrics FILE``).

A metric is an aggregation over one field (an atomic column, or a field inside an entity
such as ``contexts_com_acme_product_1[].price``), optionally filtered by equality and
grouped; each side computes it in SQL over settled time and the two values are compared
under a tolerance with a warn and a fail level. The four built-in metrics are entries of
this same list, so there is one way to define, compute and judge a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.warehouse.columns import literal, quote
from migration.reconcile.errors import ConfigError
from migration.reconcile.plan import ATOMIC_CATEGORY, Category
from migration.reconcile.result import MetricResult
from migration.warehouses import entity_elements
from toolkit.config.field_paths import AnyIndex, FieldPath, Key, PathKind, parse_field_path

AGGREGATIONS = ("count", "count_distinct", "sum", "min", "max")
TOLERANCE_KINDS = ("relative", "absolute")
_METRIC_KEYS = {"name", "aggregation", "field", "filter", "group_by", "tolerance"}
Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far apart the sides may be: above ``fail`` the metric fails, above ``warn`` (if set) it warns."""

    kind: str = "relative"  # relative: |l - n| / max(|l|, |n|); absolute: |l - n|
    fail: float = 0.0
    warn: float | None = None

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "fail": self.fail, "warn": self.warn}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    aggregation: str
    field: FieldPath | None = None  # None: count events
    filter: tuple[tuple[FieldPath, tuple[Scalar, ...]], ...] = ()  # field equals one of the values
    group_by: tuple[FieldPath, ...] = ()
    tolerance: Tolerance = Tolerance()

    def describe(self) -> dict[str, object]:
        return {"aggregation": self.aggregation, "field": self.field.text if self.field else None,
                "filter": {p.text: list(v) if len(v) > 1 else v[0] for p, v in self.filter},
                "group_by": [p.text for p in self.group_by], "tolerance": self.tolerance.describe()}


def _path(text: str) -> FieldPath:
    return parse_field_path(text)


#: The built-in metrics (``--tolerance NAME=REL`` changes their fail level; a file entry of the same name replaces one).
DEFAULT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("page_views", "count", filter=((_path("event_name"), ("page_view",)),)),
    MetricSpec("sessions", "count_distinct", _path("domain_sessionid")),
    MetricSpec("users", "count_distinct", _path("domain_userid")),
    MetricSpec("tr_total", "sum", _path("tr_total"), ((_path("event_name"), ("transaction",)),),
               tolerance=Tolerance("relative", 1e-9)),
)


# -- the metrics file ---------------------------------------------------------------------------------------------

def load_metrics_file(path: str) -> tuple[MetricSpec, ...]:
    """The built-ins with the file's metrics added (an entry named like a built-in replaces it)."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--metrics {path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--metrics {path}: not YAML ({str(exc).splitlines()[0]})") from None
    entries = document.get("metrics") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"--metrics {path}: expected a list of metrics (or a 'metrics:' key holding one)")
    problems: list[str] = []
    specs: dict[str, MetricSpec] = {m.name: m for m in DEFAULT_METRICS}
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"metrics[{index}]"
        try:
            spec = parse_metric(entry)
        except ConfigError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if spec.name in seen:
            problems.append(f"{where}: the name {spec.name!r} is used twice")
        seen.add(spec.name)
        specs[spec.name] = spec
    if problems:
        raise ConfigError(f"--metrics {path}: {len(problems)} problem(s): " + "; ".join(problems))
    return tuple(specs.values())


def parse_metric(entry: Any) -> MetricSpec:
    if not isinstance(entry, dict):
        raise ConfigError("a metric is a mapping with name, aggregation, field, filter, group_by, tolerance")
    unknown = sorted(set(entry) - _METRIC_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}; a metric takes {', '.join(sorted(_METRIC_KEYS))}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ConfigError(f"name must be letters, digits and '_', got {name!r}")
    aggregation = entry.get("aggregation")
    if aggregation not in AGGREGATIONS:
        raise ConfigError(f"{name}: aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}")
    value_field = _field(name, "field", entry["field"], multi=True) if entry.get("field") is not None else None
    if value_field is None and aggregation != "count":
        raise ConfigError(f"{name}: {aggregation} needs a field")
    if value_field is not None and aggregation in ("sum", "min", "max") and value_field.kind is PathKind.ATOMIC \
            and ATOMIC_CATEGORY.get(value_field.root) is not Category.NUMBER:
        raise ConfigError(f"{name}: {aggregation} needs a numeric field; {value_field.root} is not a number")
    raw_filter = entry.get("filter") or {}
    if not isinstance(raw_filter, dict):
        raise ConfigError(f"{name}: filter is a mapping of field to value (or list of values), "
                          f"e.g. {{event_name: page_view}}")
    conditions = []
    for text, value in raw_filter.items():
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values or not all(isinstance(v, str | int | float | bool) for v in values):
            raise ConfigError(f"{name}: filter {text}: expected a string, number or boolean (or a list of them)")
        conditions.append((_field(name, "filter", text), values))
    group_by = entry.get("group_by") or []
    if isinstance(group_by, str):
        group_by = [group_by]
    if not isinstance(group_by, list):
        raise ConfigError(f"{name}: group_by is a list of fields")
    return MetricSpec(name, aggregation, value_field, tuple(conditions),
                      tuple(_field(name, "group_by", g) for g in group_by), _tolerance(name, entry.get("tolerance")))


def _field(metric: str, key: str, text: Any, multi: bool = False) -> FieldPath:
    if not isinstance(text, str):
        raise ConfigError(f"{metric}: {key} must be a field path such as tr_total or "
                          f"contexts_com_acme_product_1[].price")
    try:
        path = parse_field_path(text)
    except ValueError as exc:
        raise ConfigError(f"{metric}: {key} {exc}") from None
    if path.kind is PathKind.SELF_DESCRIBING:
        raise ConfigError(f"{metric}: {key} {text!r}: warehouses keep entities in shredded columns; name one, e.g. "
                          f"contexts_com_acme_product_1[].price or unstruct_event_com_acme_checkout_step_1.step")
    if path.kind is PathKind.SHREDDED_CONTEXT and not path.steps:
        raise ConfigError(f"{metric}: {key} {text!r}: name a field inside the entities, e.g. {text}[].price")
    if any(isinstance(s, AnyIndex) for s in path.steps[1:]) or (
            not multi and any(isinstance(s, AnyIndex) for s in path.steps)):
        raise ConfigError(f"{metric}: {key} {text!r}: '[]' (every entity) is only for the metric's field, once, "
                          f"right after the column; use [0] for one entity")
    return path


def _tolerance(metric: str, value: Any) -> Tolerance:
    if value is None:
        return Tolerance()
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = {"fail": value}
    if not isinstance(value, dict) or set(value) - {"kind", "fail", "warn"}:
        raise ConfigError(f"{metric}: tolerance is a number (relative fail level) or a mapping with kind "
                          f"(relative | absolute), fail and warn")
    kind = value.get("kind", "relative")
    if kind not in TOLERANCE_KINDS:
        raise ConfigError(f"{metric}: tolerance kind must be relative or absolute, got {kind!r}")
    levels = {}
    for level in ("fail", "warn"):
        v = value.get(level)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v < 0):
            raise ConfigError(f"{metric}: tolerance {level} must be a number of at least 0, got {v!r}")
        levels[level] = None if v is None else float(v)
    fail, warn = levels["fail"] or 0.0, levels["warn"]
    if warn is not None and warn > fail and value.get("fail") is not None:
        raise ConfigError(f"{metric}: the warn level {warn:g} is above the fail level {fail:g}")
    if value.get("fail") is None and warn is not None:
        fail = float("inf")  # warn only
    return Tolerance(kind, fail, warn)


def with_fail_levels(metrics: tuple[MetricSpec, ...], levels: Mapping[str, float]) -> tuple[MetricSpec, ...]:
    """Apply ``--tolerance NAME=VALUE`` (the fail level, in the metric's own kind)."""
    from dataclasses import replace

    names = {m.name for m in metrics}
    unknown = sorted(set(levels) - names)
    if unknown:
        raise ConfigError(f"--tolerance names unknown metric(s) {', '.join(unknown)}; metrics are "
                          f"{', '.join(sorted(names))}")
    if any(v < 0 for v in levels.values()):
        raise ConfigError("tolerances are differences and cannot be negative")
    return tuple(replace(m, tolerance=replace(m.tolerance, fail=levels[m.name])) if m.name in levels else m
                 for m in metrics)


# -- SQL ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MetricSql:
    """Renders one metric's query for a side (DuckDB or PostgreSQL); the side's columns decide what exists."""

    duck: bool
    columns: frozenset[str]
    #: The side holds one row per event id (its totals say so): nothing to deduplicate before counting or summing.
    unique: bool = False
    #: The sqlglot dialect the DuckDB text is transpiled to (None: it runs as written). Where sqlglot cannot write
    #: every element of a context array there, the query carries the stand-ins of
    #: :mod:`migration.warehouses.entity_elements`, which render() replaces with the warehouse's own text.
    transpiled_to: str | None = None

    def _json_path(self, steps: tuple[Any, ...]) -> str:
        return "$" + "".join(f".{s.name}" if isinstance(s, Key) else f"[{s.index}]" for s in steps)

    def scalar(self, path: FieldPath) -> str:
        """A single-valued field as SQL (NULL when the side lacks the column): atomic, or a path into an entity."""
        if path.root not in self.columns:
            return "CAST(NULL AS VARCHAR)" if self.duck else "CAST(NULL AS TEXT)"
        column = f"t.{quote(path.root)}"
        if path.kind is PathKind.ATOMIC:
            return column
        if self.duck:
            return f"json_extract_string({column}, {literal(self._json_path(path.steps))})"
        keys = ",".join(s.name if isinstance(s, Key) else str(s.index) for s in path.steps)
        return f"(CAST({column} AS jsonb) #>> {literal('{' + keys + '}')})"

    def _numeric(self, expr: str, path: FieldPath) -> str:
        if path.kind is PathKind.ATOMIC:
            return expr
        return f"TRY_CAST({expr} AS DOUBLE)" if self.duck else \
            f"(CASE WHEN {expr} ~ '^-?[0-9.eE+-]+$' THEN CAST({expr} AS DOUBLE PRECISION) END)"

    def _values(self, spec: MetricSpec, relation: str) -> tuple[str, str, str]:
        """(value expression, element index expression, FROM source aliased ``t``) for the metric's field."""
        path = spec.field
        source = f"{relation} t"
        if path is None:
            return "t.event_id", "0", source
        many = path.kind is PathKind.SHREDDED_CONTEXT and isinstance(path.steps[0], AnyIndex)
        if not many or path.root not in self.columns:
            return self.scalar(path), "0", source
        rest = path.steps[1:]
        column = f"t.{quote(path.root)}"
        if self.duck and self.transpiled_to in entity_elements.WRITERS:  # the warehouse writes it (render)
            steps = tuple(s.name if isinstance(s, Key) else s.index for s in rest)
            return (entity_elements.field(steps), entity_elements.index(),
                    f"{entity_elements.wrapped(relation, path.root)} t{entity_elements.joined()}")
        if self.duck:
            listed = f"json_extract_string({column}, {literal('$[*]' + self._json_path(rest)[1:])})"
            return f"unnest({listed})", f"generate_subscripts({listed}, 1)", source
        keys = ",".join(s.name if isinstance(s, Key) else str(s.index) for s in rest)
        extra = f" CROSS JOIN LATERAL jsonb_array_elements(CAST({column} AS jsonb)) WITH ORDINALITY AS x(e, i)"
        return f"(x.e #>> {literal('{' + keys + '}')})", "x.i", source + extra

    def _equals(self, path: FieldPath, values: tuple[Scalar, ...]) -> str:
        expr = self.scalar(path)
        if path.kind is PathKind.ATOMIC and path.root in ATOMIC_CATEGORY:
            category = ATOMIC_CATEGORY[path.root]
            if category is Category.NUMBER and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                   for v in values):
                return f"{expr} IN ({', '.join(repr(v) for v in values)})"
            if category is Category.BOOL and all(isinstance(v, bool) for v in values):
                return f"{expr} IN ({', '.join('TRUE' if v else 'FALSE' for v in values)})"
            expr = f"CAST({expr} AS {'VARCHAR' if self.duck else 'TEXT'})"
        texts = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in values]
        return f"{expr} IN ({', '.join(literal(v) for v in texts)})"

    def query(self, spec: MetricSpec, relation: str, settled: str, other_bad: str | None) -> str:
        """``SELECT group..., value`` per group: settled time only, leaving out events the other side rejected."""
        value, index, source = self._values(spec, relation)
        join, where = "", [settled]
        if other_bad:
            join = (f" LEFT JOIN (SELECT DISTINCT event_id FROM {other_bad} WHERE event_id IS NOT NULL) xb "
                    f"ON xb.event_id = t.event_id")
            where.append("xb.event_id IS NULL")
        where += [self._equals(p, v) for p, v in spec.filter]
        groups = [f"CAST({self.scalar(g)} AS {'VARCHAR' if self.duck else 'TEXT'}) AS g{i}"
                  for i, g in enumerate(spec.group_by)]
        names = [f"g{i}" for i in range(len(spec.group_by))]
        inner = (f"SELECT t.event_id AS id, {index} AS i, {value} AS v{''.join(', ' + g for g in groups)} "
                 f"FROM {source}{join} WHERE {' AND '.join(where)}")
        numeric = spec.field is not None and spec.aggregation in ("sum", "min", "max")
        v = self._numeric("s.v", spec.field) if numeric and spec.field is not None else "s.v"
        if spec.aggregation == "sum":
            decimal = "DECIMAL(38, 6)" if self.duck else "numeric(38, 6)"
            if not self.unique:
                keys = ", ".join(["s.id", "s.i", *[f"s.{n}" for n in names]])
                inner = (f"SELECT s.id, {', '.join([*[f's.{n}' for n in names], f'max({v}) AS v'])} "
                         f"FROM ({inner}) s GROUP BY {keys}")  # one value per event (and entity): duplicates count once
            else:
                inner = f"SELECT s.id, {', '.join([*[f's.{n}' for n in names], f'{v} AS v'])} FROM ({inner}) s"
            aggregate = f"sum(CAST(s.v AS {decimal}))"
        elif spec.aggregation == "count":
            # an event with several entities has several rows here even when its id is unique
            aggregate = "count(s.id)" if self.unique and index == "0" else "count(DISTINCT s.id)"
        elif spec.aggregation == "count_distinct":
            aggregate = "count(DISTINCT s.v)"
        else:
            aggregate = f"{spec.aggregation}({v})"
        outer_where = " WHERE s.v IS NOT NULL" if spec.field is not None else ""
        select = ", ".join([*[f"s.{n}" for n in names], aggregate])
        group = f" GROUP BY {', '.join(f's.{n}' for n in names)}" if names else ""
        return f"SELECT {select} FROM ({inner}) s{outer_where}{group}"


# -- judging ------------------------------------------------------------------------------------------------------

def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def judge(spec: MetricSpec, legacy: list[tuple[Any, ...]], new: list[tuple[Any, ...]]) -> MetricResult:
    """Both sides' rows (group values..., value) as one result; grouped metrics carry one result per group."""
    sides = [{tuple(row[:-1]): _number(row[-1]) for row in rows} for rows in (legacy, new)]
    tolerance = spec.tolerance
    base = {"aggregation": spec.aggregation, "kind": tolerance.kind, "warn": tolerance.warn}
    if not spec.group_by:
        return MetricResult.of(spec.name, sides[0].get((), 0.0), sides[1].get((), 0.0), tolerance.fail, **base)
    keys = sorted(set(sides[0]) | set(sides[1]), key=lambda k: tuple("" if v is None else str(v) for v in k))
    groups = tuple(MetricResult.of(spec.name, sides[0].get(k, 0.0), sides[1].get(k, 0.0), tolerance.fail,
                                   group=tuple(zip((g.text for g in spec.group_by), k, strict=True)), **base)
                   for k in keys)
    order = {"fail": 2, "warn": 1, "parity": 0}
    worst = max(groups, key=lambda g: (order[g.status], g.difference), default=None)
    if worst is None:
        return MetricResult.of(spec.name, 0.0, 0.0, tolerance.fail, **base)
    return MetricResult.of(spec.name, worst.legacy, worst.new, tolerance.fail, group=worst.group, groups=groups,
                           **base)
