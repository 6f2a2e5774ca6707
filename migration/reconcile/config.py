"""What a reconciliation compares and how strictly: windows, lookback, normalisation rules, tolerances.

Normalisation rules are declared here, not buried in SQL, because each one hides a
known, harmless difference between loaders; a team must be able to see which are
on and switch any of them off when it wants the raw truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from migration.reconcile.errors import ConfigError
from toolkit import durations
from toolkit.durations import format_duration

if TYPE_CHECKING:
    from migration.reconcile.metrics import MetricSpec
    from migration.reconcile.scope import Scope

PRECISIONS = {"us": 1, "ms": 1_000, "s": 1_000_000}

#: The built-in key metrics (defined in :mod:`migration.reconcile.metrics`, with their tolerances).
METRICS = ("page_views", "sessions", "users", "tr_total")

#: Warn-level findings that ``--fail-on`` can turn into failures.
FAIL_ON_CHOICES = ("pending", "rejected", "null_only", "duplicates", "warn")

def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``2d`` (also ``ms``, ``us``) -> microseconds."""
    try:
        return durations.parse_duration(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


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
class FreshnessLimits:
    """Limits on ``load_tstamp - collector_tstamp`` (microseconds): the new side's p95, and how much slower than
    legacy its p95 may be. Above a ``warn`` level the verdict warns, above a ``fail`` level it fails."""

    p95_warn: int | None = None
    p95_fail: int | None = None
    gap_warn: int | None = None
    gap_fail: int | None = None

    def describe(self) -> dict[str, str | None]:
        return {name: None if v is None else format_duration(v) for name, v in
                (("p95_warn", self.p95_warn), ("p95_fail", self.p95_fail), ("gap_warn", self.gap_warn),
                 ("gap_fail", self.gap_fail))}


def parse_levels(option: str, text: str | None) -> tuple[int | None, int | None]:
    """``10m`` (the fail level) or ``warn=5m,fail=10m`` -> (warn, fail) in microseconds."""
    if not text:
        return None, None
    levels: dict[str, int] = {}
    for part in text.split(","):
        level, sep, value = part.strip().rpartition("=")
        level = level.strip() if sep else "fail"
        if level not in ("warn", "fail"):
            raise ConfigError(f"{option} {text!r}: use a duration (the fail level) or warn=DURATION,fail=DURATION")
        try:
            levels[level] = parse_duration(value)
        except ConfigError as exc:
            raise ConfigError(f"{option}: {exc}") from None
    warn, fail = levels.get("warn"), levels.get("fail")
    if warn is not None and fail is not None and warn > fail:
        raise ConfigError(f"{option} {text!r}: the warn level is above the fail level")
    return warn, fail


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    window_us: int = 3_600_000_000
    lookback_us: int = 7_200_000_000
    rules: Rules = field(default_factory=Rules)
    #: ``--tolerance`` overrides: metric name -> fail level.
    tolerances: Mapping[str, float] = field(default_factory=dict)
    #: The parity metrics (None: the built-ins).
    metrics: tuple[MetricSpec, ...] | None = None
    scope: Scope | None = None
    freshness: FreshnessLimits = field(default_factory=FreshnessLimits)
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
        if self.type_tolerance < 0:
            raise ConfigError("tolerances are relative differences and cannot be negative")
        self.metric_specs()  # refuses a --tolerance of an unknown metric now, not mid-run

    def metric_specs(self) -> tuple[MetricSpec, ...]:
        from migration.reconcile.metrics import DEFAULT_METRICS, with_fail_levels

        return with_fail_levels(self.metrics or DEFAULT_METRICS, self.tolerances)


def parse_tolerances(settings: Iterable[str], names: Iterable[str] = METRICS) -> dict[str, float]:
    """``page_views=0.01`` settings: a metric's fail level."""
    tolerances: dict[str, float] = {}
    known = list(names)
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in known:
            raise ConfigError(f"unknown metric {name!r}; metrics are {', '.join(known)}")
        try:
            tolerances[name] = float(value)
        except ValueError:
            raise ConfigError(f"tolerance for {name} must be a number like 0.01 (1%), not {value!r}") from None
    return tolerances
