"""What a reconciliation compares and how strictly: windows, lookback, normalisation rules, tolerances.

Normalisation rules are declared here, not buried in SQL, because each one hides a
known, harmless difference between loaders; a team must be able to see which are
on and switch any of them off when it wants the raw truth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

_DURATION = re.compile(r"^(\d+)(us|ms|s|m|h|d)$")
_UNIT_US = {"us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}
PRECISIONS = {"us": 1, "ms": 1_000, "s": 1_000_000}

#: Key metrics and their default relative tolerances (0 = must be equal).
METRICS: dict[str, float] = {"page_views": 0.0, "sessions": 0.0, "users": 0.0, "tr_total": 1e-9}

#: Warn-level findings that ``--fail-on`` can turn into failures.
FAIL_ON_CHOICES = ("pending", "rejected", "null_only", "duplicates", "warn")

#: The columns that identify an event type for per-type parity.
EVENT_TYPE_COLUMNS = ("event_vendor", "event_name", "event_version", "app_id", "platform")


class ConfigError(ValueError):
    pass


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``2d`` (also ``ms``, ``us``) -> microseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ConfigError(f"{text!r} is not a duration: use a number and a unit (us, ms, s, m, h, d), e.g. 1h or 15m")
    return int(match.group(1)) * _UNIT_US[match.group(2)]


def format_duration(micros: int) -> str:
    if micros == 0:
        return "0s"
    for unit in ("d", "h", "m", "s", "ms"):
        if micros % _UNIT_US[unit] == 0 and micros >= _UNIT_US[unit]:
            return f"{micros // _UNIT_US[unit]}{unit}"
    return f"{micros}us"


@dataclass(frozen=True, slots=True)
class Rules:
    """Known loader differences that are not data differences. All on by default."""

    #: An empty string equals NULL, and JSON keys whose value is null are dropped (lossy vs sparse formats).
    nulls_omitted: bool = True
    #: ``_schema_version`` in context entities (Scala analytics SDK >= 3.2) is ignored.
    schema_version: bool = True
    #: JSON is compared as values, so key order does not matter.
    json_key_order: bool = True
    #: Timestamps are equal when closer than this unit (``us`` = exact): ms vs µs loaders agree at ``ms``.
    timestamp_precision: str = "ms"

    @property
    def precision_us(self) -> int:
        return PRECISIONS[self.timestamp_precision]

    def with_settings(self, settings: Iterable[str]) -> Rules:
        """Apply ``name=on|off`` (and ``timestamp_precision=us|ms|s``) settings, refusing unknown ones."""
        rules = self
        booleans = {"on": True, "true": True, "off": False, "false": False}
        for setting in settings:
            name, _, value = setting.partition("=")
            name, value = name.strip(), value.strip().lower()
            if name == "timestamp_precision":
                if value in ("off", "false"):
                    value = "us"
                if value not in PRECISIONS:
                    raise ConfigError(f"timestamp_precision must be one of us, ms, s (or off), not {value!r}")
                rules = replace(rules, timestamp_precision=value)
            elif name in ("nulls_omitted", "schema_version", "json_key_order"):
                if value not in booleans:
                    raise ConfigError(f"rule {name} takes on or off, not {value!r}")
                rules = replace(rules, **{name: booleans[value]})
            else:
                raise ConfigError(f"unknown rule {name!r}; rules are nulls_omitted, schema_version, json_key_order, "
                                  f"timestamp_precision")
        return rules

    def describe(self) -> dict[str, object]:
        return {"nulls_omitted": self.nulls_omitted, "schema_version": self.schema_version,
                "json_key_order": self.json_key_order, "timestamp_precision": self.timestamp_precision}


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    window_us: int = 3_600_000_000
    lookback_us: int = 7_200_000_000
    rules: Rules = field(default_factory=Rules)
    tolerances: Mapping[str, float] = field(default_factory=lambda: dict(METRICS))
    #: Unexplained differences allowed per event type, relative to its legacy count.
    type_tolerance: float = 0.0
    sample_size: int = 10
    fail_on: frozenset[str] = frozenset()
    ignore_columns: frozenset[str] = frozenset()
    #: The "now" that lookback counts back from; default: the latest collector_tstamp on either side.
    as_of: datetime | None = None
    #: Above this many differing windows the key-level diff runs on all windows at once (no point filtering).
    max_window_filter: int = 100_000

    def __post_init__(self) -> None:
        if self.window_us <= 0:
            raise ConfigError("the window must be longer than zero")
        if self.lookback_us < 0:
            raise ConfigError("the lookback cannot be negative")
        unknown = set(self.fail_on) - set(FAIL_ON_CHOICES)
        if unknown:
            raise ConfigError(f"--fail-on takes {', '.join(FAIL_ON_CHOICES)}; not {', '.join(sorted(unknown))}")
        unknown = set(self.tolerances) - set(METRICS)
        if unknown:
            raise ConfigError(f"tolerances exist for {', '.join(METRICS)}; not {', '.join(sorted(unknown))}")
        if any(v < 0 for v in self.tolerances.values()) or self.type_tolerance < 0:
            raise ConfigError("tolerances are relative differences and cannot be negative")

    def tolerance(self, metric: str) -> float:
        return self.tolerances.get(metric, METRICS[metric])


def parse_tolerances(settings: Iterable[str]) -> dict[str, float]:
    """``page_views=0.01`` settings on top of the defaults."""
    tolerances = dict(METRICS)
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r}; metrics are {', '.join(METRICS)}")
        try:
            tolerances[name] = float(value)
        except ValueError:
            raise ConfigError(f"tolerance for {name} must be a number like 0.01 (1%), not {value!r}") from None
    return tolerances
