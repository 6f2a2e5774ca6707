"""The row stores a request reaches: a warehouse schema (DuckDB, PostgreSQL) and a lake location.

Each opens its store only when it runs, so a store that cannot be reached fails as that one target
(reported, and done again by a re-run) instead of stopping the whole request before it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.privacy.subject import Subject, forget_changes, retention_changes
from connectors.warehouse.backends import open_backend
from connectors.warehouse.changes import TableChange, apply_changes, matching_values
from connectors.warehouse.lakes import LakeURL, open_table
from connectors.warehouse.lakes.changes import apply_change
from connectors.warehouse.lakes.changes import matching_values as lake_matching_values
from connectors.warehouse.url import WarehouseURL

Counts = dict[str, int]
Detail = dict[str, Any]


class WarehouseStore:
    """``<schema>.events`` and ``<schema>.bad_rows`` of one warehouse; one transaction per request."""

    def __init__(self, url: WarehouseURL) -> None:
        self.url = url
        self.name = f"warehouse {url}"

    def _run(self, subject: Subject | None, changes: list[TableChange] | None, pseudonym: str | None,
             dry_run: bool) -> Counts:
        backend = open_backend(self.url)
        try:
            if subject is not None:
                ids = matching_values(backend, self.url.schema, "events", "event_id", subject.events_where)
                changes = forget_changes(subject, ids, pseudonym)
            return apply_changes(backend, self.url.schema, changes or [], dry_run)
        finally:
            backend.close()

    def forget(self, subject: Subject, pseudonym: str | None, dry_run: bool, previous: Any = None
               ) -> tuple[Counts, Detail]:
        return self._run(subject, None, pseudonym, dry_run), {}

    def retain(self, cutoffs: Mapping[str, datetime], dry_run: bool) -> tuple[Counts, Detail]:
        return self._run(None, retention_changes(cutoffs), None, dry_run), {}


class LakeStore:
    """``events`` and ``bad_rows`` of a lake location kafka-load writes (Parquet, Delta, Iceberg)."""

    def __init__(self, url: LakeURL) -> None:
        self.url = url
        self.name = f"lake {url}"

    def _apply(self, changes: list[TableChange], dry_run: bool) -> Counts:
        counts: Counts = {}
        for change in changes:  # bad rows first (see forget_changes): each table commits on its own
            counts[change.table] = counts.get(change.table, 0) + apply_change(
                open_table(self.url, change.table), change, dry_run)
        return counts

    def forget(self, subject: Subject, pseudonym: str | None, dry_run: bool, previous: Any = None
               ) -> tuple[Counts, Detail]:
        ids = lake_matching_values(open_table(self.url, "events"), "event_id", subject.events_where)
        return self._apply(forget_changes(subject, ids, pseudonym), dry_run), {}

    def retain(self, cutoffs: Mapping[str, datetime], dry_run: bool) -> tuple[Counts, Detail]:
        return self._apply(retention_changes(cutoffs), dry_run), {}
