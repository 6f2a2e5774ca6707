"""Which fields of an entity differ between the two sides' values (pure).

A modified ``contexts_*`` or ``unstruct_event_*`` column says which entity changed; the cutover needs the
field too (a wide-row side and a shredded side agree on the entity but a loader may mangle one field).
"""

from __future__ import annotations

from typing import Any

import orjson

#: Reported when the value is not an object (or array of objects) whose keys can be compared.
WHOLE_VALUE = "(value)"


def _parsed(value: Any) -> Any:
    """Drivers return JSON as text (DuckDB) or already parsed (psycopg's jsonb)."""
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value


def _object_fields(left: Any, right: Any) -> set[str]:
    if not isinstance(left, dict) or not isinstance(right, dict):
        return set() if left == right else {WHOLE_VALUE}
    absent = object()  # a key one side lacks differs from a key holding null (the nulls_omitted rule decides)
    return {key for key in left.keys() | right.keys() if left.get(key, absent) != right.get(key, absent)}


def differing_fields(left: Any, right: Any) -> set[str]:
    """Top-level field names that differ: per element, in order, for a context array; per key for an object."""
    left, right = _parsed(left), _parsed(right)
    if isinstance(left, list) and isinstance(right, list):
        fields: set[str] = set()
        for index in range(max(len(left), len(right))):
            a = left[index] if index < len(left) else {}
            b = right[index] if index < len(right) else {}
            fields |= _object_fields(a, b)
        return fields
    return _object_fields(left, right)
