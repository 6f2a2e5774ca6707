"""The audit's SQL: every pass is one grouped scan the database runs; Python receives only aggregates.

The source is always seen through the embedded DuckDB (``migration.sources.open_source`` attaches DuckDB files,
scans lake files in place and stages the rest), so these are DuckDB statements. A column the source lacks reads
as NULL, so a narrow Parquet export is audited for what it holds instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.warehouse.columns import ATOMIC_COLUMNS, literal, quote
from toolkit.contract.fields import FieldKind

#: an event type, as the events table records it
TYPE_COLUMNS = ("event_vendor", "event_name", "event_format", "event_version")
#: fingerprint columns, the Snowplow field first: the loaders' own content hash stands in where it is empty
FINGERPRINTS = ("event_fingerprint", "row_fingerprint")
_TEXT = (FieldKind.STRING, FieldKind.UUID)


class AuditSql:
    def __init__(self, relation: str, columns: Sequence[str]) -> None:
        self.relation = relation
        self.columns = frozenset(columns)

    def col(self, name: str) -> str:
        return f"t.{quote(name)}" if name in self.columns else "CAST(NULL AS VARCHAR)"

    @property
    def types(self) -> str:
        return ", ".join(self.col(c) for c in TYPE_COLUMNS)

    def totals(self) -> str:
        return (f"SELECT count(*), count(DISTINCT t.event_id), min(t.collector_tstamp), max(t.collector_tstamp) "
                f"FROM {self.relation} t")

    def event_types(self) -> str:
        return (f"SELECT {self.types}, count(*), min(t.collector_tstamp), max(t.collector_tstamp) "
                f"FROM {self.relation} t GROUP BY ALL ORDER BY 5 DESC, 1, 2, 3, 4")

    def counted(self, keys: Sequence[str], seen: bool) -> str:
        """Rows per value of ``keys`` (with first and last ``collector_tstamp`` when ``seen``), most first."""
        cols = ", ".join(self.col(k) for k in keys)
        times = ", min(t.collector_tstamp), max(t.collector_tstamp)" if seen else ""
        order = ", ".join(str(i) for i in range(1, len(keys) + 1))
        return (f"SELECT {cols}, count(*){times} FROM {self.relation} t GROUP BY ALL "
                f"ORDER BY {len(keys) + 1} DESC, {order}")

    def entities(self, entity_columns: Sequence[str]) -> str:
        """Per event type: its rows and, per entity column, how many of them carry that entity."""
        counts = "".join(f", count({self.col(c)})" for c in entity_columns)
        return f"SELECT {self.types}, count(*){counts} FROM {self.relation} t GROUP BY ALL ORDER BY ALL"

    def fill(self, fields: Sequence[str], top: Sequence[tuple[object, ...]]) -> str:
        """Non-empty values per field: over everything (first column 0), and per event type for the ``top`` types
        (first column 1, then the type)."""
        kinds = {c.name: c.kind for c in ATOMIC_COLUMNS}
        counts = "".join(f", count(NULLIF(CAST({self.col(f)} AS VARCHAR), ''))" if kinds.get(f) in _TEXT
                         else f", count({self.col(f)})" for f in fields)
        overall = f"SELECT 0, NULL, NULL, NULL, NULL, count(*){counts} FROM {self.relation} t"
        if not top:
            return overall
        keys = " OR ".join("(" + " AND ".join(
            f"{self.col(c)} IS NOT DISTINCT FROM {'NULL' if v is None else literal(str(v))}"
            for c, v in zip(TYPE_COLUMNS, key, strict=True)) + ")" for key in top)
        return (f"{overall} UNION ALL SELECT 1, {self.types}, count(*){counts} FROM {self.relation} t WHERE {keys} "
                f"GROUP BY ALL")

    def fingerprint(self) -> str | None:
        """The fingerprint of a row: Snowplow's ``event_fingerprint``, else the loaders' content hash."""
        present = [f for f in FINGERPRINTS if f in self.columns]
        if not present:
            return None
        return "coalesce(" + ", ".join(f"CAST(t.{quote(f)} AS VARCHAR)" for f in present) + ")"

    def duplicates(self) -> str:
        """Event ids with more than one row: how many, their extra rows, and how many carry two fingerprints."""
        fp = f"coalesce({self.fingerprint()}, '')" if self.fingerprint() else "''"
        return (f"SELECT count(*), coalesce(sum(n - 1), 0), count(*) FILTER (WHERE f > 1) FROM (SELECT t.event_id, "
                f"count(*) AS n, count(DISTINCT {fp}) AS f FROM {self.relation} t GROUP BY t.event_id "
                f"HAVING count(*) > 1) d")

    def natural_duplicates(self) -> str:
        """(event id, fingerprint) pairs with more than one row, and their extra rows."""
        fp = self.fingerprint()
        return (f"SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT t.event_id, {fp} AS fp, count(*) AS n "
                f"FROM {self.relation} t WHERE {fp} IS NOT NULL GROUP BY ALL HAVING count(*) > 1) d")


def bad_counts(relation: str) -> str:
    return f"SELECT bad_row_type, count(*) FROM {relation} GROUP BY 1 ORDER BY 2 DESC, 1"
