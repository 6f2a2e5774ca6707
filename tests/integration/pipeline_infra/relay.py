"""A minimal source-to-topic relay built only from the infrastructure pieces, for tests.

It does what the real pipeline does with delivery (track each record, produce,
serve reports, ack what the tracker says is committable, drain on stop) without
parsing or validating, so the sources, the tracker, the producer and the sidecar
can be tested together on the real broker before the full pipeline exists.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from toolkit.kafka import DeliveryProducer
from toolkit.pipeline.delivery import DeliveryTracker


class Relay:
    def __init__(self, source: Any, producer: DeliveryProducer, tracker: DeliveryTracker, topic: str,
                 batch: int = 200, stop_after: int | None = None) -> None:
        self.source, self.producer, self.tracker, self.topic = source, producer, tracker, topic
        self.batch = batch
        self.stop_after = stop_after  # simulate a crash: stop reading after this many records
        self.read = 0
        self._acked: dict[Any, Any] = {}

    def ack(self) -> None:
        for partition, position in self.tracker.committable().items():
            if self._acked.get(partition) != position:
                self.source.ack(position)
                self._acked[partition] = position

    def step(self, timeout_s: float = 0.05) -> int:
        if not self.producer.wait_for_capacity(timeout_s):
            self.ack()
            return 0
        want = self.batch if self.stop_after is None else min(self.batch, self.stop_after - self.read)
        records = self.source.read(want, timeout_s) if want > 0 else []
        for r in records:
            self.tracker.track(r.position.partition, r.position, outputs=1)
            self.producer.produce(self.topic, r.raw, key=r.position.partition.encode(),
                                  record=(r.position.partition, r.position))
        self.read += len(records)
        self.producer.poll(0)
        self.ack()
        return len(records)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set() and not self.source.finished:
            if self.stop_after is not None and self.read >= self.stop_after:
                break
            self.step()

    def drain(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        self.source.stop()
        while not self.source.finished and time.monotonic() < deadline:
            self.step()  # records already accepted (e.g. HTTP batches in the queue) still go out
        remaining = self.producer.flush(max(0.0, deadline - time.monotonic()))
        self.ack()
        self.source.close()
        return remaining == 0 and self.tracker.in_flight == 0
