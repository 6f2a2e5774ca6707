"""Durations as people write them on a command line or in a config: ``90s``, ``15m``, ``1h``, ``400d``.

One parser for every package (reconcile windows, privacy retention windows), so ``30d`` means
the same thing to each command.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+)(us|ms|s|m|h|d)$")
UNIT_US = {"us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``2d`` (also ``ms``, ``us``) -> microseconds; ValueError says how to write one."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit (us, ms, s, m, h, d), e.g. 1h or 15m")
    return int(match.group(1)) * UNIT_US[match.group(2)]


def format_duration(micros: int) -> str:
    if micros == 0:
        return "0s"
    for unit in ("d", "h", "m", "s", "ms"):
        if micros % UNIT_US[unit] == 0 and micros >= UNIT_US[unit]:
            return f"{micros // UNIT_US[unit]}{unit}"
    return f"{micros}us"
