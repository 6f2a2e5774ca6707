"""The audit itself: a handful of grouped scans (:mod:`migration.audit.queries`), judged in Python.

The result is the report's document (``sptk-audit/1``, docs/audit.md) as plain data, deterministic for the
same data and settings: sorted lists, rates rounded to six places, no run time. The terminal and HTML reports
are drawn from it, so they never show what the JSON does not hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.warehouse.columns import ATOMIC_COLUMNS, LOAD_NAMES
from migration.audit.queries import FINGERPRINTS, AuditSql, bad_counts
from migration.audit.rules import NamingRules
from migration.audit.schemas import SchemaCheck, event_schema
from migration.reconcile.engine import iso
from migration.reconcile.plan import REQUIRED
from migration.reconcile.workspace import Side, SourceFailed

FORMAT = "sptk-audit/1"
#: event types whose field fill rates the report gives one by one (the most frequent)
TOP_TYPES = 5


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _when(value: Any) -> str | None:
    return iso(value) if isinstance(value, datetime) else None if value is None else str(value)


def _type(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(("vendor", "name", "format", "version"), row[:4], strict=True))


def _no_steps(step: str) -> None:
    pass


class Audit:
    def __init__(self, backend: Any, side: Side, rules: NamingRules, schemas: SchemaCheck,
                 settings: dict[str, Any], on_step: Callable[[str], None] = _no_steps) -> None:
        missing = [c for c in REQUIRED if c not in side.columns]
        if missing:
            raise SourceFailed(f"{side.description}: the events table has no {', '.join(missing)} column, so it is "
                               f"not an atomic.events table (columns: {', '.join(sorted(side.columns)[:12])}...)")
        self.db, self.side, self.rules, self.schemas = backend, side, rules, schemas
        self.sql = AuditSql(side.relation, side.columns)
        self.settings = settings
        self.step = on_step

    def q(self, sql: str) -> list[tuple[Any, ...]]:
        return self.db.query(sql)

    def run(self) -> dict[str, Any]:
        self.step("totals and event types")
        rows, ids, first, last = self.q(self.sql.totals())[0]
        types = self.q(self.sql.event_types())
        self.step("apps, platforms and trackers")
        apps = self.q(self.sql.counted(("app_id",), seen=True))
        platforms = self.q(self.sql.counted(("platform",), seen=False))
        trackers = self.q(self.sql.counted(("name_tracker", "v_tracker"), seen=False))
        self.step("entities per event type")
        entities = self._entities()
        self.step("field fill rates")
        fill = self._fill(rows, types)
        self.step("bad rows and duplicates")
        bad = self._bad_rows(rows)
        duplicates = self._duplicates(rows)
        self.step("schemas used vs registered")
        schemas = self._schemas(types, entities)
        return {
            "format": FORMAT,
            "source": self.side.description,
            "settings": self.settings,
            "totals": {"rows": rows, "event_ids": ids, "first_seen": _when(first), "last_seen": _when(last),
                       "bad_rows": bad["total"]},
            "event_types": [{**_type(t), "events": t[4], "first_seen": _when(t[5]), "last_seen": _when(t[6])}
                            for t in types],
            "apps": [{"app_id": a[0], "events": a[1], "first_seen": _when(a[2]), "last_seen": _when(a[3])}
                     for a in apps],
            "platforms": [{"platform": p[0], "events": p[1]} for p in platforms],
            "trackers": [{"name_tracker": t[0], "v_tracker": t[1], "events": t[2]} for t in trackers],
            "entities": entities,
            "fill_rates": fill,
            "schemas": schemas,
            "naming": self._naming(apps, platforms, schemas),
            "bad_rows": bad,
            "duplicates": duplicates,
        }

    def _entities(self) -> list[dict[str, Any]]:
        columns = sorted(c for c in self.side.columns if c.startswith("contexts_"))
        if not columns:
            return []
        per_column: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.q(self.sql.entities(columns)):
            for column, count in zip(columns, row[5:], strict=True):
                if count:
                    per_column[column].append({**_type(row), "events": count, "of": row[4]})
        out = []
        for column in columns:
            model, status = self.schemas.entity(column)
            by_type = sorted(per_column[column], key=lambda t: (-t["events"], *(str(t[k]) for k in
                                                                                ("vendor", "name", "version"))))
            out.append({"column": column, "schema": model.uri if model else None, "status": status,
                        "events": sum(t["events"] for t in by_type), "by_event_type": by_type})
        return sorted(out, key=lambda e: (-e["events"], e["column"]))

    def _fill(self, rows: int, types: list[tuple[Any, ...]]) -> dict[str, Any]:
        fields = [c.name for c in ATOMIC_COLUMNS if c.name in self.side.columns and c.name not in LOAD_NAMES]
        overall: dict[str, float] = {}
        by_type = []
        for part, *row in self.q(self.sql.fill(fields, [t[:4] for t in types[:TOP_TYPES]])):
            counts = dict(zip(fields, row[5:], strict=True))
            if part == 0:
                overall = {f: _rate(n, rows) for f, n in counts.items()}
            else:
                by_type.append({**_type(row), "events": row[4],
                                "fields": {f: _rate(n, row[4]) for f, n in counts.items() if n}})
        by_type.sort(key=lambda t: (-t["events"], *(str(t[k]) for k in ("vendor", "name", "format", "version"))))
        return {"fields": overall, "by_event_type": by_type}

    def _bad_rows(self, rows: int) -> dict[str, Any]:
        relation = self.side.bad_relation
        counts = self.q(bad_counts(relation)) if relation else []
        total = sum(n for _, n in counts)
        whole = rows + total
        return {"present": relation is not None, "total": total, "rate": _rate(total, whole),
                "by_type": [{"type": kind, "count": n, "rate": _rate(n, whole)} for kind, n in counts]}

    def _duplicates(self, rows: int) -> dict[str, Any]:
        repeated, extra, synthetic = self.q(self.sql.duplicates())[0]
        fingerprint = [f for f in FINGERPRINTS if f in self.side.columns]
        pairs = None
        if fingerprint:
            repeated_pairs, natural = self.q(self.sql.natural_duplicates())[0]
            pairs = {"repeated_pairs": repeated_pairs, "extra_rows": int(natural), "rate": _rate(int(natural), rows)}
        return {"event_id": {"repeated_ids": repeated, "extra_rows": int(extra), "rate": _rate(int(extra), rows)},
                "event_id_fingerprint": pairs, "fingerprint_columns": fingerprint,
                "synthetic_event_ids": synthetic if fingerprint else None}

    def _schemas(self, types: list[tuple[Any, ...]], entities: list[dict[str, Any]]) -> dict[str, Any]:
        check = self.schemas
        used: list[dict[str, Any]] = []
        events: dict[Any, int] = defaultdict(int)
        for t in types:
            key = event_schema(*t[:4])
            if key is not None:
                events[key] += t[4]
        for key, count in sorted(events.items()):
            deprecation = check.deprecation(key)
            used.append({"schema": key.uri, "kind": "event", "events": count, "status": check.event_status(key),
                         "vendor": key.vendor, "name": key.name,
                         "deprecation": deprecation.to_json() if deprecation else None})
        for entity in entities:
            found = check.entity_deprecations(entity["column"])
            model = entity["schema"]
            vendor, name = (model[len("iglu:"):].split("/")[:2] if model else (None, None))
            used.append({"schema": model or entity["column"], "kind": "entity", "events": entity["events"],
                         "status": entity["status"], "vendor": vendor, "name": name,
                         "deprecation": found[0].to_json() if found else None})
        used.sort(key=lambda u: (u["kind"], u["schema"]))
        return {
            "checked": check.resolver is not None,
            "used": used,
            "unknown": [u["schema"] for u in used if u["status"] == "unknown"],
            "unresolved": [u["schema"] for u in used if u["status"] == "unresolved"],
            "unused": [k.uri for k in check.unused(events, (e["column"] for e in entities))],
            "deprecated": [{"schema": u["schema"], "kind": u["kind"], "events": u["events"], **u["deprecation"]}
                           for u in used if u["deprecation"]],
            "unlisted_repositories": dict(sorted(check.unlisted.items())),
        }

    def _naming(self, apps: list[tuple[Any, ...]], platforms: list[tuple[Any, ...]],
                schemas: dict[str, Any]) -> dict[str, Any]:
        values: dict[tuple[str, str], int] = defaultdict(int)
        for used in schemas["used"]:
            if used["vendor"] is not None:
                values[("vendor", used["vendor"])] += used["events"]
                values[("schema_name", used["name"])] += used["events"]
        for app_id, count, *_ in apps:
            if app_id is not None:
                values[("app_id", str(app_id))] += count
        for platform, count in platforms:
            if platform is not None:
                values[("platform", str(platform))] += count
        violations = [{"rule": rule, "value": value, "events": count, "expected": self.rules.expectation(rule)}
                      for (rule, value), count in sorted(values.items()) if self.rules.violates(rule, value)]
        return {"rules": self.rules.describe(), "violations": violations}
