"""The outcome of one reconciliation, as plain data the verdict and every report read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BUCKETS = ("only_legacy", "only_new", "modified", "null_only", "pending", "rejected")
VERDICTS = ("parity", "warn", "fail", "undecided")
EXIT_CODES = {"parity": 0, "warn": 1, "fail": 2, "undecided": 3}


@dataclass(frozen=True, slots=True)
class SideTotals:
    rows: int
    event_ids: int
    natural_duplicates: int  # rows beyond the first with the same event_id and fingerprint
    synthetic_event_ids: int  # event ids carried by rows with different fingerprints
    latest_collector_tstamp: str | None


@dataclass(frozen=True, slots=True)
class Bucket:
    count: int
    sample: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Freshness:
    """Quantiles of ``load_tstamp - collector_tstamp``, in seconds."""

    p50: float
    p95: float
    p99: float

    @classmethod
    def of_micros(cls, p50: float, p95: float, p99: float) -> Freshness:
        return cls(*(round(float(v) / 1e6, 3) for v in (p50, p95, p99)))


@dataclass(frozen=True, slots=True)
class WindowResult:
    start: str
    end: str
    legacy_rows: int
    legacy_ids: int
    new_rows: int
    new_ids: int
    checksum_match: bool
    open: bool  # ends inside the lookback: absent events there are pending
    differences: dict[str, int]  # bucket -> count (only non-zero)
    freshness: dict[str, Freshness | None] = field(default_factory=dict)  # side -> quantiles


@dataclass(frozen=True, slots=True)
class TypeResult:
    event_vendor: str | None
    event_name: str | None
    event_version: str | None
    app_id: str | None
    platform: str | None
    legacy: int
    new: int
    differences: dict[str, int]
    status: str  # parity | warn | fail


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One parity metric on both sides; a grouped metric names its worst group and lists every group."""

    name: str
    legacy: float
    new: float
    relative_difference: float
    tolerance: float  # the fail level, in ``kind`` units
    aggregation: str = ""
    kind: str = "relative"  # relative | absolute
    warn: float | None = None  # the warn level, in ``kind`` units
    group: tuple[tuple[str, str | None], ...] | None = None  # (field, value) of this group
    groups: tuple[MetricResult, ...] = ()

    @classmethod
    def of(cls, name: str, legacy: float, new: float, tolerance: float, **extra: Any) -> MetricResult:
        scale = max(abs(legacy), abs(new))
        return cls(name, legacy, new, abs(legacy - new) / scale if scale else 0.0, tolerance, **extra)

    @property
    def absolute_difference(self) -> float:
        return abs(self.legacy - self.new)

    @property
    def difference(self) -> float:
        """The difference the tolerance is measured against."""
        return self.relative_difference if self.kind == "relative" else self.absolute_difference

    @property
    def status(self) -> str:
        if self.groups:
            return max((g.status for g in self.groups), key=("parity", "warn", "fail").index)
        if self.difference > self.tolerance:
            return "fail"
        return "warn" if self.warn is not None and self.difference > self.warn else "parity"

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(slots=True)
class Reconciliation:
    legacy_source: str
    new_source: str
    settings: dict[str, object]
    as_of: str | None = None
    cutoff: str | None = None
    legacy: SideTotals | None = None
    new: SideTotals | None = None
    buckets: dict[str, Bucket] = field(default_factory=dict)
    modified_columns: dict[str, int] = field(default_factory=dict)
    #: A few modified events (the first of the sample) -> changed column -> (legacy value, new value), as
    #: compared (normalised by the rules), so a person sees what changed without querying the warehouse.
    modified_values: dict[str, dict[str, tuple[str | None, str | None]]] = field(default_factory=dict)
    null_only_columns: dict[str, int] = field(default_factory=dict)
    rejected_types: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    windows: list[WindowResult] = field(default_factory=list)
    windows_diffed: int = 0
    by_event_type: list[TypeResult] = field(default_factory=list)
    metrics: list[MetricResult] = field(default_factory=list)
    #: Per side: quantiles over the whole scope (None: the side has no load_tstamp).
    freshness: dict[str, Freshness | None] = field(default_factory=dict)
    columns_compared: int = 0
    columns_only_in_legacy: tuple[str, ...] = ()
    columns_only_in_new: tuple[str, ...] = ()
    error: str | None = None
    verdict: str = "undecided"
    reasons: list[str] = field(default_factory=list)

    def bucket(self, name: str) -> Bucket:
        return self.buckets.get(name, Bucket(0, ()))

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]
