"""Each conversion rule of the parameter table, as enrich spells the result (pure)."""

from __future__ import annotations

import base64

import orjson
import pytest

from connectors.collector import params
from connectors.collector.params import Invalid


@pytest.mark.parametrize(("given", "expected"), [("028288", "28288"), ("-5", "-5"), ("2147483647", "2147483647")])
def test_integer_is_written_plainly(given: str, expected: str) -> None:
    assert params.integer(given) == expected


@pytest.mark.parametrize("given", ["1.5", "abc", "2147483648", "", "0x10"])
def test_integer_refuses_what_is_not_a_32_bit_integer(given: str) -> None:
    with pytest.raises(Invalid):
        params.integer(given)


@pytest.mark.parametrize(("given", "expected"), [("8000", "8000"), ("35708.23", "35708.23"), ("1e3", "1000"),
                                                 ("-0.50", "-0.50"), ("1.5E-2", "0.015")])
def test_decimal_keeps_the_value_without_an_exponent(given: str, expected: str) -> None:
    assert params.double_like(given) == expected


@pytest.mark.parametrize("given", ["NaN", "Infinity", "12,5", "", "ten"])
def test_decimal_refuses_what_is_not_a_finite_number(given: str) -> None:
    with pytest.raises(Invalid):
        params.double_like(given)


def test_millis_become_an_enriched_timestamp_in_utc() -> None:
    assert params.millis("1410278340704") == "2014-09-09 15:59:00.704"
    assert params.millis("0") == "1970-01-01 00:00:00.000"
    for bad in ("-1", "1.5", "253402300800000", "soon"):
        with pytest.raises(Invalid):
            params.millis(bad)


def test_dimensions_split_width_and_height() -> None:
    assert params.dimensions("1920x1080") == ("1920", "1080")
    for bad in ("1920", "1920X1080", "x1080", "-1x2", "99999999999x1"):
        with pytest.raises(Invalid):
            params.dimensions(bad)


def test_boolean_uuid_event_and_platform() -> None:
    assert params.boolean("1") == "1" and params.boolean("0") == "0"
    assert params.a_uuid("B603A8EE-3D0C-407E-8822-045B6E639493") == "b603a8ee-3d0c-407e-8822-045b6e639493"
    assert [params.event_type(c) for c in ("pv", "pp", "se", "ue", "tr", "ti")] == [
        "page_view", "page_ping", "struct", "unstruct", "transaction", "transaction_item"]
    assert params.platform("srv") == "srv"
    for convert, bad in ((params.boolean, "true"), (params.a_uuid, "not-a-uuid"), (params.event_type, "xx"),
                         (params.platform, "desktop")):
        with pytest.raises(Invalid):
            convert(bad)


def test_text_keeps_printable_text_and_drops_what_breaks_a_tsv_line() -> None:
    assert params.text("Café ☕ 🍰") == "Café ☕ 🍰"
    assert params.text("a\tb\nc\rd\x00e") == "a    bcde"


@pytest.mark.parametrize("encode", [base64.urlsafe_b64encode, base64.b64encode,
                                    lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")])
def test_base64_json_takes_both_alphabets_with_or_without_padding(encode) -> None:  # type: ignore[no-untyped-def]
    doc = {"schema": "iglu:a/b/jsonschema/1-0-0", "data": {"text": "ü?>>>"}}  # '?>>>' gives + and / in base64
    assert params.base64_json(encode(orjson.dumps(doc)).decode()) == doc


def test_base64_json_and_json_text_say_what_is_wrong() -> None:
    with pytest.raises(Invalid, match="base64"):
        params.base64_json("!!!")
    with pytest.raises(Invalid, match="not to JSON"):
        params.base64_json(base64.b64encode(b"not json").decode())
    with pytest.raises(Invalid, match="JSON text"):
        params.json_text("{")
