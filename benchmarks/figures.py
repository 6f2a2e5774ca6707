"""What the benchmarks share: interleaved rounds, a figure's median and range, and the targets table.

A shared machine's load drifts over seconds, so one run of each side proves little. The sides
take turns (ours, floor, reference, ours, ...) for ``--repeat`` rounds; every figure is then
given as the median of the rounds and their range (min-max), and every ratio is computed
within a round (both sides under the same load) before its median and range are taken. A
target is judged on the median; the range says how much to trust it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def interleaved(sides: Sequence[str], repeat: int, run: Callable[[str, int], T]) -> dict[str, list[T]]:
    """``run(side, round)`` for every side in turn, ``repeat`` rounds over; each side's results in round order."""
    results: dict[str, list[T]] = {side: [] for side in sides}
    for number in range(repeat):
        for side in sides:
            results[side].append(run(side, number))
    return results


@dataclass(frozen=True)
class Spread:
    """One figure over the rounds: its median and range."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def show(self, fmt: str = ".1f", unit: str = "") -> str:
        """``12.3 µs (11.0–14.2)``: the median, then the range over the rounds (an en dash: bounds may be negative)."""
        return f"{self.median:{fmt}}{unit} ({self.low:{fmt}}–{self.high:{fmt}})"


def spread(values: Iterable[float]) -> Spread:
    values = tuple(values)
    if not values:
        raise ValueError("a figure needs at least one round")
    return Spread(values)


@dataclass(frozen=True)
class Target:
    """One of the issue's targets: met when the median is on the right side of ``goal``."""

    name: str
    goal: float
    at_least: bool  # True: the figure must be >= goal (a ratio); False: <= goal (a cost)
    unit: str
    measured: Spread | None

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "not measured"
        ok = self.measured.median >= self.goal if self.at_least else self.measured.median <= self.goal
        return "MET" if ok else "NOT MET"


def targets_table(targets: Sequence[Target]) -> str:
    """The final table: each target, the measured median and range, and MET / NOT MET."""
    rows = [("target", "goal", "measured: median (range)", "verdict")]
    for t in targets:
        goal = f"{'>=' if t.at_least else '<='} {t.goal:g}{t.unit}"
        measured = "-" if t.measured is None else t.measured.show(".1f", t.unit)
        rows.append((t.name, goal, measured, t.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["targets (issue 16, item 5):"]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
