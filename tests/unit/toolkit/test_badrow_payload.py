"""The line a bad row holds as its payload can be rebuilt byte for byte, whatever bytes it had."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.contract.badrows import escape_line, unescape_line
from toolkit.pipeline.bad_rows import replay_line
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Invalid

from .pipeline_events import PRODUCT, config, line, sdj

#: bytes that make escaping hard: backslashes, the letters of an escape, tabs, and bytes that are not UTF-8
_TRICKY = st.lists(st.sampled_from([b"\\", b"x", b"f", b"e9", b"\xff", b"\xe9", b"\xc3", b"\xa9", b"\t", b"a",
                                    b"\xed\xa0\x80", "é€😀".encode()]), max_size=30).map(b"".join)
LINES = st.one_of(st.binary(max_size=200), _TRICKY)


def pipeline(**sections: object) -> Pipeline:
    return Pipeline.from_config(config(**sections), pipeline_id="t")


def bad_row(outcome: object) -> dict:
    assert isinstance(outcome, Invalid)
    return orjson.loads(next(o for o in outcome.outputs if o.stream == "bad").value)


@given(LINES)
@settings(max_examples=500, deadline=None)
def test_escaping_round_trips_every_byte_sequence(data: bytes) -> None:
    payload = escape_line(data)
    assert orjson.loads(orjson.dumps(payload)) == payload  # a JSON string as it is
    assert unescape_line(payload) == data


@given(LINES, LINES)
@settings(max_examples=500, deadline=None)
def test_distinct_lines_give_distinct_payloads(a: bytes, b: bytes) -> None:
    if a != b:
        assert escape_line(a) != escape_line(b)


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\\")))
def test_utf8_without_backslashes_stays_as_it_is(text: str) -> None:
    assert escape_line(text.encode()) == text


def test_backslashes_are_doubled_only_where_they_would_read_as_an_escape() -> None:
    assert escape_line(b'{"a":"say \\"hi\\"","b":"\\u00e9"}') == '{"a":"say \\"hi\\"","b":"\\u00e9"}'
    assert escape_line(b"abc\xffdef") == "abc\\xffdef"
    assert escape_line(b"abc\\xffdef") == "abc\\\\xffdef"
    assert escape_line(b"C:\\\\dir") == "C:\\\\\\dir"
    assert escape_line(b"end\\") == "end\\"
    assert unescape_line("a\\b\\") == b"a\\b\\"  # a lone backslash is itself


@given(LINES)
@settings(max_examples=300, deadline=None)
def test_a_parse_failure_replays_as_the_exact_line(data: bytes) -> None:
    p = pipeline()
    raw = data.replace(b"\n", b"")
    row = bad_row(p.process(raw, "s:1"))
    assert row["schema"].split("/")[1] == "loader_parsing_error"
    assert replay_line(row, include_all=True) == raw


def test_a_real_byte_and_the_text_of_its_escape_stay_apart() -> None:
    p = pipeline()
    real, text = b"abc\xffdef", b"abc\\xffdef"
    real_row, text_row = bad_row(p.process(real, "s:1")), bad_row(p.process(text, "s:2"))
    assert real_row["data"]["payload"] != text_row["data"]["payload"]
    assert replay_line(real_row, include_all=True) == real
    assert replay_line(text_row, include_all=True) == text


def test_an_event_with_an_undecodable_field_replays_as_the_exact_line() -> None:
    p = pipeline()
    raw = line(page_title="PLACEHOLDER", user_id="a\\xe9b").encode().replace(b"PLACEHOLDER", b"caf\xe9 \\ \\\\")
    row = bad_row(p.process(raw, "s:1"))
    assert row["data"]["failure"]["type"] == "RowDecodingError"
    assert replay_line(row, include_all=True) == raw
    again = p.replay(orjson.dumps(row), "r:1", include_all=True)
    assert isinstance(again, Invalid) and bad_row(again)["data"]["payload"] == row["data"]["payload"]


def test_replay_keeps_the_trailing_empty_fields_of_the_line() -> None:
    """An enriched line ends in empty tab-separated fields: a replay that stripped the line would lose them."""
    go = pipeline(output={"enriched_profile": "go-sdk"})
    text = line(dvce_created_tstamp="-0001-01-01 00:00:00", app_id="  padded  ")
    assert text.endswith("\t\t")
    generic = bad_row(go.process(text.encode(), "s:1"))
    assert generic["schema"].split("/")[1] == "generic_error"
    assert replay_line(generic, include_all=True) == text.encode()
    again = go.replay(orjson.dumps(generic), "r:1", include_all=True)
    assert isinstance(again, Invalid) and again.bad_type == "generic_error"  # not a line with fields missing

    p = pipeline()
    broken = line(txn_id="x", app_id="  padded  ")
    parsing = bad_row(p.process(broken.encode(), "s:2"))
    assert parsing["data"]["failure"]["type"] == "RowDecodingError"
    assert replay_line(parsing, include_all=True) == broken.encode()
    again = p.replay(orjson.dumps(parsing), "r:2", include_all=True)
    assert bad_row(again)["data"]["failure"]["type"] == "RowDecodingError"  # still 131 fields

    invalid = line(contexts=[sdj(PRODUCT, {"sku": "A", "price": -1})], app_id="  padded  ")
    violation = bad_row(p.process(invalid.encode(), "s:3"))
    assert violation["schema"].split("/")[1] == "schema_violations"
    assert replay_line(violation, include_all=True) == invalid.encode()
