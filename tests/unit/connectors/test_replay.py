"""``sptk pipeline replay-bad`` ends by itself at the end the bad topic had when it began (pure logic, no broker).

A fake Kafka source stands in for the consumer: it hands out scripted records and reports lag the way
``KafkaSource.lag`` does, so each rule of ``UntilCurrentEnd`` is checked on its own.
"""

from __future__ import annotations

from typing import Any

from connectors.replay import UntilCurrentEnd
from connectors.sources.base import Position, Record
from toolkit.kafka.consuming import PartitionLag


class FakeSource:
    """Scripted batches of ``(partition, offset)`` and a mutable lag table."""

    def __init__(self, batches: list[list[tuple[str, int]]], lags: list[PartitionLag]) -> None:
        self.consumer = object()
        self.description = "kafka topic bad"
        self.batches = batches
        self.lags = lags
        self.finished = False
        self.calls: list[str] = []
        self.reads: list[tuple[int, float]] = []

    def read(self, max_records: int, timeout_s: float) -> list[Record]:
        self.reads.append((max_records, timeout_s))
        batch = self.batches.pop(0) if self.batches else []
        return [Record(b"x", Position(p, o), f"kafka:{p}@{o}") for p, o in batch]

    def lag(self) -> list[PartitionLag]:
        return list(self.lags)

    def ack(self, position: Position) -> None:
        self.calls.append(f"ack {position.offset}")

    def commit(self) -> dict[str, int]:
        self.calls.append("commit")
        return {"bad/0": 3}

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


def lag(partition: int, high: int, *, low: int = 0, position: int | None = None,
        committed: int | None = None) -> PartitionLag:
    return PartitionLag("bad", partition, low, high, position, committed, high - (committed or 0))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replay(source: FakeSource, clock: Any = None) -> UntilCurrentEnd:
    return UntilCurrentEnd(source, settle_s=30, clock=clock or Clock())  # type: ignore[arg-type]


def test_it_ends_at_the_end_the_topic_had_when_it_began() -> None:
    source = FakeSource([[("bad/0", 0), ("bad/0", 1)], [("bad/0", 2)], [("bad/0", 3)]], [lag(0, 4)])
    r = replay(source)
    assert r.description == "kafka topic bad, up to its current end"
    assert len(r.read(2, 1.0)) == 2 and not r.finished  # a full batch: the end is not looked at yet
    assert len(r.read(2, 1.0)) == 1 and not r.finished  # a short batch: the end (4) is noted, offset 2 < 3
    source.lags = [lag(0, 6)]  # the replay's own re-quarantined rows arrive meanwhile
    assert len(r.read(2, 1.0)) == 1
    assert r.finished  # offset 3 read: the end noted first is reached, the newer rows wait
    assert r.read(2, 1.0) == []


def test_offsets_the_group_already_committed_or_passed_count_as_read() -> None:
    committed = replay(FakeSource([], [lag(0, 3, committed=3)]))
    committed.read(10, 1.0)
    assert committed.finished
    positioned = replay(FakeSource([], [lag(0, 3, position=3)]))
    positioned.read(10, 1.0)
    assert positioned.finished
    retained = replay(FakeSource([], [lag(0, 3, low=3)]))  # everything before 3 was deleted by retention
    retained.read(10, 1.0)
    assert retained.finished
    behind = replay(FakeSource([], [lag(0, 3, committed=2, position=2, low=1)]))
    behind.read(10, 1.0)
    assert not behind.finished


def test_every_partition_must_reach_its_end() -> None:
    source = FakeSource([[("bad/0", 2)], [("bad/1", 0)], [("bad/1", 1)]], [lag(0, 3), lag(1, 2)])
    r = replay(source)
    r.read(10, 1.0)
    assert not r.finished
    r.read(10, 1.0)
    assert not r.finished
    r.read(10, 1.0)
    assert r.finished


def test_a_replay_never_assigned_a_partition_gives_up_after_the_settle_time() -> None:
    clock = Clock()
    r = UntilCurrentEnd(FakeSource([], []), clock=clock)  # type: ignore[arg-type]  # the default: 30 s
    r.read(10, 1.0)
    assert not r.finished
    clock.now += 29.99
    r.read(10, 1.0)
    assert not r.finished
    clock.now += 0.01
    r.read(10, 1.0)
    assert r.finished


def test_once_assigned_an_empty_lag_table_does_not_end_it() -> None:
    clock = Clock()
    source = FakeSource([], [lag(0, 3)])
    r = replay(source, clock)
    r.read(10, 1.0)  # notes the end: 3
    source.lags = []  # a rebalance took the partition away for a moment
    clock.now += 60
    r.read(10, 1.0)
    assert not r.finished


def test_it_finishes_when_the_source_does_and_passes_the_rest_through() -> None:
    source = FakeSource([], [lag(0, 3)])
    r = replay(source)
    assert not r.finished
    source.finished = True
    assert r.finished
    r.ack(Position("bad/0", 7))
    assert r.commit() == {"bad/0": 3}
    assert r.lag() == [lag(0, 3)]
    r.stop()
    r.close()
    assert source.calls == ["ack 7", "commit", "stop", "close"]
    assert r.consumer is source.consumer


def test_reads_pass_their_limits_through_and_a_full_batch_defers_the_end() -> None:
    source = FakeSource([[("bad/0", 0), ("bad/0", 1), ("bad/0", 2)]], [lag(0, 3)])
    r = replay(source)
    assert len(r.read(3, 0.25)) == 3
    assert source.reads == [(3, 0.25)]
    assert not r.finished  # the batch was full: more may wait, so the end is looked at on the next read
    assert r.read(3, 0.25) == [] and r.finished


def test_nothing_read_of_a_one_message_topic_is_not_the_end() -> None:
    r = replay(FakeSource([], [lag(0, 1)]))
    r.read(10, 1.0)
    assert not r.finished


def test_a_partition_missing_from_the_lag_table_counts_only_what_was_read_of_it() -> None:
    source = FakeSource([[("bad/0", 0)], [("bad/1", 0)]], [lag(0, 1), lag(1, 1)])
    r = replay(source)
    r.read(10, 1.0)  # notes both ends
    source.lags = [lag(0, 1, committed=1)]  # partition 1 is away for a moment
    assert not r.finished
    r.read(10, 1.0)  # but its last message is read
    assert r.finished
    unread = FakeSource([[("bad/0", 0)]], [lag(0, 1), lag(1, 1)])
    waiting = replay(unread)
    waiting.read(10, 1.0)
    unread.lags = [lag(0, 1, committed=1)]
    waiting.read(10, 1.0)
    assert not waiting.finished  # nothing of partition 1 was read
