"""The layout of a line: everything that depends only on which of its 131 fields are non-empty.

A stream has a few tens of line shapes, so the per-shape work (item getters, the
checks a shape needs, which fields are self-describing) is done once per shape and
cached here. Both the Python parser (:mod:`toolkit.contract.tsv`) and the native
bridge (:mod:`toolkit.contract.native_codec`) read it, which is why it is a module
of its own: neither has to import the other for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import compress
from operator import itemgetter
from typing import Any

from toolkit.contract.field_values import CERTAIN_PATTERNS
from toolkit.contract.fields import FIELD_COUNT, FIELDS, GEO_LATITUDE, GEO_LONGITUDE, Field, FieldKind
from toolkit.contract.sdj import SelfDescribingField, decode_contexts, decode_unstruct

#: how many distinct line shapes the parser remembers (a stream has tens; random input must not grow memory)
LAYOUT_CACHE_LIMIT = 4096

POSITIONS = range(FIELD_COUNT)
_REQUIRED = frozenset(f.position for f in FIELDS if f.required)
DECODERS: dict[FieldKind, Callable[[str, str], SelfDescribingField]] = {
    FieldKind.CONTEXTS: decode_contexts, FieldKind.DERIVED_CONTEXTS: decode_contexts,
    FieldKind.UNSTRUCT: decode_unstruct,
}
#: C-level callables typing a valid number text
_NUMBER_TYPE: dict[FieldKind, Callable[[str], Any]] = {FieldKind.INT: int, FieldKind.DOUBLE: float}


def _getter(positions: list[int]) -> Callable[[Any], tuple[Any, ...]]:
    """``itemgetter`` that always returns a tuple (``itemgetter(i)`` returns the bare item)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    if positions:
        only = positions[0]
        return lambda fields: (fields[only],)
    return lambda fields: ()


class Layout:
    """Everything that depends only on which fields of a line are non-empty, computed once per shape.

    The parser uses the checks; JSON writers use the getters and names, so they
    too touch only the fields that hold something.
    """

    __slots__ = ("present", "required_ok", "limited", "limits", "typed", "typed_pattern", "typed_kinds",
                 "self_describing", "strings", "string_names", "numbers", "number_names", "number_types", "tstamps",
                 "tstamp_names", "bools", "bool_names", "geo")

    def __init__(self, present: tuple[int, ...]) -> None:
        fields = [FIELDS[p] for p in present]
        self.present = present
        self.required_ok = _REQUIRED.issubset(present)
        limited = [f for f in fields if f.max_length]
        self.limited = _getter([f.position for f in limited])
        self.limits = tuple(f.max_length for f in limited)
        typed = [f for f in fields if f.kind in CERTAIN_PATTERNS]
        self.typed = _getter([f.position for f in typed])
        self.typed_kinds = tuple(f.kind for f in typed)
        self.typed_pattern: re.Pattern[str] | None = None  # see _typed_pattern
        self.self_describing = tuple((f.position, f.name, DECODERS[f.kind]) for f in fields
                                     if f.kind.is_self_describing)

        def kinds(*chosen: FieldKind) -> tuple[list[Field], Callable[[Any], tuple[Any, ...]], tuple[str, ...]]:
            picked = [f for f in fields if f.kind in chosen]
            return picked, _getter([f.position for f in picked]), tuple(f.name for f in picked)

        _, self.strings, self.string_names = kinds(FieldKind.STRING, FieldKind.UUID)
        numbers, self.numbers, self.number_names = kinds(FieldKind.INT, FieldKind.DOUBLE)
        self.number_types = tuple(_NUMBER_TYPE[f.kind] for f in numbers)
        _, self.tstamps, self.tstamp_names = kinds(FieldKind.TSTAMP)
        _, self.bools, self.bool_names = kinds(FieldKind.BOOL)
        self.geo = GEO_LATITUDE in present and GEO_LONGITUDE in present


LAYOUTS: dict[tuple[int, ...], Layout] = {}


def layout_of(fields: tuple[str, ...] | list[str]) -> Layout:
    """The (cached) layout of a line's 131 fields."""
    key = tuple(compress(POSITIONS, fields))
    layout = LAYOUTS.get(key)
    if layout is None:
        if len(LAYOUTS) >= LAYOUT_CACHE_LIMIT:
            LAYOUTS.clear()
        layout = LAYOUTS[key] = Layout(key)
    return layout
