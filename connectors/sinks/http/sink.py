"""The HTTP sink's loop: read in a consumer group, batch, send, and commit only what has landed somewhere.

A batch's offsets are committed after the endpoint answered 2xx, or after its records were
confirmed on the dead-letter topic once the retry budget was spent; never before. A crash, a
``kill -9`` or a drain deadline therefore re-sends at most the batches in flight, and the receiver
recognises them by their idempotency keys. A message that is not a canonical JSON event cannot be
sent and is dead-lettered at once (reason ``unreadable``), so bad data neither blocks its partition
nor vanishes. Records in = delivered + dead-lettered (+ uncommitted, re-read after a restart).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

from connectors.sidecar.metrics import LagObserver, PipelineMetrics
from connectors.sinks.http.batching import Batch, Batcher
from connectors.sinks.http.client import HttpClient, Outcome
from connectors.sinks.http.config import HttpSinkConfig
from connectors.sinks.http.metrics import HttpSinkMetrics
from connectors.sinks.http.templates import SinkEvent, idempotency_key, render
from toolkit.kafka import ConsumedMessage, DeliveryProducer, TrackedConsumer
from toolkit.kafka.headers import ERROR_CLASS, ERROR_MESSAGE, ERROR_STAGE, MAX_ERROR_MESSAGE_BYTES, SOURCE

log = logging.getLogger(__name__)

#: ``sp.error.stage`` of a dead-lettered record
STAGE = "sink.http"
#: headers a dead-lettered record gains beside ``sp.error.*``
HTTP_STATUS = "sp.sink.http.status"
HTTP_ATTEMPTS = "sp.sink.http.attempts"
IDEMPOTENCY_KEY = "sp.sink.idempotency_key"
#: consumer lag is asked of the broker every few seconds, not on every batch
LAG_INTERVAL_S = 2.0


class DeadLetterFailed(RuntimeError):
    """The dead-letter topic did not confirm a write: stop without committing, so a restart re-reads the batch."""


@dataclass(frozen=True, slots=True)
class Item:
    """One record read: its event (``None`` when it is no canonical JSON event) and why not."""

    message: ConsumedMessage
    key: str
    event: SinkEvent | None
    problem: str = ""


@dataclass(slots=True)
class SinkReport:
    read: int = 0
    delivered: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    retries: int = 0
    abandoned_batches: int = 0

    def summary(self) -> str:
        dlq = sum(self.dead_lettered.values())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.dead_lettered.items()))
        given_up = (f"; {self.abandoned_batches} batch given up at the drain (not committed)"
                    if self.abandoned_batches else "")
        return (f"{self.read} records read: {self.delivered} delivered, {dlq} dead-lettered"
                f"{f' ({reasons})' if reasons else ''}; {self.requests} requests, {self.retries} retries{given_up}")


def source_of(message: ConsumedMessage) -> str:
    return f"kafka:{message.topic}/{message.partition}@{message.offset}"


def read_item(message: ConsumedMessage, cfg: HttpSinkConfig) -> Item:
    """Decode one message into an event with its idempotency key; never raises on bad data."""
    fallback = source_of(message).removeprefix("kafka:")
    raw = message.value or b""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Item(message, fallback, None, f"not JSON: {exc}")
    if not isinstance(value, dict):
        return Item(message, fallback, None, f"a canonical event is a JSON object, got {type(value).__name__}")
    key = idempotency_key(value, cfg.template.idempotency_key, fallback)
    return Item(message, key, SinkEvent(value, key))


class HttpSink:
    """``run`` until stopped (or caught up), ``drain`` for the sidecar; see the module docstring."""

    def __init__(self, cfg: HttpSinkConfig, consumer: TrackedConsumer, producer: DeliveryProducer,
                 client: HttpClient, *, metrics: HttpSinkMetrics | None = None,
                 pipeline_metrics: PipelineMetrics | None = None, until_caught_up: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.consumer = consumer
        self.producer = producer
        self.client = client
        self.metrics = metrics
        self.pipeline_metrics = pipeline_metrics
        self.until_caught_up = until_caught_up
        self.report = SinkReport()
        self.batcher: Batcher[Item] = Batcher(cfg.batch.max_events, cfg.batch.max_bytes, cfg.batch.linger_s, clock)
        self._clock = clock
        self._deadline: float | None = None
        self._gave_up = False  # a batch was abandoned: nothing after it may be committed
        self._observe_lag = LagObserver(pipeline_metrics, consumer.lag, LAG_INTERVAL_S, clock)

    # -- the sidecar's hooks -------------------------------------------------------------------

    def begin_drain(self) -> None:
        """The drain started: the batch in flight has ``drain_timeout_s`` to land, then it is given up."""
        if self._deadline is None:
            self._deadline = self._clock() + self.cfg.sink.drain_timeout_s

    def drain(self, timeout_s: float) -> bool:
        """Everything delivered is committed already (a batch commits last); True unless a batch was given up."""
        self.begin_drain()
        return not self._gave_up

    # -- the loop -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        poll = self.cfg.sink.poll_timeout_s
        while not stop.is_set() and not self._gave_up:
            wait = self.batcher.wait_s()
            messages = self.consumer.consume(self.cfg.batch.max_events, poll if wait is None else min(poll, wait))
            for message in messages:
                self._take(message)
            due = self.batcher.due()
            if due is not None:
                self._deliver(due)
            self._observe_lag()
            if not messages and self.until_caught_up and not len(self.batcher) and self._caught_up():
                log.info("caught up: %s", self.report.summary())
                break
        self.begin_drain()
        self.consumer.pause()
        rest = self.batcher.flush()
        if rest is not None and not self._gave_up:
            self._deliver(rest)

    def _take(self, message: ConsumedMessage) -> None:
        self.report.read += 1
        if self.pipeline_metrics is not None:
            self.pipeline_metrics.records_in.labels(source=message.topic).inc()
        item = read_item(message, self.cfg)
        for batch in self.batcher.add(item, len(message.value or b"") + 1):
            if self._gave_up:
                return
            self._deliver(batch)

    def _deliver(self, batch: Batch[Item]) -> None:
        """Send one batch; dead-letter what cannot be delivered; commit unless the batch was given up."""
        sendable = [item for item in batch.items if item.event is not None]
        unreadable = [item for item in batch.items if item.event is None]
        if sendable:
            events = [item.event for item in sendable if item.event is not None]
            body = render(self.cfg.template, events)
            header = self.cfg.http.idempotency_header
            headers = {header: sendable[0].key} if header and len(sendable) == 1 else {}
            if self.metrics is not None:
                self.metrics.batch(len(sendable), len(body.content))
            outcome = self.client.send(body, headers, deadline=lambda: self._deadline)
            self.report.requests += outcome.attempts
            self.report.retries += max(0, outcome.attempts - 1)
            if outcome.abandoned:
                self._gave_up = True
                self.report.abandoned_batches += 1
                if self.metrics is not None:
                    self.metrics.abandoned()
                log.warning("gave up a batch of %d records at the drain deadline (%s); they are not committed and "
                            "will be sent again after the restart", len(batch), outcome.reason)
                return
            if outcome.delivered:
                self.report.delivered += len(sendable)
                if self.metrics is not None:
                    self.metrics.delivered(len(sendable))
            else:
                log.error("%d records go to %s: %s after %d attempts", len(sendable), self.cfg.dead_letter_topic,
                          outcome.reason, outcome.attempts)
                self._dead_letter(sendable, outcome)
        if unreadable:
            for item in unreadable:
                log.warning("%s is not a canonical JSON event (%s); it goes to %s", source_of(item.message),
                            item.problem, self.cfg.dead_letter_topic)
            self._dead_letter(unreadable, None)
        self._commit(batch.items)

    def _dead_letter(self, items: Iterable[Item], outcome: Outcome | None) -> None:
        """Write ``items`` to the dead-letter topic and wait for every confirmation (or raise)."""
        items = list(items)
        reason = "unreadable" if outcome is None else (outcome.error_class or "http_status")
        for item in items:
            m = item.message
            message = item.problem if outcome is None else outcome.reason
            headers = [(k, v) for k, v in m.headers if k not in (SOURCE, ERROR_STAGE, ERROR_CLASS, ERROR_MESSAGE)]
            headers += [(SOURCE, source_of(m).encode()), (ERROR_STAGE, STAGE.encode()),
                        (ERROR_CLASS, reason.encode()),
                        (ERROR_MESSAGE, message.encode()[:MAX_ERROR_MESSAGE_BYTES]),
                        (HTTP_STATUS, str(outcome.status if outcome and outcome.status else "").encode()),
                        (HTTP_ATTEMPTS, str(outcome.attempts if outcome else 0).encode()),
                        (IDEMPOTENCY_KEY, item.key.encode())]
            self.producer.produce(self.cfg.dead_letter_topic, m.value or b"", key=m.key, headers=headers,
                                  size_checked=True)
        left = self.producer.flush(30.0)
        if left:
            raise DeadLetterFailed(f"{left} records were not confirmed by {self.cfg.dead_letter_topic} within 30s; "
                                   "stopping without committing them, so a restart sends them again")
        self.report.dead_lettered[reason] += len(items)
        if self.metrics is not None:
            self.metrics.dead_lettered(reason, len(items))

    def _commit(self, items: list[Item]) -> None:
        last: dict[str, int] = {}
        for item in items:
            key = item.message.partition_key
            last[key] = max(last.get(key, -1), item.message.offset)
        for key, offset in last.items():
            self.consumer.store(key, offset)
        self.consumer.commit()

    def _caught_up(self) -> bool:
        try:
            lags = self.consumer.lag()
        except Exception as exc:  # the broker did not answer: not caught up, keep going
            log.debug("consumer lag unavailable: %s", exc)
            return False
        return bool(lags) and all(lag.lag == 0 for lag in lags)
