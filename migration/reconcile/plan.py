"""Which columns a reconciliation compares, decided from the two sides' actual columns (pure).

Atomic columns are compared when both sides have them (one missing on a side is
reported, not silently compared against NULL); entity columns are compared when
either side has them, because a context type the new path drops entirely is
exactly the kind of difference a cutover must see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from connectors.warehouse.columns import ATOMIC_COLUMNS, LOAD_NAMES, is_entity_column
from migration.reconcile.config import EVENT_TYPE_COLUMNS
from toolkit.contract.fields import FieldKind


class Category(Enum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    TSTAMP = "tstamp"
    JSON_ARRAY = "json_array"  # contexts_*
    JSON_OBJECT = "json_object"  # unstruct_event_*


_CATEGORY = {FieldKind.STRING: Category.TEXT, FieldKind.UUID: Category.TEXT, FieldKind.INT: Category.NUMBER,
             FieldKind.DOUBLE: Category.NUMBER, FieldKind.BOOL: Category.BOOL, FieldKind.TSTAMP: Category.TSTAMP}
ATOMIC_CATEGORY: dict[str, Category] = {c.name: _CATEGORY[c.kind] for c in ATOMIC_COLUMNS if c.kind}
REQUIRED = ("event_id", "collector_tstamp")


@dataclass(frozen=True, slots=True)
class PlannedColumn:
    name: str
    category: Category
    in_legacy: bool
    in_new: bool

    @property
    def is_json(self) -> bool:
        return self.category in (Category.JSON_ARRAY, Category.JSON_OBJECT)


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    compared: tuple[PlannedColumn, ...]
    type_columns: tuple[tuple[str, bool, bool], ...]  # (name, in legacy, in new)
    legacy_fingerprint: str | None
    new_fingerprint: str | None
    only_in_legacy: tuple[str, ...]  # atomic columns one side lacks (reported, not compared)
    only_in_new: tuple[str, ...]


class MissingColumns(ValueError):
    pass


def _fingerprint(columns: set[str]) -> str | None:
    for name in ("row_fingerprint", "event_fingerprint"):
        if name in columns:
            return name
    return None


def plan_columns(legacy: Iterable[str], new: Iterable[str], ignore: Iterable[str] = ()) -> ColumnPlan:
    left, right, skip = set(legacy), set(new), set(ignore)
    for side, cols in (("legacy", left), ("new", right)):
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise MissingColumns(f"the {side} events table has no {', '.join(missing)} column: it is not an "
                                 f"atomic.events table (columns found: {', '.join(sorted(cols)[:20])}...)")
    compared: list[PlannedColumn] = []
    for name, category in ATOMIC_CATEGORY.items():
        if name == "event_id" or name in skip or name in LOAD_NAMES:
            continue
        if name in left and name in right:
            compared.append(PlannedColumn(name, category, True, True))
    entities = sorted(c for c in left | right if is_entity_column(c) and c not in skip)
    for name in entities:
        category = Category.JSON_ARRAY if name.startswith("contexts_") else Category.JSON_OBJECT
        compared.append(PlannedColumn(name, category, name in left, name in right))
    atomic = set(ATOMIC_CATEGORY)
    return ColumnPlan(
        compared=tuple(compared),
        type_columns=tuple((c, c in left, c in right) for c in EVENT_TYPE_COLUMNS),
        legacy_fingerprint=_fingerprint(left),
        new_fingerprint=_fingerprint(right),
        only_in_legacy=tuple(sorted((left - right) & atomic)),
        only_in_new=tuple(sorted((right - left) & atomic)),
    )
