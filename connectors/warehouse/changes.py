"""Row changes a warehouse schema or a lake location applies: delete rows, or set columns, where a predicate holds.

A change is written once, as portable SQL (a predicate and column expressions that DuckDB, PostgreSQL
and Delta's DataFusion all read the same way: ``=``, ``IN``, ``strpos``, ``replace``, ``TIMESTAMP '...'``),
so a deletion request or a retention window means the same rows in every store it reaches. Counting
and changing use the same predicate, which is what makes a dry run's counts the real run's counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connectors.warehouse.backends import LoadBackend
from connectors.warehouse.columns import qualified, quote


@dataclass(frozen=True, slots=True)
class TableChange:
    """Rows of ``table`` where ``where`` holds are deleted (``set`` empty) or get ``set``'s column expressions."""

    table: str
    where: str
    set: Mapping[str, str] = field(default_factory=dict)

    @property
    def deletes(self) -> bool:
        return not self.set

    def assignments(self) -> str:
        return ", ".join(f"{quote(column)} = {expression}" for column, expression in self.set.items())


def matching_values(backend: LoadBackend, schema: str, table: str, column: str, where: str) -> list[str]:
    """The distinct non-null ``column`` values of the rows ``where`` selects (none when the table is absent)."""
    if not backend.table_exists(schema, table):
        return []
    rows = backend.query(f"SELECT DISTINCT {quote(column)} FROM {qualified(schema, table)} "
                         f"WHERE ({where}) AND {quote(column)} IS NOT NULL")
    return sorted(str(r[0]) for r in rows)


def apply_changes(backend: LoadBackend, schema: str, changes: Sequence[TableChange], dry_run: bool) -> dict[str, int]:
    """Count, and unless ``dry_run`` apply, every change in one transaction; rows affected per table.

    One transaction for the whole request: a warehouse is either done with the person or untouched,
    so a failure leaves nothing half-deleted to explain. A table that does not exist has no rows to change.
    """
    counts: dict[str, int] = {}
    backend.begin()
    try:
        for change in changes:
            counts.setdefault(change.table, 0)
            if not backend.table_exists(schema, change.table):
                continue
            target = qualified(schema, change.table)
            found = int(backend.query(f"SELECT count(*) FROM {target} WHERE {change.where}")[0][0])
            counts[change.table] += found
            if found and not dry_run:
                backend.execute(f"DELETE FROM {target} WHERE {change.where}" if change.deletes
                                else f"UPDATE {target} SET {change.assignments()} WHERE {change.where}")
    except Exception:
        backend.rollback()
        raise
    if dry_run:
        backend.rollback()
    else:
        backend.commit()
    return counts
