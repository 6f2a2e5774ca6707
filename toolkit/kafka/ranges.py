"""A bounded read of Kafka topics: from a time or offset to a time or offset, fixed at start, then done.

Why not the group source with reset offsets: a replay must end by itself at a point fixed
before it starts (records produced while it runs belong to the live pipeline), must not move
any consumer group's offsets, and must say afterwards exactly which offsets it covered. So the
range is resolved once at start (``offsets_for_times`` for times, the watermarks for "the
start" and "now"), the partitions are assigned directly (no group membership, nothing is ever
committed), and the source finishes when every partition's position has reached the end it
computed. An interrupted range replay is run again with the same options: it repeats the range,
and consumers deduplicate on ``event_id`` and ``event_fingerprint``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from toolkit.kafka.client import CONSUMER_DEFAULTS, KafkaConfigError, KafkaUnavailable, client_settings
from toolkit.kafka.consuming import ConsumedMessage, partition_key

#: the group id librdkafka requires of a consumer; the range source never joins it or commits to it
RANGE_GROUP = "sptk-range-replay"


class RangeError(ValueError):
    """The range asked for cannot be read (no such topic or partition, an end before the start)."""


@dataclass(frozen=True, slots=True)
class RangeBounds:
    """What the command line asked for; each bound optional. Offsets are per ``topic/partition``."""

    from_time: datetime | None = None
    to_time: datetime | None = None
    from_offsets: Mapping[str, int] = field(default_factory=dict)
    to_offsets: Mapping[str, int] = field(default_factory=dict)  # inclusive: the last offset to replay

    @property
    def bounded(self) -> bool:
        return bool(self.from_time or self.to_time or self.from_offsets or self.to_offsets)


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """Offsets ``start`` up to but not including ``end`` of one partition."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def key(self) -> str:
        return partition_key(self.topic, self.partition)


def parse_offsets(option: str, values: Sequence[str], topics: Sequence[str]) -> dict[str, int]:
    """``P:OFFSET`` (with one topic) or ``TOPIC/P:OFFSET``, repeatable, as ``{"topic/P": offset}``."""
    out: dict[str, int] = {}
    for value in values:
        where, sep, offset = value.rpartition(":")
        topic, slash, partition = where.rpartition("/")
        if not slash:
            if len(topics) != 1:
                raise RangeError(f"{option} {value!r}: the source reads {len(topics)} topics; name the topic as "
                                 "TOPIC/PARTITION:OFFSET")
            topic = topics[0]
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise RangeError(f"{option} {value!r}: expected PARTITION:OFFSET such as 0:1500 (or "
                             "TOPIC/PARTITION:OFFSET), with whole numbers")
        if topic not in topics:
            raise RangeError(f"{option} {value!r}: {topic!r} is not a topic of the source ({', '.join(topics)})")
        out[partition_key(topic, int(partition))] = int(offset)
    return out


def resolve(key: str, low: int, high: int, bounds: RangeBounds, from_time_offset: int | None,
            to_time_offset: int | None) -> tuple[int, int]:
    """The ``[start, end)`` of one partition from its watermarks and the offsets its times resolved to.

    ``*_time_offset`` is the first offset whose timestamp is at or after that time, ``-1``
    when there is none (the time is after the last record), ``None`` when no time was given.
    Offset bounds win over time bounds for the partitions they name. The end never passes the
    high watermark read at start, so what arrives during the replay is left to the live path.
    """
    start = low
    if key in bounds.from_offsets:
        start = bounds.from_offsets[key]
    elif from_time_offset is not None:
        start = high if from_time_offset < 0 else from_time_offset
    end = high
    if key in bounds.to_offsets:
        end = bounds.to_offsets[key] + 1
    elif to_time_offset is not None:
        end = high if to_time_offset < 0 else to_time_offset
    start, end = max(start, low), min(end, high)
    return start, max(start, end)


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


class RangeConsumer:
    """Read ``[start, end)`` of every partition of ``topics`` as resolved at start, then finish."""

    def __init__(self, bootstrap: str, topics: Sequence[str], bounds: RangeBounds,
                 settings: Mapping[str, Any] | None = None, *, timeout_s: float = 30.0) -> None:
        conf = client_settings(CONSUMER_DEFAULTS, bootstrap, settings)
        conf["group.id"] = RANGE_GROUP
        try:
            self._consumer = Consumer(conf)
        except KafkaException as exc:
            raise KafkaConfigError.refused(exc, "consumer", "[kafka.common] and [kafka.consumer]") from exc
        self.topics = list(topics)
        self.bounds = bounds
        try:
            self.ranges = self._resolve_all(timeout_s)
        except KafkaException as exc:
            self._consumer.close()
            raise KafkaUnavailable(f"the broker at {bootstrap} did not answer while the replay range was "
                                   f"resolved ({exc}); check it is up and reachable, then run again") from exc
        except BaseException:
            self._consumer.close()
            raise
        self.description = f"kafka: {', '.join(topics)}, " + "; ".join(
            f"{r.key} offsets {r.start}..{r.end - 1}" if r.end > r.start else f"{r.key} nothing"
            for r in self.ranges)
        self._by_key = {r.key: r for r in self.ranges}
        self._read: dict[str, int] = dict.fromkeys(self._by_key, 0)
        self._first_ts: dict[str, int] = {}
        self._last_ts: dict[str, int] = {}
        self._open = {r.key for r in self.ranges if r.end > r.start}
        self._complete = {r.key for r in self.ranges if r.end <= r.start}
        self._stopped = False
        self._closed = False
        if self._open:
            self._consumer.assign([TopicPartition(r.topic, r.partition, r.start) for r in self.ranges
                                   if r.key in self._open])

    def _resolve_all(self, timeout_s: float) -> list[PartitionRange]:
        known = {partition_key(t, p) for t in self.topics for p in self._partitions(t, timeout_s)}
        unknown = sorted((set(self.bounds.from_offsets) | set(self.bounds.to_offsets)) - known)
        if unknown:
            raise RangeError(f"no such partition: {', '.join(unknown)} (the source's partitions are "
                             f"{', '.join(sorted(known))})")
        parts = [TopicPartition(t, p) for t in self.topics for p in self._partitions(t, timeout_s)]
        from_times = self._offsets_for(parts, self.bounds.from_time, timeout_s)
        to_times = self._offsets_for(parts, self.bounds.to_time, timeout_s)
        out = []
        for tp in parts:
            key = partition_key(tp.topic, tp.partition)
            low, high = self._consumer.get_watermark_offsets(tp, timeout=timeout_s)
            start, end = resolve(key, low, high, self.bounds, from_times.get(key), to_times.get(key))
            out.append(PartitionRange(tp.topic, tp.partition, start, end))
        for key, offset in self.bounds.to_offsets.items():
            start = next(r.start for r in out if r.key == key)
            if offset + 1 < start:
                raise RangeError(f"--to-offset {key}:{offset} is before the range's start {start} in that partition")
        return out

    def _partitions(self, topic: str, timeout_s: float) -> list[int]:
        meta = self._consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise RangeError(f"topic {topic!r} does not exist (or has no partitions); check [source.kafka] topics")
        return sorted(meta.partitions)

    def _offsets_for(self, parts: list[TopicPartition], moment: datetime | None,
                     timeout_s: float) -> dict[str, int]:
        if moment is None:
            return {}
        asked = [TopicPartition(tp.topic, tp.partition, _ms(moment)) for tp in parts]
        return {partition_key(tp.topic, tp.partition): tp.offset
                for tp in self._consumer.offsets_for_times(asked, timeout=timeout_s)}

    def consume(self, max_messages: int, timeout_s: float) -> list[ConsumedMessage]:
        if self._stopped or not self._open:
            return []
        out = []
        for msg in self._consumer.consume(max_messages, timeout_s):
            if msg.error() is not None:
                if msg.error().fatal():
                    raise KafkaUnavailable(f"the range replay's consumer hit a fatal error: {msg.error()}")
                continue
            key = partition_key(msg.topic(), msg.partition())
            r = self._by_key.get(key)
            offset = msg.offset()
            if r is None or key not in self._open or offset >= r.end:
                self._close_partition(key)
                continue
            self._read[key] += 1
            ts_type, ts = msg.timestamp()
            if ts_type:
                self._first_ts.setdefault(key, ts)
                self._last_ts[key] = ts
            out.append(ConsumedMessage(msg.topic(), msg.partition(), offset, msg.key(), msg.value(),
                                       tuple(msg.headers() or ()), ts if ts_type else None))
            if offset + 1 >= r.end:
                self._close_partition(key)
        if len(out) < max_messages:
            self._check_positions()
        return out

    def _close_partition(self, key: str) -> None:
        """The partition reached its end: stop fetching it."""
        if key in self._open:
            self._open.discard(key)
            self._complete.add(key)
            r = self._by_key[key]
            self._consumer.pause([TopicPartition(r.topic, r.partition)])

    def _check_positions(self) -> None:
        """A range can end on offsets that hold no record (transaction markers, compaction): trust the position."""
        if not self._open:
            return
        assigned = [TopicPartition(self._by_key[k].topic, self._by_key[k].partition) for k in self._open]
        for tp in self._consumer.position(assigned):
            key = partition_key(tp.topic, tp.partition)
            if tp.offset >= 0 and tp.offset >= self._by_key[key].end:
                self._close_partition(key)

    @property
    def finished(self) -> bool:
        return self._stopped or not self._open

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def report(self) -> list[dict[str, Any]]:
        """Per partition: the range resolved at start, how much of it was read, and the times it spanned."""
        out = []
        for r in self.ranges:
            first, last = self._first_ts.get(r.key), self._last_ts.get(r.key)
            out.append({"partition": r.key, "from_offset": r.start, "to_offset": r.end - 1 if r.end > r.start else None,
                        "records": self._read[r.key], "complete": r.key in self._complete,
                        "first_timestamp": _iso(first), "last_timestamp": _iso(last)})
        return out


def read_to_end(bootstrap: str, topic: str, settings: Mapping[str, Any] | None = None, *,
                timeout_s: float = 60.0) -> Iterator[tuple[bytes | None, bytes | None]]:
    """``(key, value)`` of every record of ``topic``, start to end as of the call; a tombstone's value is ``None``.

    What a compacted topic's reader needs at start: one key's records stay in order (they share a
    partition), and the end is fixed first, so records written meanwhile are not waited for.
    :class:`KafkaUnavailable` when the read takes longer than ``timeout_s``.
    """
    consumer = RangeConsumer(bootstrap, [topic], RangeBounds(), settings, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    try:
        while not consumer.finished:
            if time.monotonic() > deadline:
                raise KafkaUnavailable(f"reading {topic} to its end took longer than {timeout_s:g}s ("
                                       f"{consumer.description}); check the broker, or allow more time")
            for m in consumer.consume(1000, 0.5):
                yield m.key, m.value
    finally:
        consumer.close()


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
