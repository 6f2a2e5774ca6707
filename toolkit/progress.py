"""Progress of long work: click's bar on a terminal, a line every few seconds anywhere else.

Why both: a bar redrawn in place is what a person at a terminal wants, but in a CI
log or a redirected stderr it is either noise or nothing, and a silent job looks
hung. There a periodic line (what, how many, how fast) shows it is alive. Progress
only ever goes to the stream it is given (stderr), never to stdout, which carries
results (summaries, JSON) that scripts read.

Use::

    with progress("legacy-load", total=size, unit="bytes", detail=lambda: f"{n:,} lines") as shown:
        for chunk in work:
            shown.advance(len(chunk))

Off a terminal a small daemon thread writes the line when it is due even if nothing
advanced, so a long SQL statement or a wait on a broker still shows a sign of life.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal, TextIO

import click

#: seconds between periodic lines when the stream is not a terminal; 0 = a line at every advance
INTERVAL_ENV = "SPTK_PROGRESS_INTERVAL_S"
DEFAULT_INTERVAL_S = 10.0
#: a terminal bar is redrawn at most this often, so per-record advances cost no terminal writes
REDRAW_S = 0.2

#: ``auto``: a bar on a terminal, periodic lines elsewhere; ``terminal``: a bar on a terminal, nothing
#: elsewhere (for commands whose stderr is a structured log); ``off``: nothing
Mode = Literal["auto", "terminal", "off"]


def interval_from_env(default: float = DEFAULT_INTERVAL_S, name: str = INTERVAL_ENV) -> float:
    """Seconds from the variable ``name`` (``SPTK_PROGRESS_INTERVAL_S``); not a number ≥ 0: ``default``."""
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value >= 0 else default


def _amount(value: float, unit: str) -> str:
    return f"{value / 2**20:,.1f} MiB" if unit == "bytes" else f"{int(value):,} {unit}"


class Progress:
    """What :func:`progress` returns: count work with :meth:`advance`; :meth:`close` ends the display."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None, *,
                 unit: str = "records", detail: Callable[[], str] | None = None, mode: Mode = "auto",
                 interval_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self._detail = detail
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._started = clock()
        self._closed = False
        self._bar: Any = None
        self._pending = 0
        self._lines = 0
        terminal = _isatty(self._stream)
        self._kind = "off" if mode == "off" else "bar" if terminal else "lines" if mode == "auto" else "off"
        self._interval = REDRAW_S if self._kind == "bar" else (
            interval_from_env() if interval_s is None else interval_s)
        self._next = self._started + self._interval
        self._lock = threading.Lock()
        self._closing = threading.Event()
        if self._kind == "lines" and self._interval > 0:
            threading.Thread(target=self._tick, name=f"sptk-progress-{label}", daemon=True).start()
        if self._kind == "bar":
            known = total is not None
            self._bar = click.progressbar(
                length=total, iterable=None if known else (x for x in ()), label=f"[sptk] {label}",
                file=self._stream, show_eta=known, show_percent=known, item_show_func=lambda _: self.describe())
            self._bar.__enter__()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units of work done (0: nothing new, but show the line if it is due)."""
        self.done += n
        self._pending += n
        if self._kind == "off" or self._clock() < self._next:
            return
        with self._lock:
            if not self._closed and self._clock() >= self._next:
                self._show()

    def _tick(self) -> None:
        while not self._closing.wait(self._interval / 4):
            with self._lock:
                if not self._closed and self._clock() >= self._next:
                    try:
                        self._show()
                    except (ValueError, OSError):  # the stream went away (a display nobody closed): stop quietly
                        return

    def describe(self) -> str:
        """``12.3 of 45.6 MiB (27%), 3.1 MiB/s, 4s; 3/10 files``: what the line and the bar show."""
        elapsed = max(self._clock() - self._started, 1e-9)
        text = _amount(self.done, self.unit)
        if self.total is not None:
            share = self.done / self.total if self.total else 1.0
            text = f"{_amount(self.done, self.unit).rsplit(' ', 1)[0]} of {_amount(self.total, self.unit)} " \
                   f"({100 * min(share, 1.0):.0f}%)"
        rate = _amount(self.done / elapsed, self.unit)
        text += f", {rate}/s, {elapsed:.0f}s"
        if self._detail is not None:
            text += f"; {self._detail()}"
        return text

    def _show(self) -> None:
        self._next = self._clock() + self._interval
        if self._kind == "bar":
            self._bar.update(self._pending)
        else:
            self._stream.write(f"[sptk] {self.label}: {self.describe()}\n")
            self._stream.flush()
            self._lines += 1
        self._pending = 0

    def close(self, ending: str = "done") -> None:
        """End the display: the bar settles on its last state; a periodic line says ``ending`` if any line came."""
        self._closing.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._finish(ending)

    def _finish(self, ending: str) -> None:
        if self._kind == "bar":
            self._bar.update(self._pending)
            if self.total is None:
                self._bar.finish()
            self._bar.__exit__(None, None, None)
        elif self._kind == "lines" and self._lines:
            self._stream.write(f"[sptk] {self.label}: {ending}, {self.describe()}\n")
            self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close("done" if exc_type is None else "stopped")


def progress(label: str, total: int | None = None, stream: TextIO | None = None, *, unit: str = "records",
             detail: Callable[[], str] | None = None, mode: Mode = "auto", interval_s: float | None = None,
             clock: Callable[[], float] = time.monotonic) -> Progress:
    """A progress display for ``label`` on ``stream`` (stderr by default); use it as a context manager.

    ``total`` (in ``unit``; ``"bytes"`` shows MiB) gives a percentage when known; ``detail`` adds
    text computed only when a line is drawn (so per-record advances stay cheap); ``interval_s``
    overrides ``SPTK_PROGRESS_INTERVAL_S`` for the periodic lines.
    """
    return Progress(label, total, stream, unit=unit, detail=detail, mode=mode, interval_s=interval_s, clock=clock)


@contextmanager
def stages(label: str, stream: TextIO | None = None) -> Iterator[Callable[[str], None]]:
    """A display of named stages, for work measured in steps rather than records (a reconciliation).

    Yields the function that starts the next stage; the line shows the stage under way.
    """
    current = ["starting"]
    with progress(label, stream=stream, unit="steps", detail=lambda: current[0]) as shown:
        def step(name: str) -> None:
            current[0] = name
            shown.advance(1)

        yield step


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False
