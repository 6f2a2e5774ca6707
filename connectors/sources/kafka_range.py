"""A bounded replay of a Kafka topic as a pipeline source: the range fixed at start, then the run ends.

The range logic is :class:`toolkit.kafka.ranges.RangeConsumer`; this adapts it to the
:class:`~connectors.sources.base.Source` interface. Nothing is acknowledged anywhere: a
bounded replay commits no offsets, so an interrupted one is run again with the same options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.sources.base import Position, Record
from connectors.sources.kafka import record_of
from toolkit.kafka.ranges import RangeBounds, RangeConsumer


class KafkaRangeSource:
    """Records of ``topics`` within ``bounds``; :meth:`report` says what was covered per partition."""

    def __init__(self, bootstrap: str, topics: Sequence[str], bounds: RangeBounds,
                 settings: Mapping[str, Any] | None = None) -> None:
        self.consumer = RangeConsumer(bootstrap, topics, bounds, settings)
        self.description = self.consumer.description

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        return [record_of(m) for m in self.consumer.consume(max_records, timeout_s)]

    @property
    def finished(self) -> bool:
        return self.consumer.finished

    def ack(self, position: Position) -> None:
        """Nothing to persist (see the module docstring)."""

    def stop(self) -> None:
        self.consumer.stop()

    def close(self) -> None:
        self.consumer.close()

    def report(self) -> list[dict[str, Any]]:
        return self.consumer.report()
