"""The producer the pipeline uses: headers and keys, bounded memory, confirmed delivery, transactions.

librdkafka accepts a message into a local queue and confirms it later through a
delivery report served by ``poll()``. Three things follow, and this wrapper
handles each once:

* A full queue raises ``BufferError``. The fix is to serve delivery reports
  (``poll``) and try again, which bounds memory and drops nothing; giving up
  after ``enqueue_timeout_s`` turns a dead broker into a clear error instead of
  an endless wait.
* Only a delivery report says a message is durable, so source positions are
  acknowledged from the report (through :class:`~toolkit.pipeline.delivery.DeliveryTracker`),
  never from ``produce()`` returning.
* A record bigger than the topic's ``max.message.bytes`` is rejected by the
  broker on every retry; checking the size *before* producing lets the pipeline
  turn it into a ``size_violation`` bad row instead of stalling.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from toolkit.kafka.admin import describe_topics
from toolkit.kafka.client import PRODUCER_DEFAULTS, KafkaConfigError, client_settings
from toolkit.pipeline.delivery import DeliveryTracker, PartitionId
from toolkit.pipeline.outcomes import Output

log = logging.getLogger(__name__)

#: Kafka record batch v2 header, and an upper bound of one record's framing (varints at their widest).
BATCH_OVERHEAD = 61
RECORD_OVERHEAD = 36
HEADER_OVERHEAD = 10
#: librdkafka's default ``message.max.bytes``.
DEFAULT_MESSAGE_MAX_BYTES = 1_000_000

#: Broker answers that no retry can fix: the pipeline must stop rather than loop.
PERMANENT_ERRORS = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE,
    KafkaError.RECORD_LIST_TOO_LARGE,
    KafkaError.INVALID_RECORD,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError._INVALID_ARG,
})

RecordRef = tuple[PartitionId, int]


class MessageTooLarge(ValueError):
    """The message cannot fit the topic's ``max.message.bytes``; nothing was sent."""

    def __init__(self, topic: str, size: int, limit: int) -> None:
        self.topic, self.size, self.limit = topic, size, limit
        super().__init__(f"message of about {size} bytes (key, value and headers) exceeds the {limit}-byte limit of "
                         f"topic {topic!r} (max.message.bytes / message.max.bytes)")


class TopicMissing(RuntimeError):
    """A topic the pipeline writes to does not exist (topics are created by ``sptk topics apply``)."""


class ProducerQueueFull(RuntimeError):
    """The local queue stayed full for ``enqueue_timeout_s``: the broker is not taking messages."""

    retryable = True


class StreamGuard(Protocol):
    """Derived streams with a failure budget (:class:`toolkit.pipeline.diversion.Diversion`).

    A failed delivery to a guarded topic is not retried forever nor allowed to stop the
    run: the guard says whether to produce it again or to divert it, and builds the bad row
    that takes its place for the same source record.
    """

    #: guarded streams whose probe message is in flight (the producer reports their confirmations)
    probing: set[str]

    def stream_of(self, topic: str) -> str | None: ...

    def failed(self, stream: str, reason: str, *, permanent: bool = False, exhausted: bool = False) -> bool: ...

    def succeeded(self, stream: str) -> None: ...

    def divert(self, out: Output, line: bytes | None, reason: str) -> Output: ...


class DeliveryFailed(RuntimeError):
    """A message could not be delivered (permanently, or after every attempt). Nothing may be committed."""


class TransactionAborted(RuntimeError):
    """The transaction was aborted; the caller rewinds its consumer to the last committed offsets."""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One confirmed (or failed) delivery, for metrics and logs."""

    topic: str
    partition: int
    offset: int
    latency_s: float | None
    record: RecordRef | None
    error: str | None = None


@dataclass(slots=True)
class _Outgoing:
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]
    record: RecordRef | None
    attempts: int = 1
    #: the record's input line, for the bad row of a diverted derived message
    line: bytes | None = None


def message_size(value: bytes, key: bytes | None, headers: Sequence[tuple[str, bytes]], compressed: bool) -> int:
    """An upper bound of the bytes a single-message batch takes on the wire.

    Compression of data that does not compress can add a little (lz4, zstd and
    gzip stay under 1%); the margin keeps the bound honest in that case.
    """
    payload = len(value) + (len(key) if key else 0)
    for k, v in headers:  # a plain loop: this runs for every message
        payload += len(k) + (len(v) if v else 0) + HEADER_OVERHEAD
    size = BATCH_OVERHEAD + RECORD_OVERHEAD + payload
    return size + (payload // 128 + 64 if compressed else 0)


class _RecordDelivery:
    """The delivery callback shared by one record's messages.

    A failed report carries the topic, key and value but not the headers, so the record's
    messages are kept here to re-send the one that failed exactly as it was.
    """

    __slots__ = ("line", "messages", "producer", "record")

    def __init__(self, producer: DeliveryProducer, record: RecordRef, messages: Sequence[Output],
                 line: bytes | None) -> None:
        self.producer = producer
        self.record = record
        self.messages = messages
        self.line = line

    def __call__(self, err: KafkaError | None, m: Any) -> None:
        if err is None:
            self.producer._confirmed(m.topic(), self.record, m)
            return
        topic, value = m.topic(), m.value()
        out = next((o for o in self.messages if o.topic == topic and o.value == value), None)
        if out is None:  # cannot happen: every message of the record is in the list
            raise DeliveryFailed(f"a delivery report for topic {topic!r} matches no message of record {self.record}")
        self.producer._on_delivery(_Outgoing(out.topic, out.value, out.key, list(out.headers), self.record,
                                             line=self.line), err, m)


class DeliveryProducer:
    """An idempotent (optionally transactional) producer that reports every delivery to a tracker.

    Not thread-safe: one thread produces and polls (delivery callbacks run inside
    ``poll``/``flush`` in that thread, which is what keeps the tracker consistent).
    """

    def __init__(
        self,
        bootstrap: str,
        settings: Mapping[str, Any] | None = None,
        *,
        tracker: DeliveryTracker | None = None,
        transactional_id: str | None = None,
        enqueue_timeout_s: float = 60.0,
        max_attempts: int = 5,
        topic_limits: Mapping[str, int] | None = None,
        on_report: Callable[[DeliveryReport], None] | None = None,
        admin_settings: Mapping[str, Any] | None = None,
        report_every: int = 1,
        guard: StreamGuard | None = None,
    ) -> None:
        conf = client_settings(PRODUCER_DEFAULTS, bootstrap, settings)
        if transactional_id:
            conf["transactional.id"] = transactional_id
        try:
            self._producer = Producer(conf)
        except KafkaException as exc:
            raise KafkaConfigError.refused(exc, "client",
                                           "[kafka.common], [kafka.producer] and [kafka.consumer]") from exc
        self.bootstrap = bootstrap
        self.tracker = tracker
        self.transactional = bool(transactional_id)
        self.enqueue_timeout_s = enqueue_timeout_s
        self.max_attempts = max_attempts
        self._on_report = on_report
        self._admin_settings = dict(admin_settings or {})
        self._limits: dict[str, int] = dict(topic_limits or {})
        self._client_limit = int(conf.get("message.max.bytes", DEFAULT_MESSAGE_MAX_BYTES))
        self._compressed = str(conf.get("compression.type", conf.get("compression.codec", "none"))) != "none"
        self._retry: deque[_Outgoing] = deque()
        self._fatal: KafkaError | None = None
        self._permanent: tuple[_Outgoing, KafkaError] | None = None
        self.backpressure_waits = 0
        self.delivered_count = 0
        self.failed_count = 0
        self.resent_count = 0
        #: confirmed messages per topic (cheap enough for every report; the pipeline's per-stream counts)
        self.delivered_by_topic: dict[str, int] = {}
        #: successful deliveries are passed to ``on_report`` one in ``report_every`` (failures always are)
        self.report_every = max(1, report_every)
        self.guard = guard
        self._probing: set[str] = guard.probing if guard is not None else set()
        if self.transactional:
            self._call(lambda: self._producer.init_transactions(30), "initialise transactions")
        self._in_transaction = False

    # -- size limits ---------------------------------------------------------------------

    def limit_for(self, topic: str) -> int:
        """The largest message the topic accepts: its ``max.message.bytes``, capped by the client's own limit."""
        if topic not in self._limits:
            state = describe_topics(self.bootstrap, [topic], self._admin_settings)[topic]
            if state is None:
                raise TopicMissing(f"topic {topic!r} does not exist on {self.bootstrap}; create it with "
                                   "`sptk topics apply --config <pipeline config>`")
            self._limits[topic] = int(state.configs.get("max.message.bytes", DEFAULT_MESSAGE_MAX_BYTES))
        return min(self._limits[topic], self._client_limit)

    def check_size(self, topic: str, value: bytes, key: bytes | None = None,
                   headers: Sequence[tuple[str, bytes]] = ()) -> int:
        """Raise :class:`MessageTooLarge` if the message cannot fit; return its estimated size."""
        size = message_size(value, key, headers, self._compressed)
        limit = self.limit_for(topic)
        if size > limit:
            raise MessageTooLarge(topic, size, limit)
        return size

    # -- producing -----------------------------------------------------------------------

    def produce(self, topic: str, value: bytes, *, key: bytes | None = None,
                headers: Sequence[tuple[str, bytes]] = (), record: RecordRef | None = None,
                size_checked: bool = False) -> None:
        """Queue one message; its delivery report will confirm (or fail) one output of ``record``.

        Raises :class:`MessageTooLarge` before sending anything, and
        :class:`ProducerQueueFull` if the queue stays full for ``enqueue_timeout_s``.
        ``size_checked=True`` skips the size check for a caller that already compared
        :func:`message_size` with :meth:`limit_for` (the pipeline does, to turn oversized
        records into bad rows); librdkafka still refuses what exceeds its own limit.
        """
        self._raise_if_broken()
        if not size_checked:
            self.check_size(topic, value, key, headers)
        self._enqueue(_Outgoing(topic, value, key, list(headers), record))

    def produce_record(self, messages: Sequence[Output], record: RecordRef, line: bytes | None = None) -> None:
        """Queue every message of one record, sizes already checked (see :meth:`produce`).

        The hot path: one delivery callback object per record instead of one per message,
        and no per-message bookkeeping unless librdkafka pushes back (then each message
        takes :meth:`produce`'s path, with its backpressure handling). ``line`` is the
        record's input, kept for the bad row of a derived message the guard diverts.
        """
        self._raise_if_broken()
        produce = self._producer.produce
        callback = _RecordDelivery(self, record, messages, line)
        for i, out in enumerate(messages):
            try:
                produce(out.topic, out.value, out.key, headers=out.headers, on_delivery=callback)
            except (BufferError, KafkaException):
                for rest in messages[i:]:
                    self._enqueue(_Outgoing(rest.topic, rest.value, rest.key, list(rest.headers), record, line=line))
                return

    def _enqueue(self, msg: _Outgoing) -> None:
        deadline = None
        while True:
            try:
                self._producer.produce(msg.topic, value=msg.value, key=msg.key, headers=msg.headers,
                                       on_delivery=partial(self._on_delivery, msg))
                return
            except BufferError:
                # The local queue is full: serve delivery reports to make room, then try again.
                self.backpressure_waits += 1
                now = time.monotonic()
                deadline = deadline or now + self.enqueue_timeout_s
                if now >= deadline:
                    raise ProducerQueueFull(
                        f"the producer queue stayed full for {self.enqueue_timeout_s:.0f}s ({len(self._producer)} "
                        f"messages waiting for {self.bootstrap}); the broker is not accepting messages fast enough"
                        " or is unreachable") from None
                self._producer.poll(0.05)
            except KafkaException as exc:
                err = exc.args[0]
                if isinstance(err, KafkaError) and self._guarded(msg) is not None:
                    self._on_delivery(msg, err, None)  # a guarded stream's refusal counts like a failed delivery
                    return
                if isinstance(err, KafkaError) and err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                    raise MessageTooLarge(msg.topic, len(msg.value), self._client_limit) from exc
                raise DeliveryFailed(f"could not queue a message for topic {msg.topic!r}: {err}") from exc

    def _confirmed(self, topic: str, record: RecordRef | None, m: Any) -> None:
        self.delivered_count += 1
        by_topic = self.delivered_by_topic
        by_topic[topic] = by_topic.get(topic, 0) + 1
        if record is not None and self.tracker is not None:
            self.tracker.delivered(*record)
        if self._probing:
            stream = self.guard.stream_of(topic)  # type: ignore[union-attr]
            if stream in self._probing:
                self.guard.succeeded(stream)  # type: ignore[union-attr,arg-type]
        if self._on_report and self.delivered_count % self.report_every == 0:
            self._on_report(DeliveryReport(m.topic(), m.partition(), m.offset(), m.latency(), record))

    def _on_delivery(self, msg: _Outgoing, err: KafkaError | None, m: Any) -> None:
        if err is None:
            self._confirmed(msg.topic, msg.record, m)
            return
        latency = m.latency() if m is not None else None
        if err.code() in (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT):
            return  # purged by an aborted transaction: the consumer rewinds and the record is read again
        self.failed_count += 1
        if self._on_report:
            self._on_report(DeliveryReport(msg.topic, -1, -1, latency, msg.record, str(err)))
        if self.tracker is not None and msg.record is not None:
            self.tracker.failed(*msg.record)
        if err.fatal():
            self._fatal = err
            return
        permanent = err.code() in PERMANENT_ERRORS
        stream = self._guarded(msg)
        if stream is not None and self.guard.failed(stream, str(err), permanent=permanent,  # type: ignore[union-attr]
                                                    exhausted=msg.attempts >= self.max_attempts):
            out = self.guard.divert(Output(stream, msg.topic, msg.key, msg.value, msg.headers),  # type: ignore
                                    msg.line, str(err))
            # the bad row replaces the failed message as the record's output: produced (and tracked) as a retry
            self._retry.append(_Outgoing(out.topic, out.value, out.key, list(out.headers), msg.record, line=msg.line))
        elif permanent:
            self._permanent = self._permanent or (msg, err)
        else:
            log.warning("delivery to %s failed (attempt %d of %d): %s; it will be retried",
                        msg.topic, msg.attempts, self.max_attempts, err)
            self._retry.append(msg)

    def _guarded(self, msg: _Outgoing) -> str | None:
        """The derived stream of ``msg`` if it has a failure budget (and belongs to a tracked record)."""
        if self.guard is None or msg.record is None:
            return None
        return self.guard.stream_of(msg.topic)

    def _raise_if_broken(self) -> None:
        if self._fatal is not None:
            raise DeliveryFailed(f"the producer hit a fatal error and must be recreated: {self._fatal}; nothing "
                                 "after the last commit is acknowledged, so a restart re-reads it")
        if self._permanent is not None:
            msg, err = self._permanent
            raise DeliveryFailed(f"the broker permanently refused a message for topic {msg.topic!r}: {err}")

    def _resend_failed(self) -> int:
        resent = 0
        while self._retry:
            msg = self._retry.popleft()
            if msg.attempts >= self.max_attempts:
                raise DeliveryFailed(f"a message for topic {msg.topic!r} failed {msg.attempts} times (each after "
                                     "librdkafka's own retries); stopping without committing so a restart "
                                     "re-reads the record")
            msg.attempts += 1
            if self.tracker is not None and msg.record is not None:
                self.tracker.retried(*msg.record)
            self._enqueue(msg)
            resent += 1
        self.resent_count += resent
        return resent

    def poll(self, timeout_s: float = 0.0) -> int:
        """Serve delivery reports, re-send failed messages, raise if delivery cannot continue."""
        served = self._producer.poll(timeout_s)
        self._raise_if_broken()
        self._resend_failed()
        return served

    def flush(self, timeout_s: float) -> int:
        """Wait until every queued message is confirmed (or failed); return how many are still outstanding."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            self._producer.flush(remaining)
            self._raise_if_broken()
            if not self._retry or remaining <= 0:
                return len(self._producer) + len(self._retry)
            self._resend_failed()

    def wait_for_capacity(self, timeout_s: float) -> bool:
        """Poll until the tracker has room for another record; False on timeout (backpressure)."""
        if self.tracker is None:
            return True
        deadline = time.monotonic() + timeout_s
        while not self.tracker.has_capacity():
            if time.monotonic() >= deadline:
                return False
            self.poll(0.05)
        return True

    @property
    def queue_depth(self) -> int:
        """Messages in librdkafka's queue not yet confirmed (the ``sptk_producer_queue_messages`` gauge)."""
        return len(self._producer)

    # -- transactions --------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return fn()
        except KafkaException as exc:
            raise DeliveryFailed(f"could not {what}: {exc.args[0]}") from exc

    def begin_transaction(self) -> None:
        if not self.transactional:
            raise RuntimeError("begin_transaction() needs a producer created with a transactional_id")
        self._call(self._producer.begin_transaction, "begin a transaction")
        self._in_transaction = True

    def commit_transaction(self, offsets: Sequence[tuple[str, int, int]], group_metadata: Any,
                           timeout_s: float = 30.0) -> None:
        """Commit the outputs and the consumer offsets (next offset to read per partition) atomically.

        A retriable error is retried until ``timeout_s``; an error that requires an
        abort aborts the transaction and raises :class:`TransactionAborted`, after
        which the caller rewinds its consumer to the committed offsets.
        """
        deadline = time.monotonic() + timeout_s
        tps = [TopicPartition(t, p, o) for t, p, o in offsets]
        steps: list[tuple[str, Callable[[float], Any]]] = []
        if tps:
            steps.append(("send the consumer offsets to the transaction",
                          lambda t: self._producer.send_offsets_to_transaction(tps, group_metadata, t)))
        steps.append(("commit the transaction", lambda t: self._producer.commit_transaction(t)))
        for what, step in steps:
            while True:
                try:
                    step(max(1.0, deadline - time.monotonic()))
                    break
                except KafkaException as exc:
                    err = exc.args[0]
                    if err.txn_requires_abort():
                        self.abort_transaction(timeout_s)
                        raise TransactionAborted(f"could not {what}: {err}; the transaction was aborted") from exc
                    if err.retriable() and time.monotonic() < deadline:
                        time.sleep(0.1)
                        continue
                    raise DeliveryFailed(f"could not {what}: {err}") from exc
        self._in_transaction = False
        self._raise_if_broken()

    def abort_transaction(self, timeout_s: float = 30.0) -> None:
        self._retry.clear()  # aborted messages are discarded by the broker; the consumer re-reads their records
        self._call(lambda: self._producer.abort_transaction(timeout_s), "abort the transaction")
        self._in_transaction = False

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction
