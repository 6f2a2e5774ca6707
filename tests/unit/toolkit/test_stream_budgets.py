"""Failure budgets of derived streams: when a stream is diverted, probed and restored (pure, injected clock)."""

from __future__ import annotations

import logging

import pytest

from toolkit.pipeline.stream_budgets import Budget, StreamBudgets

S = "derived.checkout.v1"
OTHER = "derived.search.v1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budgets(clock: Clock, failures: int = 3, window_s: float = 60.0, probe_s: float = 30.0) -> StreamBudgets:
    return StreamBudgets({S: Budget(failures, window_s, probe_s), OTHER: Budget(failures, window_s, probe_s)},
                         clock=clock)


def test_failures_under_the_budget_are_retried_and_the_budget_diverts_the_stream() -> None:
    clock = Clock()
    b = budgets(clock)
    assert not b.failed(S, "timed out") and not b.failed(S, "timed out")  # retried: the stream stays healthy
    assert b.admit(S) and not b.diverted
    assert b.failed(S, "timed out")  # the third failure within the window: this message and later ones divert
    assert b.diverted == {S} and not b.admit(S)
    assert b.failed(S, "timed out")  # messages still in flight when it was diverted divert too
    assert b.admit(OTHER) and OTHER not in b.diverted  # the other stream is not affected


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    b = budgets(clock, failures=2, window_s=10.0)
    assert not b.failed(S, "x")
    clock.now += 11
    assert not b.failed(S, "x")  # the first one left the window
    clock.now += 5
    assert b.failed(S, "x")


def test_a_permanent_error_or_the_last_attempt_diverts_at_once() -> None:
    b = budgets(Clock(), failures=100)
    assert b.failed(S, "not authorised", permanent=True)
    assert S in b.diverted
    b2 = budgets(Clock(), failures=100)
    assert b2.failed(S, "timed out", exhausted=True)
    assert S in b2.diverted


def test_a_probe_is_let_through_each_interval_and_its_success_restores_the_stream(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    b = budgets(clock, failures=1, probe_s=30.0)
    with caplog.at_level(logging.INFO, logger="toolkit.pipeline.stream_budgets"):
        assert b.failed(S, "timed out")
        assert not b.admit(S)
        clock.now += 29
        assert not b.admit(S)
        clock.now += 1
        assert b.admit(S)  # the probe
        assert not b.admit(S)  # one probe at a time: the records after it still divert
        assert b.probing == {S}
        assert b.failed(S, "timed out")  # the probe failed: diverted (it goes to bad as well)
        assert not b.admit(S)
        clock.now += 30
        assert b.admit(S)
        b.succeeded(S)
        assert not b.diverted and b.admit(S) and b.admit(S)
    logged = [r for r in caplog.records if r.name == "toolkit.pipeline.stream_budgets"]
    # one line per state change: diverted, restored (a failed probe changes nothing)
    assert [r.levelno for r in logged] == [logging.ERROR, logging.INFO]
    assert "replay-bad" in logged[0].getMessage() and S in logged[0].getMessage()
    assert S in logged[1].getMessage()


def test_a_restored_stream_starts_a_fresh_budget() -> None:
    clock = Clock()
    b = budgets(clock, failures=2, probe_s=1.0)
    b.failed(S, "x")
    assert b.failed(S, "x")
    clock.now += 1
    assert b.admit(S)
    b.succeeded(S)
    assert not b.failed(S, "x")  # the failures before the diversion are forgotten
    assert b.failed(S, "x")


def test_counts_and_states_for_the_metrics() -> None:
    clock = Clock()
    b = budgets(clock, failures=1)
    b.failed(S, "x")
    b.count_diverted(S)
    b.count_diverted(S)
    assert b.diverted_records == {S: 2}
    assert b.states() == {S: True, OTHER: False}


def test_a_stream_without_a_budget_is_not_guarded() -> None:
    b = budgets(Clock())
    assert not b.guards("enriched") and b.guards(S)
    with pytest.raises(KeyError):
        b.failed("enriched", "x")


def test_budgets_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Budget(0, 60.0, 30.0)
    with pytest.raises(ValueError):
        Budget(1, 0.0, 30.0)
