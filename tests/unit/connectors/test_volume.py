"""The volume baseline's math: same hour of the week, median and MAD, a floor of counting noise."""

from __future__ import annotations

import pytest

from connectors.sidecar.volume import WEEK_S, BadWindow, LiveVolume, baseline, check_windows, judge

H = 3600


def test_the_baseline_is_the_median_and_one_outlier_moves_it_nowhere() -> None:
    assert baseline([100, 102, 98, 101]).expected == 100.5
    assert baseline([100, 102, 98, 5000]).expected == 101.0  # a past incident is not the norm
    spread = baseline([100, 110, 90, 100]).spread
    assert spread == pytest.approx(max(1.4826 * 5, 10.0))


def test_a_flat_history_is_floored_by_counting_noise() -> None:
    base = baseline([100, 100, 100])
    assert base.spread == 10.0  # sqrt(100): a 101 is no anomaly
    assert base.score(101) == pytest.approx(0.1)
    assert baseline([0, 0, 0]).spread == 1.0


def series(weeks: int, per_hour: int = 100) -> dict[int, int]:
    return {h * H: per_hour + (h % 24) for h in range(weeks * 168)}


def test_judge_finds_a_drop_and_a_spike_at_the_same_hour_of_the_week_and_nothing_else() -> None:
    counts = series(5)
    last = max(counts)
    counts[last - 5 * H] = 3
    counts[last - 30 * H] = 900
    del counts[last - 50 * H]  # a window with no record at all is a drop to 0
    found = judge(counts, 0, last, H, 28 * 86400)
    assert [(a.window, a.direction, a.observed) for a in found] == [
        (last - 50 * H, "drop", 0), (last - 30 * H, "spike", 900), (last - 5 * H, "drop", 3)]
    assert found[0].expected == 100 + ((last - 50 * H) // H) % 24 and found[0].score < -4
    assert judge(series(5), 0, last, H, 28 * 86400) == []


def test_windows_without_three_weeks_of_history_are_not_judged() -> None:
    counts = series(3)
    counts[3 * 168 * H - H] = 0  # in the third week: only two same-hour windows before it
    assert judge(counts, 0, max(counts), H, 28 * 86400) == []


def test_windows_must_divide_a_week_and_the_baseline_hold_three_weeks() -> None:
    with pytest.raises(BadWindow, match="divide a week"):
        check_windows(5 * H, 28 * 86400)
    with pytest.raises(BadWindow, match="at least 21d"):
        check_windows(H, 14 * 86400)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_live_score_is_zero_until_three_weeks_are_held_then_scores_the_filling_window() -> None:
    clock = Clock()
    live = LiveVolume(H, 28 * 86400, clock)
    for hour in range(3 * 168):
        clock.now = hour * H
        live.add(5 if hour % 168 == 100 else 100)  # one hour of the week is nearly empty
        assert live.score() == 0.0  # fewer than three same-hour windows held: no score yet
    clock.now = 3 * WEEK_S + H / 2  # half-way through a window three weeks on: 50 expected so far
    live.add(50)
    assert live.score() == pytest.approx(0.0)
    live.add(200)  # 250 in half a window: a spike
    assert live.score() > 4
    clock.now = 3 * WEEK_S + 2 * H - 1  # a window that is almost over and nearly empty
    live.add(1)
    assert live.score() < -4
