"""Parsing enriched TSV: every valid fixture round-trips, every malformed line fails with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.toolkit.event_lines import CONTEXTS_WRAPPER, UNSTRUCT_WRAPPER, line, sdj
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import BY_NAME, FIELD_COUNT
from toolkit.contract.tsv import ParseFailure, parse_line, to_tsv

# Lines the SDK fixtures hold that this toolkit's contract rejects on purpose (docs/event-contract.md).
REJECTED_FIXTURES = {
    "dotnet-1": "contexts is not valid JSON",  # single-quoted .NET "JSON"
    "dotnet-3": "contexts is not valid JSON",
    "scala-4": "app_id is 256 characters long, longer than the 255 allowed",
}


def _fixtures(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tsv"))


def failure(text: str | bytes) -> ParseFailure:
    result = parse_line(text)
    assert isinstance(result, ParseFailure), f"expected a failure, got {result!r}"
    return result


def test_every_fixture_parses_and_serialises_back_byte_for_byte(enriched_fixtures: Path) -> None:
    for path in _fixtures(enriched_fixtures):
        raw = path.read_bytes()
        result = parse_line(raw)
        if path.stem in REJECTED_FIXTURES:
            assert isinstance(result, ParseFailure)
            assert REJECTED_FIXTURES[path.stem] in result.reason, (path.name, result.reason)
            continue
        assert isinstance(result, EnrichedEvent), (path.name, getattr(result, "reason", None))
        assert to_tsv(result) + "\n" == raw.decode("utf-8"), path.name
        assert parse_line(raw.decode("utf-8")) == result


def test_every_negative_fixture_fails_with_the_upstream_expectation(enriched_fixtures: Path) -> None:
    expected = {
        "python-invalid-1": ("FieldNumberMismatch", 2, set()),
        "python-invalid-2": ("RowDecodingError", 131, {"tr_tax_base"}),
        "python-invalid-3": ("RowDecodingError", 131, {"contexts", "dvce_ismobile"}),
        "dotnet-invalid-1": ("RowDecodingError", 131, {"dvce_ismobile", "tr_tax_base"}),
        "rdbloader-invalid-1": ("FieldNumberMismatch", 130, set()),
        "scala-invalid-1": ("RowDecodingError", 131, {"etl_tstamp", "collector_tstamp", "event_id", "txn_id",
                                                      "v_collector", "geo_latitude", "br_features_pdf"}),
        "scala-invalid-2": ("NotTSV", 1, set()),
        "scala-invalid-3": ("FieldNumberMismatch", 132, set()),
        "scala-invalid-4": ("FieldNumberMismatch", 4, set()),
    }
    required = {"collector_tstamp", "event_id", "v_collector", "v_etl"}
    for path in _fixtures(enriched_fixtures / "invalid"):
        kind, count, fields = expected[path.stem]
        result = failure(path.read_bytes())
        assert (result.kind, result.field_count) == (kind, count), path.name
        reported = {e.field for e in result.errors}
        if path.stem == "scala-invalid-1":  # exactly the 7 errors Scala's SDK reports, every one of them
            assert reported == fields
        else:  # the bare '\t'*N lines also lack the required fields, which the SDKs do not check
            assert reported == fields | (required if kind == "RowDecodingError" else set())


def test_scala_invalid_1_reasons_say_what_is_wrong_with_each_value(enriched_fixtures: Path) -> None:
    result = failure((enriched_fixtures / "invalid" / "scala-invalid-1.tsv").read_bytes())
    messages = {e.field: e.message for e in result.errors}
    assert messages["txn_id"] == ("txn_id 'not_an_integer' is not an integer "
                                  "(expected an optional sign and the digits 0-9)")
    assert "is not a UUID" in messages["event_id"]
    assert "is not a valid timestamp" in messages["etl_tstamp"]
    assert messages["collector_tstamp"] == "collector_tstamp is required and cannot be empty"
    assert "is not a boolean (expected 1 or 0)" in messages["br_features_pdf"]
    assert {e.value for e in result.errors if e.field == "geo_latitude"} == {"not_a_double"}


# --- the malformed catalogue: one line per kind of breakage, each with its reason -----------------------------

BIG = "x" * 1_000_000


@pytest.mark.parametrize(("line_text", "field", "reason"), [
    (line(page_url=BIG), "page_url", "page_url is 1000000 characters long, longer than the 4096 allowed"),
    (line(user_id="bad\x00id"), "user_id", "user_id contains a NUL character (U+0000) at position 3"),
    (line(contexts='{"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": ['),
     "contexts", "contexts is not valid JSON"),
    (line(contexts="{'schema': 'iglu:x/y/jsonschema/1-0-0', 'data': []}"), "contexts",
     "single quotes are not JSON"),
    (line(contexts='["not", "self-describing"]'), "contexts", "contexts must be a self-describing JSON object"),
    (line(contexts='{"data": []}'), "contexts", "contexts is not self-describing JSON: it has no 'schema' key"),
    (line(contexts=sdj("iglu:com.acme/x/jsonschema/01-0-0", [])), "contexts",
     "contexts.schema: invalid schema URI 'iglu:com.acme/x/jsonschema/01-0-0'"),
    (line(contexts=sdj(CONTEXTS_WRAPPER, [sdj("com.acme/x/jsonschema/1-0-0", {})])), "contexts",
     "contexts.data[0].schema: invalid schema URI 'com.acme/x/jsonschema/1-0-0': it must start with 'iglu:'"),
    (line(contexts=sdj(CONTEXTS_WRAPPER, [{"schema": "iglu:com.acme/x/jsonschema/1-0-0"}])), "contexts",
     "contexts.data[0] must be an object with 'schema' and 'data' keys, got an object without 'data'"),
    (line(contexts=sdj(CONTEXTS_WRAPPER, [sdj(42, {})])), "contexts",
     "contexts.data[0].schema must be an Iglu URI string"),
    (line(contexts=sdj(CONTEXTS_WRAPPER, {"not": "a list"})), "contexts",
     "contexts.data must be an array of self-describing entities, got an object"),
    (line(unstruct_event=sdj(UNSTRUCT_WRAPPER, [])), "unstruct_event",
     "unstruct_event.data must be the event as an object with 'schema' and 'data' keys, got an array"),
    (line(unstruct_event=sdj(UNSTRUCT_WRAPPER, sdj("iglu:com.acme/click/jsonschema/1-0", {}))), "unstruct_event",
     "unstruct_event.data.schema: invalid schema URI"),
    (line(derived_contexts='{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",'
                           '"data":[{"schema":"iglu:a/b/jsonschema/1-0-0","data":NaN}]}'),
     "derived_contexts", "derived_contexts is not valid JSON"),
    (line(event_id="not-a-uuid"), "event_id", "event_id 'not-a-uuid' is not a UUID"),
    (line(collector_tstamp=None), "collector_tstamp", "collector_tstamp is required and cannot be empty"),
    (line(collector_tstamp="2026-11-01T12:00:00Z"), "collector_tstamp", "looks like ISO-8601 with 'T'/'Z'"),
    (line(collector_tstamp="2026-13-01 12:00:00"), "collector_tstamp", "the month 13 is out of range 1-12"),
    (line(collector_tstamp="2026-02-29 12:00:00"), "collector_tstamp", "2026-02 has no day 29"),
    (line(collector_tstamp="2026-11-01 12:00:00.1234567890"), "collector_tstamp",
     "the fraction of a second must have 1 to 9 digits, not 10"),
    (line(txn_id="2147483648"), "txn_id", "is out of range for a 32-bit integer"),
    (line(txn_id="1_000"), "txn_id", "is not an integer"),
    (line(txn_id="٣"), "txn_id", "is not an integer"),
    (line(tr_total="NaN"), "tr_total", "is not a decimal number"),
    (line(tr_total="1e999"), "tr_total", "is too large for a double"),
    (line(tr_total=" 12.5"), "tr_total", "is not a decimal number"),
    (line(br_cookies="true"), "br_cookies", "br_cookies 'true' is not a boolean (expected 1 or 0)"),
    (line(geo_country="USA"), "geo_country", "geo_country is 3 characters long, longer than the 2 allowed"),
])
def test_each_malformed_field_fails_with_a_clear_reason(line_text: str, field: str, reason: str) -> None:
    result = failure(line_text)
    assert result.kind == "RowDecodingError"
    assert [e.field for e in result.errors] == [field], result.reason
    assert reason in result.errors[0].message, result.errors[0].message
    assert result.line == line_text


def test_a_line_with_several_problems_reports_every_one_in_field_order() -> None:
    result = failure(line(app_id="x" * 300, txn_id="one", tr_total="NaN", br_cookies="yes", event_id="nope",
                          contexts="{", derived_contexts=sdj(CONTEXTS_WRAPPER, [1, sdj("iglu:bad", {})])))
    assert [e.field for e in result.errors] == ["app_id", "event_id", "txn_id", "contexts", "tr_total",
                                                "br_cookies", "derived_contexts", "derived_contexts"]
    assert "derived_contexts.data[0] must be an object with 'schema' and 'data' keys, got a number" in result.reason
    assert "derived_contexts.data[1].schema: invalid schema URI 'iglu:bad'" in result.reason


def test_a_1mb_value_is_cut_in_the_error_but_the_payload_keeps_the_whole_line() -> None:
    text = line(page_url=BIG)
    result = failure(text)
    assert len(result.errors[0].value) < 1200
    assert result.errors[0].value.endswith("(1000000 characters in total; the payload holds the whole line)")
    assert result.bad_row().payload == text


def test_a_1mb_json_field_is_valid_size_limits_are_the_pipelines_size_violation() -> None:
    big_context = sdj(CONTEXTS_WRAPPER, [sdj("iglu:com.acme/blob/jsonschema/1-0-0", {"blob": BIG})])
    event = parse_line(line(contexts=big_context))
    assert isinstance(event, EnrichedEvent)
    assert event.contexts.datas[0]["blob"] == BIG


@pytest.mark.parametrize(("text", "kind", "count"), [
    ("", "NotTSV", 1),
    ("not an enriched event", "NotTSV", 1),
    ("a\tb", "FieldNumberMismatch", 2),
    (line() + "\textra", "FieldNumberMismatch", FIELD_COUNT + 1),
    ("\t" * 5000, "FieldNumberMismatch", 5001),
])
def test_wrong_shapes_are_named_as_snowplow_names_them(text: str, kind: str, count: int) -> None:
    result = failure(text)
    assert (result.kind, result.field_count, result.errors) == (kind, count, ())
    assert str(FIELD_COUNT) in result.reason


def test_more_fields_than_the_bad_row_schema_can_count_still_give_a_valid_failure() -> None:
    result = failure("\t" * 5000)
    assert result.failure() == {"type": "RowDecodingError", "errors": [
        {"type": "UnhandledRowDecodingError", "message": result.reason}]}
    assert failure("a\tb").failure() == {"type": "FieldNumberMismatch", "fieldCount": 2}
    assert failure("no tabs").failure() == {"type": "NotTSV"}


def test_invalid_utf8_is_reported_per_field_and_shown_as_escapes_in_the_payload() -> None:
    raw = line(user_id="PLACEHOLDER", page_title="ok").encode().replace(b"PLACEHOLDER", b"caf\xe9")
    result = failure(raw + b"\n")
    assert [e.field for e in result.errors] == ["user_id"]
    assert result.errors[0].message == ("user_id is not valid UTF-8: byte 0xe9 at byte offset 3 of the field "
                                        "(unexpected end of data)")
    assert result.line.encode("utf-8", "surrogateescape") == raw  # the bytes kept, the newline dropped
    assert "caf\\xe9" in result.bad_row().payload


def test_invalid_utf8_and_other_problems_are_all_reported() -> None:
    raw = line(user_id="PLACEHOLDER", txn_id="x").encode().replace(b"PLACEHOLDER", b"\xff")
    assert [e.field for e in failure(raw).errors] == ["txn_id", "user_id"]


def test_lone_surrogates_in_a_str_are_not_unicode() -> None:
    result = failure(line(user_id="a\udcff"))
    assert result.errors[0].message == "user_id contains the lone surrogate U+DCFF, which is not valid Unicode"


def test_one_trailing_newline_or_crlf_is_the_terminator_not_data() -> None:
    text = line()
    for ending in ("\n", "\r\n"):
        event = parse_line(text + ending)
        assert isinstance(event, EnrichedEvent) and event.line == text
    assert [e.field for e in failure(text + "\n\n").errors] == ["true_tstamp"]  # only one newline is a terminator


def test_leap_days_and_the_years_snowplow_lets_through() -> None:
    for value in ("2024-02-29 00:00:00", "2000-02-29 23:59:59.999999999", "0000-01-01 00:00:00",
                  "-2006-10-15 09:06:35.493256951"):
        assert isinstance(parse_line(line(etl_tstamp=value)), EnrichedEvent), value
    for value in ("2100-02-29 00:00:00", "2026-04-31 00:00:00", "2026-11-01 24:00:00", "26-11-01 00:00:00"):
        assert failure(line(etl_tstamp=value)).errors[0].field == "etl_tstamp", value


def test_numbers_at_the_edges_of_their_types() -> None:
    ok = parse_line(line(txn_id="-2147483648", domain_sessionidx="+0007", tr_total="1.7976931348623157e308",
                         tr_tax=".5", tr_shipping="5.", geo_latitude="-0"))
    assert isinstance(ok, EnrichedEvent)
    assert (ok.txn_id, ok.domain_sessionidx, ok.tr_tax, ok.tr_shipping) == (-(2**31), 7, 0.5, 5.0)
    assert failure(line(domain_sessionidx="99999999999")).errors[0].field == "domain_sessionidx"


def test_the_fast_route_and_the_field_by_field_route_agree_on_a_large_sample() -> None:
    from toolkit.contract.samples import SampleSpec, SampleStats, generate
    from toolkit.contract.tsv import _parse_slowly, parse_line_python  # the Python parser's own two routes

    stats = SampleStats()
    results = [(text, parse_line_python(text)) for text in generate(SampleSpec(events=400, seed=7), stats)]
    bad = [r for _, r in results if isinstance(r, ParseFailure)]
    assert len(bad) == sum(stats.parse_failures.values()) > 0
    for text, result in results:
        slow = _parse_slowly(text, text.split("\t")) if text.count("\t") == FIELD_COUNT - 1 else result
        assert type(slow) is type(result)
        if isinstance(result, ParseFailure):
            assert slow.errors == result.errors


def test_the_position_of_every_field_matches_the_python_sdk_table() -> None:
    from snowplow_analytics_sdk.event_transformer import ENRICHED_EVENT_FIELD_TYPES

    assert [BY_NAME[name].position for name, _ in ENRICHED_EVENT_FIELD_TYPES] == list(range(FIELD_COUNT))


EDGE_VALUES = {
    "txn_id": ["0", "-0", "+0", "007", "2147483647", "-2147483648", "2147483648", "-2147483649", "0000000000042",
               "99999999999", "1.0", "", "+", "-"],
    "tr_total": ["0", "-0.0", ".5", "5.", "1e5", "1E-5", "1e99", "1e308", "1e309", "1e-400", "9" * 250, "1.2.3",
                 "e5", "+.5e+5", "0x10", "inf"],
    "etl_tstamp": ["2024-02-29 00:00:00", "2023-02-29 00:00:00", "2024-02-30 00:00:00", "2026-04-30 23:59:59",
                   "2026-04-31 00:00:00", "2026-12-31 23:59:59.999999999", "0000-02-29 00:00:00",
                   "1900-02-29 00:00:00", "2000-02-29 00:00:00", "2026-06-15 12:00:60", "2026-06-15 12:00:00."],
    "event_id": ["C6EF3124-B53A-4B13-A233-0088F79DCBCB", "c6ef3124b53a4b13a2330088f79dcbcb", "{c6ef3124-b53a-4b13-"
                 "a233-0088f79dcbcb}"],
    "br_cookies": ["0", "1", "2", "01", "true"],
}


def test_the_shape_patterns_never_decide_differently_from_the_converters() -> None:
    """The fast route's patterns are narrower than the contract; the converters have the last word."""
    from toolkit.contract.field_values import CONVERTERS

    for name, values in EDGE_VALUES.items():
        for value in values:
            result = parse_line(line(**{name: value}))
            try:
                CONVERTERS[BY_NAME[name].kind](value) if value else None
                valid = bool(value) or not BY_NAME[name].required
            except ValueError:
                valid = False
            assert isinstance(result, EnrichedEvent) is valid, (name, value, getattr(result, "reason", None))


def test_shapes_with_the_same_typed_kinds_share_one_pattern_compiled_only_once_it_recurs() -> None:
    from toolkit.contract import layout, tsv

    layout.LAYOUTS.clear()  # a layout cached by an earlier test would carry its pattern already
    tsv._PATTERNS.clear()
    tsv._ASKED.clear()
    lines = [line(user_id=f"user-{i}", txn_id="5", br_lang="en" if i % 2 else None) for i in range(6)]
    layouts = set()
    for number, text in enumerate(lines, 1):
        event = tsv.parse_line_python(text)  # the Python parser's patterns (the native fast path has none)
        assert isinstance(event, EnrichedEvent)
        layouts.add(id(event.layout))
        assert (len(tsv._PATTERNS) == 1) is (number >= tsv.COMPILE_AFTER), number
    assert len(layouts) == 2  # two shapes (br_lang set or not), one sequence of typed kinds, one pattern
    assert isinstance(parse_line(line(txn_id="x")), ParseFailure)  # the shared pattern still rejects


@pytest.mark.parametrize("field", ["contexts", "derived_contexts", "unstruct_event"])
def test_json_nested_deeper_than_any_writer_allows_is_a_parse_failure_not_a_crash(field: str) -> None:
    from toolkit.contract.tsv import parse_line_python

    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    entity = sdj("iglu:com.acme/deep/jsonschema/1-0-0", {"v": deep})
    wrapped = sdj(UNSTRUCT_WRAPPER, entity) if field == "unstruct_event" else sdj(CONTEXTS_WRAPPER, [entity])
    text = line(**{field: wrapped})
    for parse in (parse_line, parse_line_python):
        result = parse(text)
        assert isinstance(result, ParseFailure)
        assert f"{field} nests JSON more than 254 levels deep" in result.reason
