"""A consumer-group member that commits only what the delivery tracker says is confirmed.

Auto commit and auto offset store are off (``client.CONSUMER_DEFAULTS``): an
offset is stored only when every output of that record and of every record before
it is confirmed, and committed from the stored offsets. On a rebalance the
partitions being revoked get one last commit of what is confirmed, so the next
owner does not redo work that was already durable; lost partitions (a session
timeout) are dropped without a commit because the group already moved on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

from toolkit.kafka.client import CONSUMER_DEFAULTS, KafkaConfigError, KafkaUnavailable, client_settings
from toolkit.pipeline.delivery import DeliveryTracker

log = logging.getLogger(__name__)


def partition_key(topic: str, partition: int) -> str:
    """How a Kafka partition is named in the tracker, in ``sp.source`` and in logs: ``topic/partition``."""
    return f"{topic}/{partition}"


@dataclass(frozen=True, slots=True)
class ConsumedMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None

    @property
    def partition_key(self) -> str:
        return partition_key(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Consumer lag of one assigned partition: messages not yet committed (``high - committed``)."""

    topic: str
    partition: int
    low: int
    high: int
    position: int | None
    committed: int | None
    lag: int


class KafkaConsumeError(RuntimeError):
    """The consumer cannot continue (a fatal client error); the message says why."""


class TrackedConsumer:
    """Subscribe, read, and commit tracker-confirmed offsets; safe across rebalances.

    Not thread-safe: poll, commit and the rebalance callbacks all run in the
    thread that calls :meth:`poll`/:meth:`consume`.
    """

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        settings: Mapping[str, Any] | None = None,
        *,
        tracker: DeliveryTracker | None = None,
        auto_offset_reset: str = "earliest",
        commit_on_revoke: bool = True,
        before_revoke: Callable[[list[str]], None] | None = None,
        on_assigned: Callable[[list[str]], None] | None = None,
        on_revoked: Callable[[list[str]], None] | None = None,
    ) -> None:
        conf = client_settings(CONSUMER_DEFAULTS, bootstrap, settings)
        conf.update({"group.id": group_id, "auto.offset.reset": auto_offset_reset})
        try:
            self._consumer = Consumer(conf)
        except KafkaException as exc:
            raise KafkaConfigError.refused(exc, "consumer", "[kafka.common] and [kafka.consumer]") from exc
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = list(topics)
        self.tracker = tracker
        self.auto_offset_reset = auto_offset_reset
        self.commit_on_revoke = commit_on_revoke
        self._before_revoke = before_revoke
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._assigned: dict[str, TopicPartition] = {}
        self._stored: dict[str, int] = {}
        self._committed: dict[str, int] = {}
        self._closed = False
        self._consumer.subscribe(self.topics, on_assign=self._assign_cb, on_revoke=self._revoke_cb,
                                 on_lost=self._lost_cb)

    # -- rebalance -----------------------------------------------------------------------

    def _assign_cb(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = []
        for tp in partitions:
            key = partition_key(tp.topic, tp.partition)
            self._assigned[key] = TopicPartition(tp.topic, tp.partition)
            self._stored.pop(key, None)
            self._committed.pop(key, None)
            keys.append(key)
        log.info("assigned %s", ", ".join(keys) or "no partitions")
        if self._on_assigned:
            self._on_assigned(keys)

    def _revoke_cb(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [partition_key(tp.topic, tp.partition) for tp in partitions]
        if self._before_revoke:
            # flush the producer so more is confirmed; with transactions, commit the open one (its offsets
            # include the partitions being revoked, which are still assigned during this callback)
            self._before_revoke(keys)
        if self.commit_on_revoke:
            committed = self.commit(only=keys)
            log.info("revoked %s; committed %s before handing them over", ", ".join(keys), committed or "nothing new")
        self._forget(keys)

    def _lost_cb(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [partition_key(tp.topic, tp.partition) for tp in partitions]
        log.warning("lost %s (the group moved on, e.g. after a session timeout); their unconfirmed records will be "
                    "read again by the new owner", ", ".join(keys))
        self._forget(keys)

    def _forget(self, keys: list[str]) -> None:
        for key in keys:
            self._assigned.pop(key, None)
            self._stored.pop(key, None)
            if self.tracker is not None:
                self.tracker.drop(key)
        if self._on_revoked:
            self._on_revoked(keys)

    # -- reading -------------------------------------------------------------------------

    def _convert(self, msg: Any) -> ConsumedMessage | None:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return None
            if err.fatal():
                raise KafkaConsumeError(f"the consumer of group {self.group_id!r} hit a fatal error: {err}")
            log.warning("consumer of group %r: %s (librdkafka retries by itself)", self.group_id, err)
            return None
        ts_type, ts = msg.timestamp()
        return ConsumedMessage(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                               tuple(msg.headers() or ()), ts if ts_type else None)

    def poll(self, timeout_s: float) -> ConsumedMessage | None:
        msg = self._consumer.poll(timeout_s)
        return None if msg is None else self._convert(msg)

    def consume(self, max_messages: int, timeout_s: float) -> list[ConsumedMessage]:
        out = []
        for msg in self._consumer.consume(max_messages, timeout_s):
            converted = self._convert(msg)
            if converted is not None:
                out.append(converted)
        return out

    def pause(self) -> None:
        """Stop fetching (backpressure) without leaving the group."""
        if self._assigned:
            self._consumer.pause(list(self._assigned.values()))

    def resume(self) -> None:
        if self._assigned:
            self._consumer.resume(list(self._assigned.values()))

    def assignment(self) -> list[str]:
        return sorted(self._assigned)

    def why_unassigned(self, timeout_s: float = 3.0) -> str:
        """Why no partition is assigned, for a person: the broker does not answer, a topic is missing, or the group.

        Asks the cluster for its metadata, so it can take up to ``timeout_s`` when the broker is unreachable.
        """
        try:
            metadata = self._consumer.list_topics(timeout=timeout_s)
        except KafkaException as exc:
            return self._no_answer(exc)
        missing = [t for t in self.topics if t not in metadata.topics or metadata.topics[t].error is not None]
        if missing:
            return f"topic {', '.join(missing)} does not exist on Kafka at {self.bootstrap}"
        return (f"Kafka at {self.bootstrap} assigned no partition of {', '.join(self.topics)} to group "
                f"{self.group_id!r}; other members of the group may hold them all")

    def _no_answer(self, exc: KafkaException) -> str:
        reason = exc.args[0].str() if isinstance(exc.args[0], KafkaError) else str(exc.args[0])
        return (f"Kafka at {self.bootstrap} did not answer ({reason}); check that the broker is running and that "
                "the bootstrap servers are right")

    # -- offsets -------------------------------------------------------------------------

    def store(self, key: str, position: int) -> bool:
        """Mark the record at ``position`` (and all before it) as done: stores ``position + 1``.

        Returns False when the partition is no longer assigned (it was revoked
        meanwhile; the new owner re-reads from the last commit).
        """
        tp = self._assigned.get(key)
        if tp is None:
            return False
        next_offset = position + 1
        if next_offset <= self._stored.get(key, -1):
            return True
        try:
            self._consumer.store_offsets(offsets=[TopicPartition(tp.topic, tp.partition, next_offset)])
        except KafkaException as exc:
            log.warning("could not store offset %d for %s: %s", next_offset, key, exc.args[0])
            return False
        self._stored[key] = next_offset
        return True

    def commit(self, only: Sequence[str] | None = None, asynchronous: bool = False) -> dict[str, int]:
        """Store what the tracker says is confirmed, then commit stored offsets not yet committed.

        Returns ``{"topic/partition": next offset}`` for what was committed now.
        A failed commit is logged and retried at the next call: the records stay
        uncommitted, which at-least-once allows.
        """
        keys = list(only) if only is not None else list(self._assigned)
        if self.tracker is not None:
            for key in keys:
                done = self.tracker.committable_for(key)
                if done is not None:
                    # The tracker holds whatever the pipeline tracked: an offset, or a source Position.
                    self.store(key, int(getattr(done, "offset", done)))
        todo = {k: self._stored[k] for k in keys if k in self._stored and self._stored[k] > self._committed.get(k, -1)}
        if not todo:
            return {}
        offsets = [TopicPartition(self._assigned[k].topic, self._assigned[k].partition, o) for k, o in todo.items()]
        try:
            result = self._consumer.commit(offsets=offsets, asynchronous=asynchronous)
        except KafkaException as exc:
            log.warning("commit of %s for group %r failed: %s; it will be retried", todo, self.group_id, exc.args[0])
            return {}
        if asynchronous:
            self._committed.update(todo)
            return todo
        done_now: dict[str, int] = {}
        for tp in result or []:
            key = partition_key(tp.topic, tp.partition)
            if tp.error is not None:
                log.warning("commit of %s@%d failed: %s", key, tp.offset, tp.error)
                continue
            self._committed[key] = tp.offset
            done_now[key] = tp.offset
        return done_now

    def committed(self, timeout_s: float = 10.0) -> dict[str, int]:
        """The group's committed offsets for the current assignment, from the broker."""
        if not self._assigned:
            return {}
        result = self._consumer.committed(list(self._assigned.values()), timeout=timeout_s)
        return {partition_key(tp.topic, tp.partition): tp.offset for tp in result if tp.offset >= 0}

    def positions(self) -> list[tuple[str, int, int]]:
        """Next offset to read per assigned partition: what a transaction commits for the group."""
        if not self._assigned:
            return []
        return [(tp.topic, tp.partition, tp.offset) for tp in self._consumer.position(list(self._assigned.values()))
                if tp.offset >= 0]

    def group_metadata(self) -> Any:
        """Opaque group metadata for ``DeliveryProducer.commit_transaction``."""
        return self._consumer.consumer_group_metadata()

    def rewind_to_committed(self, timeout_s: float = 10.0) -> None:
        """After an aborted transaction: go back to the group's committed offsets and read from there."""
        if not self._assigned:
            return
        for tp in self._consumer.committed(list(self._assigned.values()), timeout=timeout_s):
            if tp.offset >= 0:
                target = tp.offset
            else:
                target = OFFSET_BEGINNING if self.auto_offset_reset == "earliest" else OFFSET_END
            self._consumer.seek(TopicPartition(tp.topic, tp.partition, target))

    def lag(self, timeout_s: float = 5.0) -> list[PartitionLag]:
        """Per assigned partition: watermarks, position, committed offset and lag (``high - committed``).

        Asks the broker, so it raises :class:`KafkaUnavailable` (saying so for a person) when the broker
        does not answer within ``timeout_s``: a caller waiting to catch up decides how long to keep trying.
        """
        out = []
        assigned = list(self._assigned.values())
        if not assigned:
            return out
        positions = {partition_key(tp.topic, tp.partition): tp.offset for tp in self._consumer.position(assigned)}
        try:
            committed = self.committed(timeout_s)
            watermarks = [self._consumer.get_watermark_offsets(tp, timeout=timeout_s) for tp in assigned]
        except KafkaException as exc:
            raise KafkaUnavailable(self._no_answer(exc)) from exc
        for tp, (low, high) in zip(assigned, watermarks, strict=True):
            key = partition_key(tp.topic, tp.partition)
            done = committed.get(key)
            position = positions.get(key)
            base = done if done is not None else low
            out.append(PartitionLag(tp.topic, tp.partition, low, high,
                                    position if position is not None and position >= 0 else None,
                                    done, max(0, high - base)))
        return out

    def close(self) -> None:
        """Commit what is confirmed (unless offsets go through transactions), then leave the group."""
        if self._closed:
            return
        if self.commit_on_revoke:
            self.commit()
        self._consumer.close()
        self._closed = True
