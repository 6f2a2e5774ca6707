"""Enriched TSV from a Kafka topic, in a consumer group, committing only acknowledged offsets."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.sources.base import Position, Record
from toolkit.kafka import PartitionLag, TrackedConsumer
from toolkit.kafka.consuming import ConsumedMessage
from toolkit.kafka.headers import TRACE_ID
from toolkit.pipeline.delivery import DeliveryTracker


def record_of(m: ConsumedMessage) -> Record:
    """A consumed message as the pipeline's record: its value, ``topic/partition`` and offset, its trace id."""
    trace = next((v.decode("ascii", "replace") for k, v in reversed(m.headers) if k == TRACE_ID and v), None)
    return Record(m.value or b"", Position(m.partition_key, m.offset), f"kafka:{m.topic}/{m.partition}@{m.offset}",
                  trace_id=trace)


class KafkaSource:
    """Read a topic as one member of ``group_id``; ``ack`` stores offsets, commits happen every interval.

    Partitions are ``topic/partition`` and positions are offsets. With a tracker,
    a rebalance commits what the tracker has confirmed for the revoked partitions
    and forgets them there (their unconfirmed records go to the new owner).
    """

    def __init__(self, bootstrap: str, topics: Sequence[str], group_id: str,
                 settings: Mapping[str, Any] | None = None, *, tracker: DeliveryTracker | None = None,
                 auto_offset_reset: str = "earliest", commit_interval_s: float = 1.0,
                 transactional: bool = False, before_revoke: Callable[[list[str]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.description = f"kafka: {', '.join(topics)} (group {group_id})"
        self.consumer = TrackedConsumer(bootstrap, group_id, topics, settings, tracker=tracker,
                                        auto_offset_reset=auto_offset_reset, commit_on_revoke=not transactional,
                                        before_revoke=before_revoke)
        self.transactional = transactional
        self._interval = commit_interval_s
        self._clock = clock
        self._last_commit = clock()
        self._stopped = False

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        if self._stopped:
            return []
        return [record_of(m) for m in self.consumer.consume(max_records, timeout_s)]

    @property
    def finished(self) -> bool:
        return self._stopped

    def ack(self, position: Position) -> None:
        """Store ``offset + 1`` for the partition; commit stored offsets once per interval.

        In transactional mode offsets are committed by the producer's transaction
        instead, so nothing is stored here.
        """
        if self.transactional:
            return
        self.consumer.store(position.partition, position.offset)
        if self._clock() - self._last_commit >= self._interval:
            self.commit()

    def commit(self) -> dict[str, int]:
        self._last_commit = self._clock()
        return {} if self.transactional else self.consumer.commit()

    def lag(self) -> list[PartitionLag]:
        return self.consumer.lag()

    def why_unassigned(self) -> str:
        return self.consumer.why_unassigned()

    def stop(self) -> None:
        self._stopped = True
        self.consumer.pause()

    def close(self) -> None:
        self.consumer.close()
