"""How a bounded replay turns --from/--to times and offsets into one [start, end) per partition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from toolkit.kafka.ranges import RangeBounds, RangeError, parse_offsets, resolve

KEY = "t/0"


def test_no_bounds_is_the_whole_partition_as_it_is_at_start() -> None:
    assert resolve(KEY, 10, 50, RangeBounds(), None, None) == (10, 50)


def test_times_resolve_to_the_first_offset_at_or_after_them_and_a_time_past_the_end_reads_nothing_more() -> None:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    bounds = RangeBounds(from_time=moment, to_time=moment)
    assert resolve(KEY, 0, 100, bounds, 20, 70) == (20, 70)
    assert resolve(KEY, 0, 100, bounds, -1, -1) == (100, 100)  # both after the last record: empty
    assert resolve(KEY, 0, 100, bounds, 20, -1) == (20, 100)  # the end time is after the last record


def test_offsets_win_over_times_and_the_to_offset_is_inclusive() -> None:
    bounds = RangeBounds(from_time=datetime(2024, 5, 1, tzinfo=UTC), from_offsets={KEY: 5}, to_offsets={KEY: 9})
    assert resolve(KEY, 0, 100, bounds, 50, None) == (5, 10)
    assert resolve("t/1", 0, 100, bounds, 50, None) == (50, 100)  # another partition keeps the time bound


def test_the_range_never_leaves_what_the_partition_holds_at_start() -> None:
    bounds = RangeBounds(from_offsets={KEY: 2}, to_offsets={KEY: 500})
    assert resolve(KEY, 10, 50, bounds, None, None) == (10, 50)  # below the low watermark, beyond the high one
    assert resolve(KEY, 0, 50, RangeBounds(from_offsets={KEY: 40}, to_offsets={KEY: 20}), None, None) == (40, 40)


def test_offsets_name_a_partition_alone_with_one_topic_and_the_topic_with_several() -> None:
    assert parse_offsets("--from-offset", ["0:15", "2:7"], ["raw"]) == {"raw/0": 15, "raw/2": 7}
    assert parse_offsets("--to-offset", ["a.raw/1:9"], ["a.raw", "b"]) == {"a.raw/1": 9}
    with pytest.raises(RangeError, match="name the topic"):
        parse_offsets("--from-offset", ["0:15"], ["a", "b"])
    with pytest.raises(RangeError, match="not a topic of the source"):
        parse_offsets("--from-offset", ["c/0:15"], ["a", "b"])
    for bad in ("15", "0:x", "-1:3", "0:-3", "0:"):
        with pytest.raises(RangeError, match="expected PARTITION:OFFSET"):
            parse_offsets("--from-offset", [bad], ["raw"])
