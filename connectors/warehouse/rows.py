"""Canonical JSON rows -> typed warehouse rows (pure; the loader's hot path).

A canonical row is a dict keyed by warehouse column names holding only the
non-empty atomic fields (typed int/float/bool/str, timestamps as ISO-8601 UTC
text with 0-9 fractional digits) plus ``contexts_*`` lists and
``unstruct_event_*`` objects: the toolkit's ``canonical`` JSON profile
(:func:`toolkit.contract.profiles.canonical.to_dict`), whose extra keys are skipped.
Anything else is rejected with a reason that names the field, so a bad row is
explained rather than silently loaded or dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from connectors.warehouse.columns import ATOMIC_COLUMNS, ENTITY_KEY, entity_column
from toolkit.contract.fields import FieldKind
from toolkit.contract.profiles.canonical import EXTRA_KEYS

#: Canonical-profile keys that are not columns: ``geo_location`` repeats geo_latitude/longitude, ``_schemas``
#: and ``_tsv`` only serve to rebuild the TSV byte for byte.
IGNORED_KEYS = frozenset(EXTRA_KEYS)

_KIND: dict[str, FieldKind] = {c.name: c.kind for c in ATOMIC_COLUMNS if c.kind is not None}
_TSTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00|\+0000)?\Z", re.ASCII
)
MAX_EVENT_ID = 36
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
#: Columns whose value, when already of this exact Python type, needs no check or conversion.
_PLAIN: dict[str, type] = {
    c.name: {FieldKind.STRING: str, FieldKind.INT: int, FieldKind.DOUBLE: float, FieldKind.BOOL: bool}[c.kind]
    for c in ATOMIC_COLUMNS if c.kind in (FieldKind.STRING, FieldKind.INT, FieldKind.DOUBLE, FieldKind.BOOL)
}
_DATE_CACHE = 4096
_VALID_DATES: set[str] = set()
_ENTITY_COLUMNS: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a row came from: a file and line, or a Kafka topic, partition and offset.

    It is the row's identity for idempotency: loading the same provenance twice
    is a re-run, never a new row.
    """

    file: str | None = None
    line: int | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    @classmethod
    def file_line(cls, file: str, line: int) -> Provenance:
        return cls(file=file, line=line)

    @classmethod
    def kafka(cls, topic: str, partition: int, offset: int) -> Provenance:
        return cls(topic=topic, partition=partition, offset=offset)

    def __str__(self) -> str:
        if self.topic is not None:
            return f"{self.topic}[{self.partition}]@{self.offset}"
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class WarehouseRow:
    """A validated row: atomic values in column form, entity columns as parsed JSON (list or object)."""

    values: dict[str, Any]
    entities: dict[str, Any]
    provenance: Provenance
    row_fingerprint: str

    @property
    def event_id(self) -> str:
        return self.values["event_id"]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row was not loaded, and where it is, for a person to act on."""

    provenance: Provenance
    reasons: tuple[str, ...]
    event_id: str | None = None

    def __str__(self) -> str:
        who = f" (event_id {self.event_id})" if self.event_id else ""
        return f"{self.provenance}{who}: " + "; ".join(self.reasons)


class RowRejected(ValueError):
    """A canonical row that cannot be loaded; ``problem`` says why and where."""

    def __init__(self, problem: RowProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def normalise_tstamp(text: str) -> str:
    """ISO-8601 UTC text with 0-9 fractional digits -> ``YYYY-MM-DD HH:MM:SS.ffffff`` (truncated to µs).

    Raises ValueError for anything that is not a real UTC instant both warehouses can hold. Dates are
    checked once each (a stream repeats a handful of days), times by their digits.
    """
    match = _TSTAMP.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO-8601 UTC timestamp like 2021-10-13T20:22:10.423Z")
    year, month, day, hour, minute, second, frac = match.groups()
    date = text[:10]
    if date not in _VALID_DATES:
        try:
            datetime(int(year), int(month), int(day))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid date and time ({exc})") from None
        if len(_VALID_DATES) >= _DATE_CACHE:
            _VALID_DATES.clear()
        _VALID_DATES.add(date)
    if hour > "23" or minute > "59" or second > "59":
        raise ValueError(f"{text!r} is not a valid date and time (time out of range)")
    return f"{year}-{month}-{day} {hour}:{minute}:{second}.{(frac or '')[:6].ljust(6, '0')}"


def _check_value(name: str, kind: FieldKind, value: Any) -> tuple[Any, str | None]:
    if kind in (FieldKind.STRING, FieldKind.UUID):
        if not isinstance(value, str):
            return None, f"{name} must be a string, got {type(value).__name__}"
        if kind is FieldKind.UUID and len(value) > MAX_EVENT_ID:
            return None, f"{name} {value[:60]!r} is longer than a UUID ({MAX_EVENT_ID} characters)"
        return value, None
    if kind is FieldKind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"{name} must be an integer, got {value!r}"
        if not -(2**63) <= value < 2**63:
            return None, f"{name} {value} does not fit a 64-bit integer"
        return value, None
    if kind is FieldKind.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"{name} must be a number, got {value!r}"
        return float(value), None
    if kind is FieldKind.BOOL:
        if not isinstance(value, bool):
            return None, f"{name} must be true or false, got {value!r}"
        return value, None
    if kind is FieldKind.TSTAMP:
        if not isinstance(value, str):
            return None, f"{name} must be an ISO-8601 timestamp string, got {value!r}"
        try:
            return normalise_tstamp(value), None
        except ValueError as exc:
            return None, f"{name}: {exc}"
    return None, f"{name} has no column type"  # pragma: no cover - every atomic kind is handled above


def _entity_column(key: str) -> str | None:
    column = _ENTITY_COLUMNS.get(key)
    if column is None and ENTITY_KEY.match(key):
        if len(_ENTITY_COLUMNS) >= _DATE_CACHE:
            _ENTITY_COLUMNS.clear()
        column = _ENTITY_COLUMNS[key] = entity_column(key)
    return column


def to_warehouse_row(row: Mapping[str, Any], provenance: Provenance) -> WarehouseRow:
    """Validate and type one canonical JSON row; raise :class:`RowRejected` listing every problem.

    The common case (a value already of its column's Python type) costs one dict lookup and one type
    check; everything else goes through :func:`_check_value`, which explains what is wrong.
    """
    values: dict[str, Any] = {}
    entities: dict[str, Any] = {}
    problems: list[str] = []
    plain = _PLAIN
    for key, value in row.items():
        expected = plain.get(key)
        if expected is not None and type(value) is expected and (expected is not int or _INT_MIN <= value <= _INT_MAX):
            values[key] = value
            continue
        if value is None or key in IGNORED_KEYS:
            continue  # lossy formats write empty fields as null: same as absent
        kind = _KIND.get(key)
        if kind is not None:
            checked, problem = _check_value(key, kind, value)
            if problem:
                problems.append(problem)
            else:
                values[key] = checked
            continue
        column = _entity_column(key)
        if column is None:
            problems.append(
                f"unknown key {key!r}: expected a warehouse column name from the field table, "
                f"contexts_<vendor>_<name>_<major> or unstruct_event_<vendor>_<name>_<major>"
            )
        elif key.startswith("contexts_") and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            problems.append(f"{key} must be a list of entity objects")
        elif key.startswith("unstruct_event_") and not isinstance(value, dict):
            problems.append(f"{key} must be an object")
        else:
            entities[column] = value
    for required in ("event_id", "collector_tstamp"):
        if required not in values and not any(p.startswith(required) for p in problems):
            problems.append(f"{required} is required and missing")
    event_id = values.get("event_id") or (row.get("event_id") if isinstance(row.get("event_id"), str) else None)
    if problems:
        raise RowRejected(RowProblem(provenance, tuple(problems), event_id))
    fingerprint = values.get("event_fingerprint")
    if not fingerprint:
        content = orjson.dumps({**values, **entities}, option=orjson.OPT_SORT_KEYS)
        fingerprint = "sha1:" + hashlib.sha1(content).hexdigest()
    return WarehouseRow(values, entities, provenance, fingerprint)
