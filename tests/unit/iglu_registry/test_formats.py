"""The format checkers both engines share: what passes, and the look-alikes that must not."""

from __future__ import annotations

import pytest

from iglu_registry.formats import CHECKS


@pytest.mark.parametrize(("fmt", "value"), [
    ("date-time", "2024-05-01T12:00:00Z"), ("date-time", "2024-05-01T12:00:00.123+02:00"),
    ("date-time", "2016-12-31T23:59:60Z"), ("date", "2024-02-29"), ("date", "2000-02-29"), ("date", "0001-01-01"),
    ("date-time", "2024-04-30T00:00:00-23:59"), ("email", "first.last+tag@sub.example.org"),
    ("hostname", "example.com"), ("hostname", "example.com."), ("ipv4", "192.168.0.1"), ("ipv6", "2001:db8::1"),
    ("uri", "https://example.com/a?b=1#c"), ("uri", "urn:isbn:0451450523"),
    ("uuid", "0b9f1a2e-1234-4abc-8def-0123456789ab"),
])
def test_well_formed_values_pass(fmt: str, value: str) -> None:
    assert CHECKS[fmt](value)


@pytest.mark.parametrize(("fmt", "value"), [
    # a final newline: Python's $ would accept it, Snowplow's validator does not
    ("date-time", "2024-05-01T12:00:00Z\n"), ("date", "2024-05-01\n"), ("email", "a@b.example\n"),
    ("hostname", "example.com\n"), ("uri", "https://example.com\n"), ("uuid", "0b9f1a2e-1234-4abc-8def-0123456789ab\n"),
    # digits that are digits only to Unicode-aware \d and int()
    ("date-time", "\uff12\uff10\uff12\uff14-05-01T12:00:00Z"), ("date", "\u0662\u0660\u0662\u0664-05-01"),
    ("date-time", "2024-02-30T00:00:00Z"), ("date-time", "2024-05-01 12:00:00Z"), ("date-time", "2024-05-01T12:00:00"),
    ("date", "2023-02-29"), ("date", "1900-02-29"), ("date", "2024-04-31"), ("date", "0000-01-01"),
    ("date-time", "2023-02-29T00:00:00Z"), ("date-time", "2024-05-01T24:00:00Z"),
    ("date-time", "2024-05-01T12:00:61Z"), ("date-time", "2024-05-01T12:00:00+24:00"), ("date", "2024-13-01"),
    ("email", "wjr@w"), ("hostname", "-bad.com"), ("hostname", "a..b"), ("hostname", "x" * 64 + ".com"),
    ("ipv4", "256.1.1.1"), ("ipv4", "1.2.3.4\n"), ("ipv6", "1::2::3"), ("uri", "/relative"), ("uri", "http://a b"),
    ("uuid", "0b9f1a2e12344abc8def0123456789ab"),
])
def test_look_alikes_fail(fmt: str, value: str) -> None:
    assert not CHECKS[fmt](value)
