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

import ipaddress
import re
from datetime import date, datetime

from jsonschema import FormatChecker

# \Z, not $: Python's $ also matches before a final newline, which would let "…Z\n" pass as a date-time.
# re.ASCII where digits are meant: \d alone also matches "２０２４" (full-width) and int() accepts it.
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*\Z")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time: a T, seconds, and a zone (Z or +hh:mm), all fields in range."""
    m = _DATE_TIME.match(value)
    if m is None:
        return False
    try:
        datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), min(int(m[6]), 59))
    except ValueError:
        return False
    if int(m[6]) > 60:
        return False
    zone = m[8]
    return zone in ("Z", "z") or (int(zone[1:3]) < 24 and int(zone[4:6]) < 60)


def is_date(value: str) -> bool:
    if _DATE.match(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


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
