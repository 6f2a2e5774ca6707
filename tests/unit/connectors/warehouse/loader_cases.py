"""The loader's contract as one scenario, run against each backend (DuckDB in unit, PostgreSQL in integration)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.warehouse import Dedup, Provenance, Warehouse

EID = "00000000-0000-4000-8000-{:012d}"


def event(i: int, fingerprint: str | None = None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"event_id": EID.format(i), "collector_tstamp": f"2024-05-01T10:00:{i % 60:02d}.123456789Z",
                           "event_name": "page_view", "app_id": "shop", "domain_sessionidx": i,
                           "contexts_com_acme_page_1": [{"n": i}], **extra}
    if fingerprint:
        row["event_fingerprint"] = fingerprint
    return row


def rows_of(wh: Warehouse, where: str = "TRUE") -> list[tuple[Any, ...]]:
    return wh.backend.query(
        f"SELECT event_id, row_fingerprint, synthetic_duplicate, load_file, load_line, load_topic, load_offset "
        f"FROM {wh.events} WHERE {where} ORDER BY event_id, load_file, load_line, load_offset"
    )


def run_loader_cases(open_schema: Callable[[str], Warehouse]) -> None:
    # 1. A file load with a natural duplicate (lines 1 and 3) and a synthetic one (line 4), per dedup mode.
    batch = [event(1, "fp1"), event(2, "fp2"), event(1, "fp1"), event(1, "fp1-other"), {"event_id": "bad"}]
    expected_rows = {Dedup.NONE: 4, Dedup.IN_BATCH: 3, Dedup.CROSS_BATCH: 3}
    for mode, count in expected_rows.items():
        schema = "t_" + mode.name.lower()
        with open_schema(schema) as wh:
            lines = [(row, Provenance.file_line("day1.jsonl", n + 1)) for n, row in enumerate(batch)]
            first = wh.load(lines, mode)
            assert (first.read, first.inserted, first.rejected) == (5, count, 1), (mode, first.summary())
            assert "day1.jsonl:5" in str(first.problems[0]) and "collector_tstamp is required" in str(first.problems[0])
            assert first.synthetic_event_ids == 1
            again = wh.load(lines, mode)  # a re-run adds nothing, whatever the mode
            assert again.inserted == 0 and again.already_loaded == count, (mode, again.summary())
            stored = rows_of(wh)
            assert len(stored) == count
            assert {r[1] for r in stored if r[0] == EID.format(1)} == {"fp1", "fp1-other"}
            assert all(r[2] for r in stored if r[0] == EID.format(1))  # synthetic: kept and flagged
            assert not any(r[2] for r in stored if r[0] == EID.format(2))
            assert wh.backend.query(
                f"SELECT collector_tstamp, contexts_com_acme_page_1 IS NOT NULL FROM {wh.events} "
                f"WHERE event_id = '{EID.format(2)}'"
            )[0][0].isoformat() == "2024-05-01T10:00:02.123456"

    # 2. Kafka replay and cross-batch: a replay adds nothing; the same event at another offset collapses.
    with open_schema("t_kafka") as wh:
        records = [(event(i, f"fp{i}"), Provenance.kafka("enriched", 0, i)) for i in range(10)]
        assert wh.load(records[:6]).inserted == 6
        replay = wh.load(records)  # consumer restarted from offset 0
        assert (replay.inserted, replay.already_loaded) == (4, 6)
        redelivered = wh.load([(event(3, "fp3"), Provenance.kafka("enriched", 1, 99))])
        assert (redelivered.inserted, redelivered.natural_duplicates) == (0, 1)
        synthetic = wh.load([(event(4, "fp4-b"), Provenance.kafka("enriched", 1, 100))])
        assert (synthetic.inserted, synthetic.synthetic_event_ids) == (1, 1)
        assert [r[2] for r in rows_of(wh, f"event_id = '{EID.format(4)}'")] == [True, True]
        assert wh.backend.query(f"SELECT count(*) FROM {wh.events}") == [(11,)]
        # a new entity type adds a column on demand; old rows hold NULL there
        wh.load([(event(20, "fp20", unstruct_event_com_acme_click_1={"x": 1}), Provenance.kafka("enriched", 0, 20))])
        assert "unstruct_event_com_acme_click_1" in wh.entity_columns()
