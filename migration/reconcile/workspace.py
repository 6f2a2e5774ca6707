"""Where the comparison runs: one SQL engine that can see both sides (and their bad output)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.warehouse.backends import ReadBackend


class SourceFailed(RuntimeError):
    """A source could not be read to the end; the reconciliation cannot decide and says which and why."""


@dataclass(slots=True)
class Side:
    name: str  # "legacy" or "new"
    description: str  # for people: the source as given, without secrets
    relation: str  # SQL relation of the events table, as seen from the workspace backend
    columns: list[str]
    bad_relation: str | None = None  # SQL relation with event_id and bad_row_type, when the side declares one
    storage_table: str | None = None  # DuckDB only: the table name pragma_storage_info takes, for its statistics
    #: Loaded by sptk for this run (jsonl:, tsv:): its load_tstamp is the run's, so freshness says nothing.
    staged: bool = False
    #: Parquet files DuckDB reads in place: a count per column is answered mostly from the files' statistics.
    parquet: bool = False


@dataclass(slots=True)
class Workspace:
    backend: ReadBackend
    legacy: Side
    new: Side
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, action: Callable[[], None]) -> None:
        self._cleanups.append(action)

    def close(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
