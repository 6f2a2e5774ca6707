"""How the JVM and Go spell numbers and instants, for profiles that must match those SDKs' text.

Python's ``repr(float)`` and the JVM and Go all print the *shortest* digits that
read back to the same double; they differ only in layout (``1.0E7`` vs ``1e+07``
vs ``10000000``), so each function here takes Python's digits and lays them out
the other runtime's way.
"""

from __future__ import annotations

from decimal import Decimal

from toolkit.contract.event import Timestamp


def _shortest_digits(value: float) -> tuple[str, int]:
    """``(digits, exponent)`` with ``value == 0.digits * 10**exponent`` up to sign, shortest round-trip digits."""
    _, digits, exp = Decimal(repr(abs(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    return text, len(digits) + int(exp)


def java_double(value: float) -> str:
    """``java.lang.Double.toString``: ``37.443604``, ``100.0``, ``1.0E7``, ``1.0E-4``."""
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(value)
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        whole, fraction = digits[:point].ljust(point, "0"), digits[point:]
        return f"{sign}{whole}.{fraction or '0'}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{point - 1}"


def go_float(value: float) -> str:
    """Go's ``encoding/json`` (and jsoniter) for a float64: ``37.443604``, ``100``, ``1e-07`` as ``1e-7``, ``1e+21``."""
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(value)
    if 1e-6 <= abs(value) < 1e21:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{point - 1:+03d}".replace("e-0", "e-")


def java_instant(ts: Timestamp) -> str:
    """``java.time.Instant.toString``: the fraction in groups of 3 digits, none when zero."""
    year, month, day, hour, minute, second, nano = ts.parts
    if nano == 0:
        fraction = ""
    elif nano % 1_000_000 == 0:
        fraction = f".{nano // 1_000_000:03d}"
    elif nano % 1000 == 0:
        fraction = f".{nano // 1000:06d}"
    else:
        fraction = f".{nano:09d}"
    year_text = f"{year:04d}" if 0 <= year <= 9999 else (f"+{year}" if year > 9999 else f"-{-year:04d}")
    return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z"


def go_rfc3339_nano(ts: Timestamp) -> str:
    """Go's ``time.Time`` JSON (RFC 3339 with nanoseconds, trailing zeros dropped); years 0 to 9999 only."""
    year, month, day, hour, minute, second, nano = ts.parts
    if not 0 <= year <= 9999:
        raise ValueError(f"Go's time package cannot read or write the year {year} in {ts}")
    fraction = f".{nano:09d}".rstrip("0") if nano else ""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z"
