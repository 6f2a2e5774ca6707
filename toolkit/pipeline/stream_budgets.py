"""Failure budgets of derived streams: when one consumer's topic keeps failing, divert it instead of stopping.

raw and enriched are the pipeline's contract: a delivery to them that cannot succeed stops
the run without committing. A derived stream is one team's copy; its topic being deleted,
over quota or unauthorised must not stop everyone else. So each derived stream has a budget
of failed deliveries (each after librdkafka's own retries) within a window. Under the
budget a failed message is produced again, as for every stream; once it is spent (or a
message fails for good, or on its last attempt) the stream is **diverted**: its messages,
the failed ones and every later one, become retryable bad rows that ``replay-bad`` writes
back into that stream alone once it is healthy. Every ``probe_interval_s`` one record is let
through to the topic again; if its delivery is confirmed the stream is restored.

This module is the bookkeeping only: no I/O, the clock injected. The producer reports
failures and probe confirmations to it, and the runner asks it, per derived message,
whether to send or divert. One log line per state change says what happened and what to do.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Budget:
    """``failures`` failed deliveries within ``window_s`` divert the stream; a probe every ``probe_interval_s``."""

    failures: int
    window_s: float
    probe_interval_s: float

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise ValueError(f"a failure budget must allow at least 1 failure, got {self.failures}")
        if self.window_s <= 0 or self.probe_interval_s <= 0:
            raise ValueError("a failure budget's window and probe interval must be positive")


class _State:
    __slots__ = ("budget", "failures", "diverted", "probing", "next_probe", "reason")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.failures: deque[float] = deque()
        self.diverted = False
        self.probing = False
        self.next_probe = 0.0
        self.reason = ""


class StreamBudgets:
    """The failure budget and state (healthy, diverted, probing) of each guarded stream.

    ``diverted`` and ``probing`` are sets kept up to date for the hot path: a runner that
    finds ``diverted`` empty does nothing more per record.
    """

    def __init__(self, budgets: Mapping[str, Budget], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._states = {stream: _State(b) for stream, b in budgets.items()}
        self._clock = clock
        #: streams diverted to the bad stream (probing ones included)
        self.diverted: set[str] = set()
        #: streams whose probe record is in flight
        self.probing: set[str] = set()
        #: records diverted per stream since the start (``sptk_diverted_records_total``)
        self.diverted_records: Counter[str] = Counter()

    def guards(self, stream: str) -> bool:
        return stream in self._states

    def budget(self, stream: str) -> Budget:
        return self._states[stream].budget

    def failed(self, stream: str, reason: str, *, permanent: bool = False, exhausted: bool = False) -> bool:
        """A delivery to ``stream`` failed: True if the message is to be diverted, False to produce it again.

        ``permanent``: the broker refused it in a way no retry fixes; ``exhausted``: it was the
        message's last attempt. Either spends the budget at once.
        """
        state = self._states[stream]
        now = self._clock()
        if state.diverted:
            if state.probing:  # the probe failed: stay diverted, probe again later
                state.probing = False
                self.probing.discard(stream)
                state.next_probe = now + state.budget.probe_interval_s
                state.reason = reason
                log.debug("the probe of %s failed (%s); next probe in %gs", stream, reason,
                          state.budget.probe_interval_s)
            return True
        failures = state.failures
        failures.append(now)
        while failures and failures[0] <= now - state.budget.window_s:
            failures.popleft()
        if not (permanent or exhausted or len(failures) >= state.budget.failures):
            return False
        state.diverted = True
        state.next_probe = now + state.budget.probe_interval_s
        state.reason = reason
        self.diverted.add(stream)
        why = ("the broker refused it for good" if permanent else "a message failed its last attempt" if exhausted
               else f"{len(failures)} failed deliveries within {state.budget.window_s:g}s")
        log.error("derived stream %s is diverted to the bad stream (%s; last error: %s): raw, enriched and the other "
                  "streams keep moving, and its records become retryable bad rows (sp.error.class StreamUnavailable). "
                  "Fix its topic (exists, quota, ACLs); the stream is probed every %gs and restored when a delivery "
                  "succeeds; then run `sptk pipeline replay-bad --config <file>` to write the diverted records into it "
                  "(docs/runbooks/stream-diverted.md)", stream, why, reason, state.budget.probe_interval_s,
                  extra={"stream": stream, "state": "diverted"})
        return True

    def admit(self, stream: str) -> bool:
        """Whether a new message of a guarded ``stream`` goes to its topic (True) or is diverted (False).

        A diverted stream admits one message (the probe) once its probe interval has passed,
        then none until that probe's outcome is known.
        """
        state = self._states[stream]
        if not state.diverted:
            return True
        if state.probing or self._clock() < state.next_probe:
            return False
        state.probing = True
        self.probing.add(stream)
        return True

    def succeeded(self, stream: str) -> None:
        """A delivery to ``stream`` was confirmed while it was probing: the stream is restored."""
        state = self._states[stream]
        if not state.probing:
            return
        state.diverted = state.probing = False
        state.failures.clear()
        self.diverted.discard(stream)
        self.probing.discard(stream)
        log.info("derived stream %s is restored: a probe was delivered, so new records go to it again. Its records "
                 "diverted so far (%d) are in the bad stream: run `sptk pipeline replay-bad --config <file>` to write "
                 "them into it", stream, self.diverted_records[stream], extra={"stream": stream, "state": "restored"})

    def reason(self, stream: str) -> str:
        """The last error that kept ``stream`` diverted."""
        return self._states[stream].reason

    def count_diverted(self, stream: str) -> None:
        self.diverted_records[stream] += 1

    def states(self) -> dict[str, bool]:
        """Per guarded stream, whether it is diverted now (``sptk_stream_diverted``)."""
        return {stream: state.diverted for stream, state in self._states.items()}
