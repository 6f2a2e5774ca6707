"""``sptk monitor volume``: record counts per window, computed by the source's database, judged by week-hour.

The database counts (one ``GROUP BY`` over the events, whatever their number); Python only
judges the few thousand window counts with :func:`connectors.sidecar.volume.judge`, the same
math the sidecar runs live, so the archive and the live alert agree on what an anomaly is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from connectors.sidecar.volume import Anomaly, check_windows, judge
from connectors.warehouse.columns import quote
from migration.sources import SourceSpec, open_source

Key = tuple[tuple[str, str | None], ...]


@dataclass(slots=True)
class VolumeReport:
    source: str
    window_s: int
    baseline_s: int
    by: tuple[str, ...]
    threshold: float
    windows: int = 0  # windows counted (per key), the source's last (cut short) left out
    anomalies: list[Anomaly] = field(default_factory=list)

    def to_json(self) -> bytes:
        return orjson.dumps({
            "source": self.source, "window_s": self.window_s, "baseline_s": self.baseline_s, "by": list(self.by),
            "threshold": self.threshold, "windows": self.windows,
            "anomalies": [{"window": iso(a.window), "key": dict(a.key), "direction": a.direction,
                           "observed": a.observed, "expected": a.expected, "score": a.score}
                          for a in self.anomalies]}, option=orjson.OPT_INDENT_2) + b"\n"

    def text(self) -> str:
        lines = [f"{self.source}: {self.windows} windows, {len(self.anomalies)} anomalous"]
        for a in self.anomalies:
            key = ", ".join(f"{k}={v}" for k, v in a.key)
            lines.append(f"  {iso(a.window)} {a.direction:5} observed {a.observed}, expected {a.expected:g} "
                         f"(score {a.score:+.1f}){' ' + key if key else ''}")
        return "\n".join(lines)


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class UnknownColumn(ValueError):
    pass


def window_counts(backend: Any, relation: str, columns: list[str], window_s: int,
                  by: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """``(window start, *key values, count)`` rows, counted by the database."""
    unknown = [c for c in by if c not in columns]
    if unknown:
        raise UnknownColumn(f"--by {', '.join(unknown)}: no such column in the events table")
    keys = "".join(f", {quote(c)}" for c in by)
    return backend.query(
        f"SELECT CAST(floor(epoch(collector_tstamp) / {window_s}) AS BIGINT) * {window_s} AS w{keys}, count(*) "
        f"FROM {relation} WHERE collector_tstamp IS NOT NULL GROUP BY ALL ORDER BY ALL")


def volume(spec: SourceSpec, window_s: int, baseline_s: int, by: tuple[str, ...], threshold: float,
           memory_limit: str = "1GB") -> VolumeReport:
    check_windows(window_s, baseline_s)
    with open_source(spec, memory_limit) as (backend, side):
        rows = window_counts(backend, side.relation, side.columns, window_s, by)
    report = VolumeReport(str(spec), window_s, baseline_s, by, threshold)
    if not rows:
        return report
    first = min(r[0] for r in rows)
    last = max(r[0] for r in rows) - window_s  # the last window is where the source ends: cut short, not judged
    series: dict[Key, dict[int, int]] = defaultdict(dict)
    for row in rows:
        key: Key = tuple((c, None if v is None else str(v)) for c, v in zip(by, row[1:-1], strict=True))
        series[key][int(row[0])] = int(row[-1])
    for key in sorted(series, key=lambda k: [(c, v or "") for c, v in k]):
        report.windows += max(0, (last - first) // window_s + 1)
        report.anomalies += judge(series[key], first, last, window_s, baseline_s, key, threshold)
    report.anomalies.sort(key=lambda a: (a.window, [(c, v or "") for c, v in a.key]))
    return report
