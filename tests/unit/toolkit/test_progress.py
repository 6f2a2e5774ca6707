"""The progress helper: a bar on a terminal, periodic lines elsewhere, nothing when switched off."""

from __future__ import annotations

import io
import time

import pytest

from toolkit.progress import INTERVAL_ENV, interval_from_env, progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_stream_that_is_not_a_terminal_gets_one_line_per_interval_and_a_final_line() -> None:
    clock, out = Clock(), io.StringIO()
    files = {"done": 0}
    with progress("legacy-load", total=4 * 2**20, stream=out, unit="bytes", interval_s=5, clock=clock,
                  detail=lambda: f"{files['done']}/4 files") as shown:
        shown.advance(2**20)
        assert out.getvalue() == ""  # not due yet
        clock.now += 5
        files["done"] = 2
        shown.advance(2**20)
        clock.now += 1
        shown.advance(2**20)  # within the interval: no line
    lines = out.getvalue().splitlines()
    assert lines == ["[sptk] legacy-load: 2.0 of 4.0 MiB (50%), 0.4 MiB/s, 5s; 2/4 files",
                     "[sptk] legacy-load: done, 3.0 of 4.0 MiB (75%), 0.5 MiB/s, 6s; 2/4 files"]


def test_a_heartbeat_shows_the_line_while_nothing_moves_and_an_unknown_total_counts_up() -> None:
    clock, out = Clock(), io.StringIO()
    with progress("kafka-load", stream=out, unit="messages", interval_s=0, clock=clock) as shown:
        shown.advance(0)
        clock.now += 2
        shown.advance(1500)
    assert out.getvalue().splitlines() == ["[sptk] kafka-load: 0 messages, 0 messages/s, 0s",
                                           "[sptk] kafka-load: 1,500 messages, 750 messages/s, 2s",
                                           "[sptk] kafka-load: done, 1,500 messages, 750 messages/s, 2s"]


def test_the_line_still_comes_while_nothing_advances() -> None:
    """A long SQL statement or a wait on a broker: the periodic line is written by the display's own thread."""
    out = io.StringIO()
    with progress("reconcile", stream=out, unit="steps", interval_s=0.05, detail=lambda: "key-level diff") as shown:
        shown.advance(1)
        deadline = time.monotonic() + 30
        while "key-level diff" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert out.getvalue().startswith("[sptk] reconcile: 1 steps, ")
    assert out.getvalue().splitlines()[-1].startswith("[sptk] reconcile: done, 1 steps")


def test_quick_work_prints_nothing_and_terminal_mode_is_silent_off_a_terminal() -> None:
    out = io.StringIO()
    with progress("reconcile", total=3, stream=out, interval_s=60) as shown:
        shown.advance(3)
    with progress("dir", total=3, stream=out, interval_s=0, mode="terminal") as shown:
        shown.advance(3)
    with progress("dir", total=3, stream=Terminal(), interval_s=0, mode="off") as shown:
        shown.advance(3)
    assert out.getvalue() == ""


def test_a_terminal_gets_clicks_bar_redrawn_in_place() -> None:
    clock, term = Clock(), Terminal()
    with progress("dir", total=10, stream=term, unit="records", clock=clock) as shown:
        for _ in range(10):
            clock.now += 1
            shown.advance(1)
    text = term.getvalue()
    assert "\r" in text and "[sptk] dir" in text and "100%" in text and "10 of 10 records (100%)" in text
    assert text.endswith("\n")


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "0")
    assert interval_from_env() == 0.0
    monkeypatch.setenv(INTERVAL_ENV, "soon")
    assert interval_from_env() == 10.0
    monkeypatch.delenv(INTERVAL_ENV)
    assert interval_from_env() == 10.0
