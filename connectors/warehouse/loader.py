"""The idempotent warehouse loader used by both the legacy and the Kafka path.

A row's identity is its provenance (file+line, or topic+partition+offset), so a
re-run or a replay never adds a row. On top of that, ``dedup`` chooses how
natural duplicates (same ``event_id`` and fingerprint) collapse, mirroring the
legacy loaders' settings; synthetic duplicates (same id, other fingerprint) are
always kept and flagged in ``synthetic_duplicate``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from connectors.warehouse.backends import STAGE_TABLE, LoadBackend, open_backend
from connectors.warehouse.bad_rows import BadRowRecord
from connectors.warehouse.columns import (
    ATOMIC_COLUMNS,
    BAD_ROW_COLUMNS,
    LOAD_COLUMNS,
    Column,
    Dialect,
    entity_type,
    events_ddl,
    qualified,
    quote,
)
from connectors.warehouse.rows import Provenance, RowProblem, RowRejected, WarehouseRow, to_warehouse_row
from connectors.warehouse.url import WarehouseURL, parse_warehouse_url

DEFAULT_BATCH = 50_000
#: Problems kept verbatim in a report; the count is always exact.
MAX_PROBLEMS_KEPT = 1000


class Dedup(Enum):
    """How natural duplicates collapse (the legacy loaders' choices)."""

    NONE = "none"  # keep every input row (a re-run still adds nothing: provenance is the identity)
    IN_BATCH = "in-batch"  # collapse within one load batch
    CROSS_BATCH = "cross-batch"  # also against everything already in the table (the Kafka path default)


@dataclass(slots=True)
class LoadReport:
    read: int = 0
    inserted: int = 0
    already_loaded: int = 0
    natural_duplicates: int = 0  # collapsed, not inserted
    synthetic_event_ids: int = 0  # event ids newly flagged as synthetic duplicates
    rejected: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    def add(self, other: LoadReport) -> None:
        self.read += other.read
        self.inserted += other.inserted
        self.already_loaded += other.already_loaded
        self.natural_duplicates += other.natural_duplicates
        self.synthetic_event_ids += other.synthetic_event_ids
        self.rejected += other.rejected
        self.problems.extend(other.problems[: max(0, MAX_PROBLEMS_KEPT - len(self.problems))])

    def summary(self) -> str:
        return (f"read {self.read}, inserted {self.inserted}, already loaded {self.already_loaded}, "
                f"natural duplicates collapsed {self.natural_duplicates}, "
                f"event ids flagged synthetic {self.synthetic_event_ids}, rejected {self.rejected}")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Warehouse:
    """One warehouse schema (``<schema>.events`` and ``<schema>.bad_rows``) that rows are loaded into."""

    def __init__(self, url: WarehouseURL, backend: LoadBackend) -> None:
        self.url = url
        self.backend = backend
        self.schema = url.schema
        self._columns: set[str] = set()

    @classmethod
    def open(cls, url: str | WarehouseURL) -> Warehouse:
        parsed = parse_warehouse_url(url) if isinstance(url, str) else url
        warehouse = cls(parsed, open_backend(parsed))
        warehouse.ensure_tables()
        return warehouse

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()

    @property
    def dialect(self) -> Dialect:
        return self.backend.dialect

    @property
    def events(self) -> str:
        return qualified(self.schema, "events")

    @property
    def bad_rows(self) -> str:
        return qualified(self.schema, "bad_rows")

    def ensure_tables(self) -> None:
        for statement in events_ddl(self.schema, self.dialect):
            self.backend.execute(statement)
        self._columns = set(self.backend.columns(self.schema, "events"))

    def entity_columns(self) -> list[str]:
        return sorted(c for c in self._columns if c.startswith(("contexts_", "unstruct_event_")))

    def _add_entity_columns(self, names: Iterable[str]) -> None:
        for name in sorted(set(names) - self._columns):
            self.backend.execute(
                f"ALTER TABLE {self.events} ADD COLUMN IF NOT EXISTS {quote(name)} "
                f"{entity_type(name).sql_type(self.dialect)}"
            )
            self._columns.add(name)

    # -- loading -------------------------------------------------------------------------------------------

    def load(self, rows: Iterable[tuple[Mapping[str, Any], Provenance]], dedup: Dedup = Dedup.CROSS_BATCH,
             batch_size: int = DEFAULT_BATCH, whole_call_is_one_batch: bool = False) -> LoadReport:
        """Load canonical JSON rows with their provenance, in chunks of ``batch_size``; say what became of each.

        ``in-batch`` dedup collapses within a chunk, or within the whole call when ``whole_call_is_one_batch``
        (the legacy path: one archive file is one legacy batch).
        """
        total = LoadReport()
        iterator = iter(rows)
        seen: set[tuple[str, str]] | None = set() if whole_call_is_one_batch else None
        while batch := list(itertools.islice(iterator, batch_size)):
            total.add(self._load_batch(batch, dedup, set() if seen is None else seen))
        return total

    def _load_batch(self, batch: list[tuple[Mapping[str, Any], Provenance]], dedup: Dedup,
                    seen: set[tuple[str, str]]) -> LoadReport:
        report = LoadReport(read=len(batch))
        good: list[WarehouseRow] = []
        for raw, provenance in batch:
            try:
                row = to_warehouse_row(raw, provenance)
            except RowRejected as rejected:
                report.rejected += 1
                report.problems.append(rejected.problem)
                continue
            if dedup is not Dedup.NONE:
                key = (row.event_id, row.row_fingerprint)
                if key in seen:
                    report.natural_duplicates += 1
                    continue
                seen.add(key)
            good.append(row)
        if not good:
            return report
        entity_names = sorted({name for row in good for name in row.entities})
        self._add_entity_columns(entity_names)
        # Only the columns some row of the batch fills: most of the 128 atomic fields are empty in real events,
        # and every column staged costs a conversion per row.
        present = set().union(*(row.values.keys() for row in good))
        columns: list[Column] = [*(c for c in ATOMIC_COLUMNS if c.name in present), *LOAD_COLUMNS,
                                 *(entity_type(n) for n in entity_names)]
        load_tstamp = _now()

        def values() -> Iterator[dict[str, Any]]:
            for row in good:
                p = row.provenance
                yield {**row.values, "load_tstamp": load_tstamp, "load_file": p.file, "load_line": p.line,
                       "load_topic": p.topic, "load_partition": p.partition, "load_offset": p.offset,
                       "row_fingerprint": row.row_fingerprint, "synthetic_duplicate": False, **row.entities}

        self.backend.begin()
        try:
            self.backend.stage(columns, values())
            counts = self._merge(columns, dedup)
            self.backend.commit()
        except Exception:
            self.backend.rollback()
            raise
        report.already_loaded, natural_in_table, report.inserted, report.synthetic_event_ids = counts
        report.natural_duplicates += natural_in_table
        return report

    def _merge(self, columns: list[Column], dedup: Dedup) -> tuple[int, int, int, int]:
        """Insert the staged rows that are new; return (already loaded, natural dups, inserted, newly synthetic)."""
        stage, events = quote(STAGE_TABLE), self.events
        if self.dialect is Dialect.POSTGRES:
            # Two loaders of one schema (sidecars) must not both decide a row is new.
            self.backend.execute(f"LOCK TABLE {events} IN SHARE ROW EXCLUSIVE MODE")
        # Flag the staged rows with set-based joins (hash joins on both engines), then insert the unflagged.
        self.backend.execute(f"ALTER TABLE {stage} ADD COLUMN _already BOOLEAN DEFAULT FALSE")
        self.backend.execute(f"ALTER TABLE {stage} ADD COLUMN _natural BOOLEAN DEFAULT FALSE")
        if self.dialect is Dialect.POSTGRES:
            self.backend.execute(f"ANALYZE {stage}")
        self.backend.execute(f"UPDATE {stage} SET _already = TRUE FROM {events} e "
                             f"WHERE e.load_file = {stage}.load_file AND e.load_line = {stage}.load_line")
        self.backend.execute(f"UPDATE {stage} SET _already = TRUE FROM {events} e "
                             f"WHERE e.load_topic = {stage}.load_topic AND e.load_partition = {stage}.load_partition "
                             f"AND e.load_offset = {stage}.load_offset")
        if dedup is Dedup.CROSS_BATCH:
            self.backend.execute(f"UPDATE {stage} SET _natural = TRUE FROM {events} e "
                                 f"WHERE NOT {stage}._already AND e.event_id = {stage}.event_id "
                                 f"AND e.row_fingerprint = {stage}.row_fingerprint")
        staged, n_already, n_natural = self.backend.query(
            f"SELECT count(*), count(*) FILTER (WHERE _already), count(*) FILTER (WHERE _natural) FROM {stage}"
        )[0]
        names = ", ".join(quote(c.name) for c in columns)
        self.backend.execute(f"INSERT INTO {events} ({names}) SELECT {names} FROM {stage} "
                             f"WHERE NOT _already AND NOT _natural")
        synthetic = (f"SELECT event_id FROM {events} WHERE event_id IN (SELECT event_id FROM {stage}) "
                     f"GROUP BY event_id HAVING count(DISTINCT row_fingerprint) > 1")
        newly = self.backend.query(
            f"SELECT count(*) FROM ({synthetic} AND bool_or(NOT synthetic_duplicate)) t"
        )[0][0]
        if newly:
            self.backend.execute(f"UPDATE {events} SET synthetic_duplicate = TRUE "
                                 f"WHERE NOT synthetic_duplicate AND event_id IN ({synthetic})")
        self.backend.execute(f"DROP TABLE {stage}")
        return n_already, n_natural, staged - n_already - n_natural, newly

    def load_bad_rows(self, records: Iterable[BadRowRecord]) -> int:
        """Add bad-row records to ``<schema>.bad_rows`` (idempotent by provenance); return how many were new."""
        load_tstamp = _now()
        rows = [{"event_id": r.event_id, "bad_row_type": r.bad_row_type, "failure": r.failure,
                 "load_tstamp": load_tstamp, "load_file": r.provenance.file, "load_line": r.provenance.line,
                 "load_topic": r.provenance.topic, "load_partition": r.provenance.partition,
                 "load_offset": r.provenance.offset} for r in records]
        if not rows:
            return 0
        stage, bad = quote(STAGE_TABLE), self.bad_rows
        names = ", ".join(quote(c.name) for c in BAD_ROW_COLUMNS)
        self.backend.begin()
        try:
            self.backend.stage(BAD_ROW_COLUMNS, rows)
            before = self.backend.query(f"SELECT count(*) FROM {bad}")[0][0]
            self.backend.execute(
                f"INSERT INTO {bad} ({names}) SELECT {names} FROM {stage} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {bad} b WHERE (b.load_file = s.load_file AND b.load_line = s.load_line) "
                f"OR (b.load_topic = s.load_topic AND b.load_partition = s.load_partition "
                f"AND b.load_offset = s.load_offset))"
            )
            after = self.backend.query(f"SELECT count(*) FROM {bad}")[0][0]
            self.backend.execute(f"DROP TABLE {stage}")
            self.backend.commit()
        except Exception:
            self.backend.rollback()
            raise
        return after - before
