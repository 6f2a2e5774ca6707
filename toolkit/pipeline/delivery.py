"""Ordered acknowledgement: which source positions may be committed, given out-of-order delivery reports.

At-least-once means a source offset (or file position) is committed only once
every output of that record, and of every record before it, is confirmed by a
delivery report. Reports arrive in any order (partitions of the output topics
are independent), so "the last record confirmed" is not safe to commit; "the end
of the longest fully confirmed prefix" is. This module computes exactly that,
per source partition, in O(1) amortised per report. It is pure bookkeeping: no
I/O, no clock, no threads (callers serialise access; delivery callbacks run in
the thread that polls the producer).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

PartitionId = Hashable
#: A record's position: an int (offset) or any hashable, totally ordered value, such as the
#: ``connectors.sources.Position`` a source handed out, so ``committable()`` can be passed straight to ``ack``.
SourcePosition = Any


class TrackerFull(RuntimeError):
    """More records were tracked than ``max_in_flight``: the caller must wait for confirmations first."""


@dataclass(slots=True)
class _Entry:
    position: SourcePosition
    pending: int
    failed: int = 0
    failures: int = 0

    @property
    def done(self) -> bool:
        return self.pending == 0 and self.failed == 0


@dataclass(frozen=True, slots=True)
class RetryNeeded:
    """A record with at least one output whose delivery failed and has not been re-sent yet."""

    partition: PartitionId
    position: SourcePosition
    failed_outputs: int
    failures: int


class _Partition:
    __slots__ = ("by_position", "done_through", "last_position", "order")

    def __init__(self) -> None:
        self.order: deque[_Entry] = deque()
        self.by_position: dict[SourcePosition, _Entry] = {}
        self.done_through: SourcePosition | None = None
        self.last_position: SourcePosition | None = None

    def advance(self) -> int:
        """Pop the confirmed prefix; return how many records left the tracker."""
        popped = 0
        while self.order and self.order[0].done:
            entry = self.order.popleft()
            del self.by_position[entry.position]
            self.done_through = entry.position
            popped += 1
        return popped


class DeliveryTracker:
    """Tracks each source record's pending outputs and answers "what can be committed?".

    Positions must increase within a partition (Kafka offsets, file byte offsets,
    batch sequence numbers, or source ``Position`` objects ordered the same way).
    ``committable()`` never goes backwards, and a record whose delivery failed
    blocks it until the output is re-sent and confirmed.
    """

    def __init__(self, max_in_flight: int = 10_000) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._partitions: dict[PartitionId, _Partition] = {}
        self._in_flight = 0
        self._failed_records: set[tuple[PartitionId, SourcePosition]] = set()

    # -- registration --------------------------------------------------------------------

    def track(self, partition: PartitionId, position: SourcePosition, outputs: int) -> None:
        """Register a record read from ``partition`` at ``position`` that will produce ``outputs`` messages.

        A record with no outputs (filtered everywhere) is confirmed at once, so it
        never holds back the commit of the records after it.
        """
        if outputs < 0:
            raise ValueError(f"outputs must be 0 or more, got {outputs}")
        if self._in_flight >= self.max_in_flight:
            raise TrackerFull(f"{self._in_flight} records are awaiting delivery confirmation (max_in_flight="
                              f"{self.max_in_flight}); poll the producer until has_capacity() is true")
        part = self._partitions.get(partition)
        if part is None:
            part = self._partitions[partition] = _Partition()
        if part.last_position is not None and position <= part.last_position:
            raise ValueError(f"positions must increase within partition {partition!r}: got {position} after "
                             f"{part.last_position}")
        part.last_position = position
        entry = _Entry(position, outputs)
        part.order.append(entry)
        part.by_position[position] = entry
        self._in_flight += 1
        if outputs == 0:
            self._in_flight -= part.advance()

    # -- delivery reports ----------------------------------------------------------------

    def delivered(self, partition: PartitionId, position: SourcePosition) -> bool:
        """One output of the record was confirmed. Returns False for a record no longer tracked.

        Late reports for a partition that was dropped after a rebalance are
        expected and harmless, hence False rather than an exception.
        """
        entry = self._entry(partition, position)
        if entry is None:
            return False
        if entry.pending <= 0:
            raise ValueError(f"record {partition!r}@{position} has no pending output left to confirm "
                             "(a delivery report was counted twice)")
        entry.pending -= 1
        if entry.done:
            self._in_flight -= self._partitions[partition].advance()
        return True

    def failed(self, partition: PartitionId, position: SourcePosition) -> bool:
        """One output failed: the record stays unconfirmed (never acked) until it is re-sent and confirmed."""
        entry = self._entry(partition, position)
        if entry is None:
            return False
        if entry.pending <= 0:
            raise ValueError(f"record {partition!r}@{position} has no pending output that could have failed")
        entry.pending -= 1
        entry.failed += 1
        entry.failures += 1
        self._failed_records.add((partition, position))
        return True

    def retried(self, partition: PartitionId, position: SourcePosition) -> bool:
        """A failed output was produced again: it is pending once more."""
        entry = self._entry(partition, position)
        if entry is None:
            return False
        if entry.failed <= 0:
            raise ValueError(f"record {partition!r}@{position} has no failed output to retry")
        entry.failed -= 1
        entry.pending += 1
        if entry.failed == 0:
            self._failed_records.discard((partition, position))
        return True

    def _entry(self, partition: PartitionId, position: SourcePosition) -> _Entry | None:
        part = self._partitions.get(partition)
        return None if part is None else part.by_position.get(position)

    # -- questions -----------------------------------------------------------------------

    def committable(self) -> dict[PartitionId, SourcePosition]:
        """Per partition, the highest position such that it and every record before it is fully confirmed.

        Partitions where nothing is confirmed yet are absent. For Kafka, commit
        ``offset + 1`` (the next offset to read).
        """
        return {pid: p.done_through for pid, p in self._partitions.items() if p.done_through is not None}

    def committable_for(self, partition: PartitionId) -> SourcePosition | None:
        part = self._partitions.get(partition)
        return None if part is None else part.done_through

    def is_confirmed(self, partition: PartitionId, position: SourcePosition) -> bool:
        """True once the record and every record before it in its partition are confirmed."""
        done = self.committable_for(partition)
        return done is not None and position <= done

    def needs_retry(self) -> list[RetryNeeded]:
        """Records holding failed outputs, oldest first per partition."""
        out = []
        # partitions may not be comparable with each other (hence repr); positions within one are ordered,
        # and repr would put 10 before 9
        for pid, pos in sorted(self._failed_records, key=lambda k: (repr(k[0]), k[1])):
            entry = self._entry(pid, pos)
            if entry is not None:
                out.append(RetryNeeded(pid, pos, entry.failed, entry.failures))
        return out

    @property
    def in_flight(self) -> int:
        """Records tracked and not yet committable: the backpressure signal."""
        return self._in_flight

    @property
    def pending_outputs(self) -> int:
        return sum(e.pending + e.failed for p in self._partitions.values() for e in p.order)

    def has_capacity(self) -> bool:
        return self._in_flight < self.max_in_flight

    def partitions(self) -> Iterator[PartitionId]:
        return iter(list(self._partitions))

    def unconfirmed(self, partition: PartitionId) -> int:
        part = self._partitions.get(partition)
        return 0 if part is None else len(part.order)

    # -- lifecycle -----------------------------------------------------------------------

    def drop(self, partition: PartitionId) -> int:
        """Forget a partition (revoked in a rebalance); return how many unconfirmed records were dropped.

        Those records will be read again by whoever owns the partition next, which
        is what at-least-once allows. Their late delivery reports are ignored.
        """
        part = self._partitions.pop(partition, None)
        if part is None:
            return 0
        dropped = len(part.order)
        self._in_flight -= dropped
        self._failed_records = {k for k in self._failed_records if k[0] != partition}
        return dropped
