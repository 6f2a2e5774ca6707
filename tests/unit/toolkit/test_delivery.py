"""The ordered-commit tracker: out-of-order reports, failures, partitions, and a property test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.pipeline.delivery import DeliveryTracker, RetryNeeded, TrackerFull


def test_commit_waits_for_the_oldest_record_even_when_later_ones_finish_first() -> None:
    t = DeliveryTracker()
    for pos in (10, 11, 12):
        t.track("p0", pos, outputs=2)
    t.delivered("p0", 12)
    t.delivered("p0", 12)
    t.delivered("p0", 11)
    t.delivered("p0", 11)
    assert t.committable() == {}
    assert t.in_flight == 3
    t.delivered("p0", 10)
    assert t.committable() == {}  # one output of 10 still pending
    t.delivered("p0", 10)
    assert t.committable() == {"p0": 12}
    assert t.in_flight == 0
    assert t.is_confirmed("p0", 11) and not t.is_confirmed("p0", 13)


def test_partitions_are_independent() -> None:
    t = DeliveryTracker()
    t.track(("enriched", 0), 5, 1)
    t.track(("enriched", 1), 100, 1)
    t.track(("enriched", 0), 6, 1)
    t.delivered(("enriched", 1), 100)
    t.delivered(("enriched", 0), 6)
    assert t.committable() == {("enriched", 1): 100}
    t.delivered(("enriched", 0), 5)
    assert t.committable() == {("enriched", 0): 6, ("enriched", 1): 100}


def test_a_record_without_outputs_is_confirmed_at_once_and_does_not_block() -> None:
    t = DeliveryTracker()
    t.track("f", 0, 0)
    assert t.committable_for("f") == 0
    t.track("f", 1, 1)
    t.track("f", 2, 0)
    assert t.committable_for("f") == 0
    t.delivered("f", 1)
    assert t.committable_for("f") == 2


def test_a_failed_delivery_blocks_the_commit_until_retried_and_confirmed() -> None:
    t = DeliveryTracker()
    t.track("p", 1, 2)
    t.track("p", 2, 1)
    t.delivered("p", 1)
    t.failed("p", 1)
    t.delivered("p", 2)
    assert t.committable() == {}
    assert t.needs_retry() == [RetryNeeded("p", 1, failed_outputs=1, failures=1)]
    t.retried("p", 1)
    assert t.needs_retry() == []
    t.failed("p", 1)
    t.retried("p", 1)
    assert t.committable() == {}
    t.delivered("p", 1)
    assert t.committable() == {"p": 2}


def test_bounded_in_flight_is_the_backpressure_signal() -> None:
    t = DeliveryTracker(max_in_flight=2)
    t.track("p", 1, 1)
    t.track("p", 2, 1)
    assert not t.has_capacity()
    with pytest.raises(TrackerFull, match="max_in_flight=2"):
        t.track("p", 3, 1)
    t.delivered("p", 1)
    assert t.has_capacity()
    t.track("p", 3, 1)
    assert t.in_flight == 2 and t.pending_outputs == 2


def test_positions_must_increase_and_reports_must_match() -> None:
    t = DeliveryTracker()
    t.track("p", 5, 1)
    with pytest.raises(ValueError, match="must increase"):
        t.track("p", 5, 1)
    t.delivered("p", 5)
    with pytest.raises(ValueError, match="must increase"):
        t.track("p", 4, 1)
    t.track("p", 6, 1)
    t.delivered("p", 6)
    assert t.delivered("p", 6) is False  # confirmed and forgotten: a duplicate report is ignored
    t.track("p", 7, 1)
    t.delivered("p", 7)
    assert t.delivered("nope", 1) is False
    t.track("p", 8, 1)
    with pytest.raises(ValueError, match="no failed output"):
        t.retried("p", 8)
    with pytest.raises(ValueError, match="outputs must be"):
        t.track("p", 9, -1)


def test_drop_forgets_a_revoked_partition_and_ignores_late_reports() -> None:
    t = DeliveryTracker()
    t.track("a", 1, 1)
    t.track("a", 2, 1)
    t.track("b", 1, 1)
    t.failed("a", 1)
    assert t.drop("a") == 2
    assert t.in_flight == 1 and t.needs_retry() == []
    assert t.delivered("a", 2) is False
    t.track("a", 1, 1)  # reassigned later: starts afresh
    t.delivered("a", 1)
    assert t.committable_for("a") == 1


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[str, int, int]], list[tuple[str, str, int]]]:
    """Records across partitions plus an interleaving of their delivery events (with failures and retries)."""
    n_partitions = draw(st.integers(1, 3))
    records: list[tuple[str, int, int]] = []
    for p in range(n_partitions):
        position = 0
        for _ in range(draw(st.integers(0, 8))):
            position += draw(st.integers(1, 5))
            records.append((f"p{p}", position, draw(st.integers(0, 3))))
    # Each output gets a chain of events: zero or more (fail, retry) pairs, then a confirmation.
    chains: list[list[tuple[str, str, int]]] = []
    for part, pos, outputs in records:
        for _ in range(outputs):
            fails = draw(st.integers(0, 2))
            chains.append([("failed", part, pos), ("retried", part, pos)] * fails + [("delivered", part, pos)])
    events: list[tuple[str, str, int]] = []
    while any(chains):
        live = [c for c in chains if c]
        chosen = live[draw(st.integers(0, len(live) - 1))]
        events.append(chosen.pop(0))
    return records, events


@given(scenarios())
@settings(max_examples=300, deadline=None)
def test_committable_is_always_the_end_of_the_fully_confirmed_prefix(
        scenario: tuple[list[tuple[str, int, int]], list[tuple[str, str, int]]]) -> None:
    records, events = scenario
    t = DeliveryTracker(max_in_flight=10_000)
    outstanding: dict[tuple[str, int], int] = {}
    for part, pos, outputs in records:
        t.track(part, pos, outputs)
        outstanding[(part, pos)] = outputs
    previous: dict[str, int] = {}

    def expected() -> dict[str, int]:
        out: dict[str, int] = {}
        for part in {p for p, _, _ in records}:
            for p, pos, _ in sorted(r for r in records if r[0] == part):
                if outstanding[(p, pos)] != 0:
                    break
                out[part] = pos
        return out

    assert t.committable() == expected()
    for kind, part, pos in events:
        if kind == "delivered":
            t.delivered(part, pos)
            outstanding[(part, pos)] -= 1
        elif kind == "failed":
            t.failed(part, pos)
        else:
            t.retried(part, pos)
        now = t.committable()
        assert now == expected()
        for part_id, position in previous.items():
            assert now[part_id] >= position, "committable must never go backwards"
        previous = now
    assert t.in_flight == 0 and t.needs_retry() == []
    assert t.committable() == {part: max(pos for p, pos, _ in records if p == part) for part, _, _ in records}


def test_max_in_flight_of_one_is_allowed_and_zero_is_refused() -> None:
    one = DeliveryTracker(max_in_flight=1)
    one.track("p", 1, 1)
    assert not one.has_capacity()
    with pytest.raises(ValueError, match="max_in_flight must be at least 1, got 0"):
        DeliveryTracker(max_in_flight=0)


def test_reports_say_whether_they_were_counted() -> None:
    t = DeliveryTracker()
    t.track("p", 1, 3)
    assert t.failed("p", 1) is True
    assert t.retried("p", 1) is True
    assert t.delivered("p", 1) is True
    assert t.delivered("p", 2) is False and t.failed("p", 2) is False and t.retried("p", 2) is False
    assert t.delivered("q", 1) is False


def test_a_report_beyond_the_outputs_is_refused_even_while_the_record_is_held() -> None:
    t = DeliveryTracker()
    t.track("p", 1, 2)
    t.failed("p", 1)
    t.delivered("p", 1)  # pending 0, but the failed output keeps the record tracked
    with pytest.raises(ValueError, match=r"'p'@1 has no pending output left to confirm \(a delivery report was "
                                         "counted twice\\)"):
        t.delivered("p", 1)
    with pytest.raises(ValueError, match="'p'@1 has no pending output that could have failed"):
        t.failed("p", 1)


def test_failures_are_counted_across_retries() -> None:
    t = DeliveryTracker()
    t.track("p", 1, 1)
    t.failed("p", 1)
    t.retried("p", 1)
    t.failed("p", 1)
    assert t.needs_retry() == [RetryNeeded("p", 1, 1, 2)]


def test_needs_retry_lists_records_oldest_first_per_partition() -> None:
    t = DeliveryTracker()
    for position in (9, 10, 100):
        t.track("b", position, 1)
        t.track("a", position, 1)
    for partition, position in (("b", 100), ("a", 10), ("b", 9), ("a", 9), ("b", 10)):
        t.failed(partition, position)
    assert [(r.partition, r.position) for r in t.needs_retry()] == [
        ("a", 9), ("a", 10), ("b", 9), ("b", 10), ("b", 100)]


def test_questions_about_partitions_never_seen() -> None:
    t = DeliveryTracker()
    assert t.committable_for("nope") is None and not t.is_confirmed("nope", 0)
    assert t.unconfirmed("nope") == 0
    assert t.drop("nope") == 0
    t.track("p", 1, 1)
    t.track("p", 2, 1)
    assert t.unconfirmed("p") == 2
    t.delivered("p", 1)
    assert t.is_confirmed("p", 1) and not t.is_confirmed("p", 2) and t.unconfirmed("p") == 1


def test_dropping_a_partition_keeps_the_others_failed_records() -> None:
    t = DeliveryTracker()
    t.track("a", 1, 1)
    t.track("b", 1, 1)
    t.failed("a", 1)
    t.failed("b", 1)
    assert t.drop("a") == 1
    assert t.needs_retry() == [RetryNeeded("b", 1, 1, 1)]


def test_partition_ids_of_different_types_can_share_a_tracker() -> None:
    t = DeliveryTracker()
    for partition in (0, "file:/data/a.tsv"):
        t.track(partition, 5, 1)
        t.failed(partition, 5)
    listed = [r.partition for r in t.needs_retry()]  # partitions are ordered by repr, never compared
    assert sorted(listed, key=repr) == listed and set(listed) == {0, "file:/data/a.tsv"}


def test_a_dropped_partitions_failures_do_not_come_back_when_it_is_tracked_again() -> None:
    t = DeliveryTracker()
    t.track("a", 1, 1)
    t.failed("a", 1)
    t.drop("a")
    t.track("a", 1, 1)
    assert t.needs_retry() == []
