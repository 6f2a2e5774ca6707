"""Where ``sptk pipeline replay-bad`` reads bad rows: the bad topic up to its current end, or bad ``.jsonl`` files.

A replay must end by itself, and must not read its own output: while it runs, records
that are still unreachable are quarantined again into the same bad topic. So the Kafka
reader notes the end of every partition when it first gets its assignment and finishes
once it has read (or its group had already committed) up to there; newer bad rows wait
for the next replay. It reads in a consumer group (``sptk-replay-bad`` unless told
otherwise) and commits only what the pipeline confirmed, so an interrupted replay resumes
where it stopped and a second replay only sees what arrived since.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from connectors.sources.base import Position, Record
from connectors.sources.kafka import KafkaSource

DEFAULT_GROUP = "sptk-replay-bad"


class UntilCurrentEnd:
    """A :class:`KafkaSource` that finishes at the end its partitions had when the replay began."""

    def __init__(self, source: KafkaSource, *, settle_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = source
        self.consumer = source.consumer
        self.description = f"{source.description}, up to its current end"
        self._ends: dict[str, int] | None = None
        self._next: dict[str, int] = {}
        self._clock = clock
        self._give_up_at = clock() + settle_s  # no assignment at all after this long: nothing to read
        self._done = False

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        if self._done:
            return []
        records = self.inner.read(max_records, timeout_s)
        for r in records:
            self._next[r.position.partition] = r.position.offset + 1
        if len(records) < max_records:
            self._check_end()
        return records

    def _check_end(self) -> None:
        lags = self.inner.lag()
        if not lags:
            if self._ends is None and self._clock() >= self._give_up_at:
                self._done = True  # never assigned (no partition to read)
            return
        if self._ends is None:
            self._ends = {f"{lag.topic}/{lag.partition}": lag.high for lag in lags}
        reached = {f"{lag.topic}/{lag.partition}": max(lag.committed or 0, lag.low, lag.position or 0)
                   for lag in lags}
        for key, end in self._ends.items():
            if max(reached.get(key, 0), self._next.get(key, 0)) < end:
                return
        self._done = True

    @property
    def finished(self) -> bool:
        return self._done or self.inner.finished

    def ack(self, position: Position) -> None:
        self.inner.ack(position)

    def lag(self) -> Any:
        return self.inner.lag()

    def commit(self) -> dict[str, int]:
        return self.inner.commit()

    def stop(self) -> None:
        self.inner.stop()

    def close(self) -> None:
        self.inner.close()
