"""The ``format`` values Snowplow's validator enforces, implemented without optional packages.

Snowplow's Iglu client validates with networknt's draft-4 validator, which asserts the
common formats: real bad rows carry reports such as ``$.email: does not match the
wjr@w.w pattern email``. jsonschema's own checkers for these formats silently turn into
no-ops when optional packages are missing, which would make verdicts depend on what
happens to be installed; these checkers are plain functions instead. Formats not listed
(for example ``strict-uri`` in Iglu Central) are ignored, as draft 4 says; ``sptk iglu
lint`` warns about them.

The fast validation engine (:mod:`iglu_registry.fast_engine`) is handed these same functions,
so both engines agree on every format by construction.
"""

from __future__ import annotations

import calendar
import ipaddress
import re

from jsonschema import FormatChecker

# \Z, not $: Python's $ also matches before a final newline, which would let "…Z\n" pass as a date-time.
# re.ASCII where digits are meant: \d alone also matches "２０２４" (full-width) and int() accepts it.
# Ranges live in the patterns (one match decides nearly everything; these run for every
# date-time of every entity): year 0001-9999, month 01-12, day 01-31, hour 00-23, minute 00-59,
# second 00-60 (a leap second), zone offset below 24:00. Only days 29-31 need a calendar look.
_DATE_PART = r"((?!0000)\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_DATE_TIME = re.compile(
    rf"^{_DATE_PART}[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)\Z", re.ASCII)
_DATE = re.compile(rf"^{_DATE_PART}\Z", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*\Z")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time: a T, seconds, and a zone (Z or +hh:mm), all fields in range."""
    m = _DATE_TIME.match(value)
    return m is not None and (m[3] <= "28" or _day_exists(m[1], m[2], m[3]))


def is_date(value: str) -> bool:
    m = _DATE.match(value)
    return m is not None and (m[3] <= "28" or _day_exists(m[1], m[2], m[3]))


def _day_exists(year: str, month: str, day: str) -> bool:
    return int(day) <= calendar.monthrange(int(year), int(month))[1]


def is_email(value: str) -> bool:
    return _EMAIL.match(value) is not None


def is_hostname(value: str) -> bool:
    if not value or len(value) > 253:
        return False
    return all(_HOST_LABEL.match(label) for label in value.rstrip(".").split("."))


def is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def is_ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def is_uri(value: str) -> bool:
    """An absolute URI: a scheme, a colon, no whitespace."""
    return _URI.match(value) is not None


def is_uuid(value: str) -> bool:
    return _UUID.match(value) is not None


CHECKS = {
    "date-time": is_date_time,
    "date": is_date,
    "email": is_email,
    "hostname": is_hostname,
    "ipv4": is_ipv4,
    "ipv6": is_ipv6,
    "uri": is_uri,
    "uuid": is_uuid,
}

#: formats draft 4 defines or Snowplow's schemas commonly use; anything else is unknown to lint
KNOWN_FORMATS = frozenset(CHECKS) | {"regex", "uri-reference", "time"}


def format_checker() -> FormatChecker:
    """A FormatChecker with exactly the checks above (strings only; other types pass, as the spec says)."""
    checker = FormatChecker(formats=())
    for name, check in CHECKS.items():
        checker.checks(name)(lambda value, _check=check: not isinstance(value, str) or _check(value))
    return checker
