"""What a valid value of each field kind looks like, and how its text becomes a typed value.

The parser checks whole lines against the patterns here (one regular expression
per line shape, see :mod:`toolkit.contract.tsv`); the event types a field from its text
on demand with :func:`typed_value`. Both read the same definitions, so "valid"
and "typed" cannot drift apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from toolkit.contract.fields import Field, FieldKind

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

#: One valid non-empty value of each atomic kind, as a regular expression (ASCII digits only).
#: Timestamps: Snowplow writes UTC as "YYYY-MM-DD HH:MM:SS" with 0 to 9 fraction digits (ms from
#: trackers, ns from some loaders). The Scala SDK reads them with java.time.Instant, which also takes
#: year 0000 and negative years; so do we, and leave range limits to each warehouse loader.
PATTERNS: dict[FieldKind, str] = {
    FieldKind.TSTAMP: (r"-?[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) "
                       r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"),
    FieldKind.INT: r"[+-]?[0-9]+",
    FieldKind.DOUBLE: r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?",
    FieldKind.BOOL: r"[01]",
    FieldKind.UUID: r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}

#: Narrower patterns whose every match is valid without further checks: no day a month lacks (and no
#: 29 February at all), ints within 32 bits, doubles far from overflow. A value outside them may still
#: be valid (29 February 2024, -2147483648, 1e-300); the parser then types it with the converters below.
CERTAIN_PATTERNS: dict[FieldKind, str] = {
    **PATTERNS,
    FieldKind.TSTAMP: (r"-?[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-"
                       r"(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8])) "
                       r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"),
    FieldKind.INT: (r"[+-]?0*(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
                    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]"
                    r"|214748364[0-7])"),
    FieldKind.DOUBLE: r"[+-]?(?:[0-9]{1,200}(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?",
}
_FULL = {kind: re.compile(pattern, re.ASCII) for kind, pattern in PATTERNS.items()}
_LOOSE_TSTAMP = re.compile(r"(-?[0-9]+)-([0-9]+)-([0-9]+) ([0-9]+):([0-9]+):([0-9]+)(?:\.([0-9]*))?", re.ASCII)
_ISO_PARTS = re.compile(r"(-?[0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z",
                        re.ASCII)


def days_in_month(year: int, month: int) -> int:
    """Proleptic Gregorian, like java.time (year 0 is a leap year)."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


class Timestamp(str):
    """An enriched-event timestamp, held as ISO-8601 UTC text: ``2013-11-26T00:02:05.123Z``.

    A ``str`` because that is what JSON carries, and because ``datetime`` can hold
    neither the nanoseconds some loaders write nor the year-0000 and negative-year
    values Snowplow's Scala parser lets through. :meth:`to_datetime` gives a
    ``datetime`` when one can hold the value.
    """

    __slots__ = ()

    @classmethod
    def from_tsv(cls, text: str) -> Timestamp:
        """Read the TSV form ``YYYY-MM-DD HH:MM:SS[.f]``; ``ValueError`` says precisely what is wrong."""
        if _FULL[FieldKind.TSTAMP].fullmatch(text) is None:
            raise ValueError(_why_not_a_timestamp(text))
        date = text[:text.index(" ")]
        year, month, day = int(date[:-6]), int(date[-5:-3]), int(date[-2:])
        if day > 28 and day > days_in_month(year, month):
            raise ValueError(f"{date[:-3]} has no day {day}")
        return cls(text.replace(" ", "T") + "Z")

    @property
    def tsv(self) -> str:
        """The text as the TSV line spells it."""
        return self[:-1].replace("T", " ")

    @property
    def parts(self) -> tuple[int, int, int, int, int, int, int]:
        """``(year, month, day, hour, minute, second, nanosecond)``."""
        m = _ISO_PARTS.fullmatch(self)
        if m is None:  # only possible for a Timestamp built by hand from a bad string
            raise ValueError(f"{str(self)!r} is not an ISO-8601 UTC timestamp such as 2013-11-26T00:02:05.123Z")
        fraction = m[7] or ""
        return (int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]),
                int(fraction.ljust(9, "0")) if fraction else 0)

    @property
    def nanosecond(self) -> int:
        return self.parts[6]

    def to_datetime(self) -> datetime:
        """An aware UTC ``datetime``, truncated to microseconds; ``ValueError`` outside years 1 to 9999."""
        year, month, day, hour, minute, second, nano = self.parts
        if not 1 <= year <= 9999:
            raise ValueError(f"{self} is outside the years 1 to 9999 that datetime can hold")
        return datetime(year, month, day, hour, minute, second, nano // 1000, tzinfo=UTC)


def _why_not_a_timestamp(text: str) -> str:
    expected = "expected 'YYYY-MM-DD HH:MM:SS' in UTC with an optional fraction of 1 to 9 digits"
    if "T" in text or text.endswith("Z"):
        return "it looks like ISO-8601 with 'T'/'Z', but enriched TSV timestamps are 'YYYY-MM-DD HH:MM:SS[.f]' in UTC"
    m = _LOOSE_TSTAMP.fullmatch(text)
    if m is None:
        return expected
    names = ("year", "month", "day", "hour", "minute", "second")
    limits = ((0, 9999), (1, 12), (1, 31), (0, 23), (0, 59), (0, 59))
    for name, part, (low, high) in zip(names, m.groups()[:6], limits, strict=True):
        digits = part.lstrip("-")
        width = 4 if name == "year" else 2
        if len(digits) != width:
            return f"the {name} {part!r} must have {width} digits; {expected}"
        if not low <= int(digits) <= high:
            return f"the {name} {part} is out of range {low}-{high}"
    fraction = m[7]
    if fraction is not None and not 1 <= len(fraction) <= 9:
        return f"the fraction of a second must have 1 to 9 digits, not {len(fraction)}"
    return expected


# --- text to typed value: each returns the value or raises ValueError with the end of a sentence ---------------


def to_int(text: str) -> int:
    if _FULL[FieldKind.INT].fullmatch(text) is None:
        raise ValueError("is not an integer (expected an optional sign and the digits 0-9)")
    value = int(text)
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(f"is out of range for a 32-bit integer ({INT32_MIN} to {INT32_MAX}), "
                         "the type of this atomic.events column")
    return value


def to_double(text: str) -> float:
    if _FULL[FieldKind.DOUBLE].fullmatch(text) is None:
        raise ValueError("is not a decimal number (digits with an optional sign, point and exponent; "
                         "NaN, Infinity, hex and spaces are not accepted)")
    value = float(text)
    if math.isinf(value):
        raise ValueError("is too large for a double")
    return value


def to_bool(text: str) -> bool:
    if text == "1":
        return True
    if text == "0":
        return False
    raise ValueError("is not a boolean (expected 1 or 0)")


def to_uuid(text: str) -> str:
    if _FULL[FieldKind.UUID].fullmatch(text) is None:
        raise ValueError("is not a UUID (expected 8-4-4-4-12 hexadecimal digits)")
    return text


def to_timestamp(text: str) -> Timestamp:
    try:
        return Timestamp.from_tsv(text)
    except ValueError as exc:
        raise ValueError(f"is not a valid timestamp: {exc}") from None


def _plain_text(text: str) -> str:
    return text


CONVERTERS: dict[FieldKind, Callable[[str], Any]] = {
    FieldKind.STRING: _plain_text,
    FieldKind.UUID: to_uuid,
    FieldKind.INT: to_int,
    FieldKind.DOUBLE: to_double,
    FieldKind.BOOL: to_bool,
    FieldKind.TSTAMP: to_timestamp,
}


def typed_value(f: Field, text: str) -> Any:
    """The typed value of a non-self-describing field's text (``None`` when empty); ``ValueError`` if invalid."""
    if not text:
        return None
    return CONVERTERS[f.kind](text)


def is_shortest(value: int | float, text: str) -> bool:
    """Whether ``text`` is how the value is spelled by default (``str`` for ints, ``repr`` for doubles).

    JSON carries the value, not its text; a writer that must give the TSV back
    keeps the text of the fields for which this is false (``12.50``, ``+3``).
    """
    return (repr(value) if type(value) is float else str(value)) == text
