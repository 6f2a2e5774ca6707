"""Canonical rows -> warehouse rows, the DDL from the field table, URLs and bad-row records (pure)."""

from __future__ import annotations

import pytest

from connectors.warehouse import (
    BadWarehouseURL,
    Dialect,
    NotABadRow,
    Provenance,
    RowRejected,
    entity_column,
    entity_key,
    events_ddl,
    normalise_tstamp,
    parse_bad_row,
    parse_warehouse_url,
    to_warehouse_row,
)
from connectors.warehouse.columns import ATOMIC_COLUMNS, MAX_IDENTIFIER
from toolkit.contract.fields import FIELDS, FieldKind

HERE = Provenance.file_line("events.jsonl", 7)
EID = "c6ef3124-b53a-4b13-a233-0088f79dcbcb"


@pytest.mark.parametrize(("text", "expected"), [
    ("2021-10-13T20:22:10.423Z", "2021-10-13 20:22:10.423000"),
    ("2021-10-13T20:22:10Z", "2021-10-13 20:22:10.000000"),
    ("2021-10-13T20:22:10.423072674Z", "2021-10-13 20:22:10.423072"),  # ns truncated, not rounded
    ("2021-10-13 20:22:10.5", "2021-10-13 20:22:10.500000"),
])
def test_timestamps_with_0_to_9_fraction_digits_become_microseconds(text: str, expected: str) -> None:
    assert normalise_tstamp(text) == expected


@pytest.mark.parametrize("text", ["-2006-10-15 09:06:35.493", "0000-01-01 00:00:00", "2021-13-01T00:00:00Z",
                                  "yesterday", "2021-10-13T20:22:10+02:00", "2021-02-30T10:00:00Z",
                                  "2021-10-13T24:00:00Z", "2021-10-13T23:60:00Z", "2021-10-13T20:22:10Z\n",
                                  "٢٠٢١-10-13T20:22:10Z"])
def test_timestamps_that_are_not_utc_instants_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp|valid date"):
        normalise_tstamp(text)


def test_the_ddl_has_every_atomic_field_typed_from_the_field_table() -> None:
    non_sdj = [f for f in FIELDS if not f.kind.is_self_describing]
    assert [c.name for c in ATOMIC_COLUMNS] == [f.name for f in non_sdj]
    assert len(ATOMIC_COLUMNS) == 128
    ddl = "\n".join(events_ddl("atomic", Dialect.POSTGRES))
    assert '"tr_total" DOUBLE PRECISION' in ddl and '"br_cookies" BOOLEAN' in ddl
    assert '"event_id" VARCHAR(36) NOT NULL' in ddl and '"collector_tstamp" TIMESTAMP NOT NULL' in ddl
    assert '"contexts"' not in ddl and '"load_offset" BIGINT' in ddl and '"synthetic_duplicate" BOOLEAN' in ddl
    duck = "\n".join(events_ddl("legacy", Dialect.DUCKDB, ("contexts_com_acme_x_1",)))
    assert 'CREATE TABLE IF NOT EXISTS "legacy"."events"' in duck and '"contexts_com_acme_x_1" JSON' in duck
    assert '"domain_sessionidx" BIGINT' in duck and '"page_title" VARCHAR' in duck
    assert {c.kind for c in ATOMIC_COLUMNS} == {FieldKind.STRING, FieldKind.UUID, FieldKind.INT, FieldKind.DOUBLE,
                                                FieldKind.BOOL, FieldKind.TSTAMP}


def test_entity_columns_are_named_like_the_wide_row_loaders() -> None:
    assert entity_key("contexts", "org.schema", "WebPage", 1) == "contexts_org_schema_web_page_1"
    assert entity_key("unstruct_event", "com.snowplowanalytics.snowplow", "link_click", 1) == \
        "unstruct_event_com_snowplowanalytics_snowplow_link_click_1"
    long_key = "contexts_com_snowplowanalytics_snowplow_enrichments_some_very_long_entity_name_1"
    short = entity_column(long_key)
    assert len(short) == MAX_IDENTIFIER and short != entity_column(long_key + "0") and short == entity_column(long_key)


def test_a_canonical_row_is_typed_and_fingerprinted() -> None:
    row = to_warehouse_row({"event_id": EID, "collector_tstamp": "2021-10-13T20:22:10.423Z", "txn_id": 5,
                            "tr_total": 3, "br_cookies": False, "app_id": "shop", "se_value": None,
                            "contexts_com_acme_ctx_1": [{"a": 1}], "unstruct_event_com_acme_ev_1": {"b": 2}}, HERE)
    assert row.values == {"event_id": EID, "collector_tstamp": "2021-10-13 20:22:10.423000", "txn_id": 5,
                          "tr_total": 3.0, "br_cookies": False, "app_id": "shop"}
    assert row.entities == {"contexts_com_acme_ctx_1": [{"a": 1}], "unstruct_event_com_acme_ev_1": {"b": 2}}
    assert row.row_fingerprint.startswith("sha1:")  # no event_fingerprint: content hash
    with_fp = to_warehouse_row({"event_id": EID, "collector_tstamp": "2021-10-13T20:22:10Z",
                                "event_fingerprint": "abc"}, HERE)
    assert with_fp.row_fingerprint == "abc"


def test_a_bad_row_is_refused_with_every_reason_and_its_place() -> None:
    with pytest.raises(RowRejected) as caught:
        to_warehouse_row({"event_id": EID, "txn_id": "7", "br_cookies": 1, "geo_place": "1,2",
                          "contexts_com_acme_ctx_1": {"not": "a list"}}, HERE)
    problem = caught.value.problem
    text = str(problem)
    assert text.startswith("events.jsonl:7 (event_id " + EID)
    assert "txn_id must be an integer" in text and "br_cookies must be true or false" in text
    assert "unknown key 'geo_place'" in text and "contexts_com_acme_ctx_1 must be a list" in text
    assert "collector_tstamp is required and missing" in text
    with pytest.raises(RowRejected, match="longer than a UUID"):
        to_warehouse_row({"event_id": "x" * 40, "collector_tstamp": "2021-10-13T20:22:10Z"}, HERE)


def test_warehouse_urls() -> None:
    duck = parse_warehouse_url("duckdb:/tmp/wh.duckdb?schema=legacy")
    assert (duck.dialect, duck.target, duck.schema) == (Dialect.DUCKDB, "/tmp/wh.duckdb", "legacy")
    assert parse_warehouse_url("wh.duckdb").schema == "atomic"
    pg = parse_warehouse_url("postgresql://u:secret@127.0.0.1:5432/db?schema=kafka&sslmode=disable")
    assert (pg.dialect, pg.schema) == (Dialect.POSTGRES, "kafka")
    assert pg.target == "postgresql://u:secret@127.0.0.1:5432/db?sslmode=disable"
    assert "secret" not in str(pg)
    for bad in ("mysql://x", "duckdb:", "duckdb:x.duckdb?schema=drop table", "duckdb:x.duckdb?mode=ro"):
        with pytest.raises(BadWarehouseURL):
            parse_warehouse_url(bad)


def test_a_postgres_warehouse_url_keeps_its_query_exactly_without_schema() -> None:
    query = "options=-c%20search_path%3Dfoo&sslmode=disable"
    pg = parse_warehouse_url(f"postgresql://u@h:5432/db?{query}&schema=kafka")
    assert (pg.target, pg.schema) == (f"postgresql://u@h:5432/db?{query}", "kafka")


def test_bad_rows_give_their_type_and_event_id_wherever_the_payload_keeps_it() -> None:
    enriched = {"schema": "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-0",
                "data": {"failure": {"messages": []}, "payload": {"enriched": {"event_id": EID}, "raw": {}}}}
    record = parse_bad_row(enriched, HERE)
    assert (record.event_id, record.bad_row_type) == (EID, "schema_violations")
    tsv = "\t".join(["", "web", "", "", "", "unstruct", EID] + [""] * 10)
    parsing = {"schema": "iglu:com.snowplowanalytics.snowplow.badrows/loader_parsing_error/jsonschema/2-0-0",
               "data": {"failure": {"type": "FieldNumberMismatch"}, "payload": tsv}}
    assert parse_bad_row(parsing, HERE).event_id == EID
    raw = {"schema": "iglu:com.snowplowanalytics.snowplow.badrows/adapter_failures/jsonschema/1-0-0",
           "data": {"payload": {"raw": {"parameters": [{"name": "eid", "value": EID}]}}}}
    assert parse_bad_row(raw, HERE).event_id == EID
    opaque = {"schema": "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0",
              "data": {"payload": "Q3dDa0FB"}}
    assert parse_bad_row(opaque, HERE).event_id is None  # kept, with no id, never dropped
    with pytest.raises(NotABadRow, match="not a Snowplow bad-row schema"):
        parse_bad_row({"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": {}}, HERE)
    with pytest.raises(NotABadRow, match="not JSON"):
        parse_bad_row("{broken", HERE)


def test_the_shared_snowplow_bad_rows_all_parse(shared_dir) -> None:  # type: ignore[no-untyped-def]
    files = sorted((shared_dir / "fixtures" / "badrows").glob("*.json"))
    records = [parse_bad_row(p.read_text(), Provenance.file_line(p.name, 1)) for p in files]
    assert len(records) == len(files) >= 10
    by_name = {p.name: r for p, r in zip(files, records, strict=True)}
    assert by_name["rdbloader-3-loader_iglu_error.json"].event_id == "2b1b25a4-c0df-4859-8201-cf21492ad61b"
    assert by_name["rdbloader-1-loader_parsing_error.json"].event_id == "94b86f90-7739-4f0d-bcc2-b054143abad5"
    assert by_name["event-recovery-07-schema_violations.json"].bad_row_type == "schema_violations"


def test_rows_of_the_canonical_profile_load_as_they_are(enriched_fixtures) -> None:  # type: ignore[no-untyped-def]
    from toolkit.contract.profiles.canonical import to_dict
    from toolkit.contract.tsv import parse_line

    for name in ("python-1", "rdbloader-1", "scala-3"):
        line = (enriched_fixtures / f"{name}.tsv").read_text()
        row = to_warehouse_row(to_dict(parse_line(line)), Provenance.file_line(f"{name}.tsv", 1))
        assert row.event_id == line.split("\t")[6]
        assert row.values["collector_tstamp"].count(".") == 1
        assert all(k.startswith(("contexts_", "unstruct_event_")) for k in row.entities)
    rdb = to_warehouse_row(to_dict(parse_line((enriched_fixtures / "rdbloader-1.tsv").read_text())), HERE)
    assert rdb.values["collector_tstamp"] == "2021-10-13 20:21:47.595072"  # ns source text, truncated to µs
