"""Stop signals that arrive before a long-running command has installed its own handlers.

A sidecar is told to stop with SIGTERM whenever its orchestrator likes, including while
Python is still importing and the config is being read. Before the sidecar runtime
installs its handlers, Python's default action would kill the process (exit -15), which
an operator reads as a crash. The composition root therefore holds such signals from the
moment it knows the command is one that drains (:func:`hold`); the runtime takes them over
when it installs its own handlers (:func:`take_held`) and treats them as if they had
arrived just then: the first one is a graceful stop. A second one before that exits at once
(``128 + signal``), as it would once the runtime runs, so a start-up that hangs can still be stopped.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

#: what :func:`hold` guards by default: what an orchestrator or a person at a terminal sends
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)

_held: list[int] = []


def _remember(signum: int, frame: FrameType | None) -> None:
    if _held:  # a second one while still starting: the operator wants out now, as the runtime would do
        os._exit(128 + signum)
    _held.append(signum)


def hold(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
    """From now on, remember stop signals instead of dying of them (main thread only)."""
    for sig in signals:
        signal.signal(sig, _remember)


def take_held() -> list[int]:
    """The signals held so far, oldest first; the list is emptied."""
    taken = list(_held)
    del _held[: len(taken)]
    return taken
