"""Which events a reconciliation looks at: a time range, apps, platforms and event schemas.

An hourly gate on one migrated stream must not rescan whole tables, so the scope is
rendered as one SQL predicate that every scan of a side runs under (a view the
optimiser inlines, and the WHERE of a PostgreSQL side's COPY). DuckDB pushes it into
``read_parquet``: the filter on ``collector_tstamp`` reaches the row groups and, on a
table partitioned by ``collector_date``, the partitions outside the range are never read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from connectors.warehouse.columns import literal, quote
from iglu_registry.schema_key import InvalidSchemaKey, SchemaCriterion
from migration.reconcile.errors import ConfigError
from toolkit.moments import parse_moment as toolkit_moment

#: The hive partition column kafka-load writes (and many exports use): pruned by date when present.
PARTITION_COLUMN = "collector_date"


@dataclass(frozen=True, slots=True)
class Scope:
    since: datetime | None = None  # inclusive, on collector_tstamp
    until: datetime | None = None  # exclusive
    app_ids: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    events: tuple[SchemaCriterion, ...] = ()  # any of them, on the event's own schema

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise ConfigError(f"--since {self.since.isoformat()} is not before --until {self.until.isoformat()}: "
                              f"the scope would hold no event")

    @property
    def empty(self) -> bool:
        return not (self.since or self.until or self.app_ids or self.platforms or self.events)

    def needed_columns(self) -> set[str]:
        needed = {"collector_tstamp"} if self.since or self.until else set()
        needed |= {"app_id"} if self.app_ids else set()
        needed |= {"platform"} if self.platforms else set()
        return needed | ({"event_vendor", "event_name", "event_format", "event_version"} if self.events else set())

    def predicate(self, alias: str, columns: Iterable[str]) -> str | None:
        """The scope as SQL over ``alias`` (same text in DuckDB and PostgreSQL), or None when unscoped.

        ``columns`` are the side's columns: a ``collector_date`` partition column gets a date bound too, which
        is what lets DuckDB skip whole partitions before it opens a file.
        """
        available = set(columns)
        missing = sorted(self.needed_columns() - available)
        if missing:
            raise ConfigError(f"the scope needs the column(s) {', '.join(missing)}, which this side does not have")
        ref = f"{alias}." if alias else ""
        parts: list[str] = []
        partitioned = PARTITION_COLUMN in available
        for bound, op, date_op in ((self.since, ">=", ">="), (self.until, "<", "<=")):
            if bound is None:
                continue
            parts.append(f"{ref}collector_tstamp {op} TIMESTAMP {literal(_tstamp(bound))}")
            if partitioned:
                parts.append(f"{ref}{quote(PARTITION_COLUMN)} {date_op} DATE {literal(bound.date().isoformat())}")
        for column, values in (("app_id", self.app_ids), ("platform", self.platforms)):
            if values:
                parts.append(f"{ref}{column} IN ({', '.join(literal(v) for v in values)})")
        if self.events:
            parts.append("(" + " OR ".join(_criterion_sql(ref, c) for c in self.events) + ")")
        return " AND ".join(parts) if parts else None

    def describe(self) -> dict[str, object]:
        return {"since": _iso(self.since), "until": _iso(self.until), "app_ids": sorted(self.app_ids),
                "platforms": sorted(self.platforms), "events": sorted(_criterion_text(c) for c in self.events)}


def _tstamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"


def _criterion_text(criterion: SchemaCriterion) -> str:
    return str(criterion).removeprefix("iglu:")


def _criterion_sql(ref: str, criterion: SchemaCriterion) -> str:
    """The event's schema is event_vendor/event_name/event_format/event_version ("M-R-A" text)."""
    parts = [f"{ref}event_vendor = {literal(criterion.vendor)}", f"{ref}event_name = {literal(criterion.name)}",
             f"{ref}event_format = {literal(criterion.format)}"]
    for index, value in enumerate((criterion.model, criterion.revision, criterion.addition), start=1):
        if value is not None:
            parts.append(f"split_part({ref}event_version, '-', {index}) = {literal(str(value))}")
    return "(" + " AND ".join(parts) + ")"


def parse_event_criterion(text: str) -> SchemaCriterion:
    """``com.acme/checkout_step/jsonschema/1-*-*`` (the ``iglu:`` prefix is optional)."""
    try:
        return SchemaCriterion.parse(text if text.startswith("iglu:") else "iglu:" + text)
    except InvalidSchemaKey as exc:
        raise ConfigError(f"--event {text!r}: {exc}") from None


def parse_moment(option: str, text: str | None) -> datetime | None:
    """An ISO-8601 time (UTC when it names no zone), naive UTC for SQL."""
    if not text:
        return None
    try:
        return toolkit_moment(option, text).replace(tzinfo=None)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def scope_from_options(since: str | None, until: str | None, app_ids: Iterable[str], platforms: Iterable[str],
                       events: Iterable[str]) -> Scope:
    return Scope(parse_moment("--since", since), parse_moment("--until", until), tuple(app_ids), tuple(platforms),
                 tuple(parse_event_criterion(e) for e in events))
