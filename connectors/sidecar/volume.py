"""Volume anomalies: a window's record count against the same hour of the week, robustly.

Traffic has a weekly rhythm (Monday 09:00 is not Sunday 03:00), so a window is compared only
with the windows at the same offset into the week over the baseline period. The expected count
is their median and the spread their median absolute deviation (MAD), so one past incident in
the baseline does not move either; the score is a robust z-score, negative for a drop and
positive for a spike. Counts are never more regular than counting noise, so the spread is at
least the Poisson deviation ``sqrt(expected)`` (and at least 1): a perfectly flat history does
not turn a one-event wobble into an alert.

``sptk monitor volume`` judges an archive with :func:`judge`, from counts its database
computed; the sidecar keeps a :class:`LiveVolume` per stream and exports its score.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

WEEK_S = 7 * 86400
#: fewer same-hour windows than this and a window is not judged (the live score stays 0)
MIN_HISTORY = 3
#: |score| at or above this is an anomaly
DEFAULT_THRESHOLD = 4.0
#: MAD -> standard deviation of a normal distribution
MAD_TO_SIGMA = 1.4826


class BadWindow(ValueError):
    """The window or baseline cannot give a same-hour-of-the-week baseline."""


def check_windows(window_s: int, baseline_s: int) -> None:
    if window_s <= 0 or WEEK_S % window_s:
        raise BadWindow(f"a window of {window_s}s does not divide a week: use one such as 5m, 15m, 1h, 6h or 1d")
    if baseline_s < MIN_HISTORY * WEEK_S:
        raise BadWindow(f"a baseline of {baseline_s // 86400}d holds fewer than {MIN_HISTORY} weeks; the same hour "
                        f"of the week needs at least {MIN_HISTORY * 7}d (28d is usual)")


@dataclass(frozen=True, slots=True)
class Expected:
    expected: float
    spread: float

    def score(self, observed: float) -> float:
        return (observed - self.expected) / self.spread


def baseline(history: Sequence[float]) -> Expected:
    """Median and the MAD-based spread of same-hour counts (floored by counting noise)."""
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    return Expected(median, max(MAD_TO_SIGMA * mad, math.sqrt(median), 1.0))


@dataclass(frozen=True, slots=True)
class Anomaly:
    window: int  # start, seconds since the epoch (UTC)
    key: tuple[tuple[str, str | None], ...]
    direction: str  # "drop" | "spike"
    observed: int
    expected: float
    score: float


def judge(counts: Mapping[int, int], first: int, last: int, window_s: int, baseline_s: int,
          key: tuple[tuple[str, str | None], ...] = (), threshold: float = DEFAULT_THRESHOLD) -> list[Anomaly]:
    """Anomalous windows among ``first..last`` (window starts); a window missing from ``counts`` counted 0."""
    weeks = baseline_s // WEEK_S
    found = []
    for start in range(first, last + 1, window_s):
        history = [counts.get(start - k * WEEK_S, 0) for k in range(1, weeks + 1) if start - k * WEEK_S >= first]
        if len(history) < MIN_HISTORY:
            continue
        base = baseline(history)
        observed = counts.get(start, 0)
        score = base.score(observed)
        if abs(score) >= threshold:
            found.append(Anomaly(start, key, "drop" if score < 0 else "spike", observed, base.expected,
                                 round(score, 3)))
    return found


class LiveVolume:
    """The live form of :func:`judge` for one stream: counts per window, scored as the window fills.

    The current window is partly over, so its count is compared with the same share of each
    past window's count. Windows before the first record counted are unknown, not zero: the
    score stays 0 until ``MIN_HISTORY`` same-hour windows were held.
    """

    def __init__(self, window_s: int = 3600, baseline_s: int = 28 * 86400,
                 clock: Callable[[], float] = time.time) -> None:
        check_windows(window_s, baseline_s)
        self.window_s, self.weeks = window_s, baseline_s // WEEK_S
        self._clock = clock
        self._counts: dict[int, int] = {}
        self._since: int | None = None

    def _window(self, now: float) -> int:
        return int(now // self.window_s) * self.window_s

    def add(self, n: int) -> None:
        start = self._window(self._clock())
        if self._since is None:
            self._since = start
        self._counts[start] = self._counts.get(start, 0) + n
        oldest = start - self.weeks * WEEK_S
        if len(self._counts) > self.weeks * WEEK_S // self.window_s + 1:
            for old in [w for w in self._counts if w < oldest]:
                del self._counts[old]

    def score(self) -> float:
        now = self._clock()
        start = self._window(now)
        if self._since is None:
            return 0.0
        share = min(1.0, max(now - start, 1.0) / self.window_s)
        history = [self._counts.get(start - k * WEEK_S, 0) * share for k in range(1, self.weeks + 1)
                   if start - k * WEEK_S >= self._since]
        if len(history) < MIN_HISTORY:
            return 0.0
        return round(baseline(history).score(self._counts.get(start, 0)), 3)
