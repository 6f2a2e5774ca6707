"""The native fast path (``sptk_native``) never changes a result: it declines, or it gives the Python parser's event
and exactly the bytes of ``canonical.to_json`` on it; and it never accepts a line the Python parser rejects.

Inputs: every Snowplow fixture line (``invalid/`` too), thousands of ``toolkit.contract.samples`` lines (with their
parse
and schema failures), generated lines in every spelling the contract allows, and hand-made edge cases for each
field kind, for the JSON spellings canonical JSON must keep in ``_tsv``, and for whole lines. Without the
extension the module skips, except in CI (:func:`tests.ci.in_ci`), where it fails: CI must prove parity.
"""

from __future__ import annotations

import json
import math
import os
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from tests.ci import unavailable
from tests.unit.toolkit.event_lines import (
    CONTEXTS_WRAPPER,
    DERIVED_WRAPPER,
    UNSTRUCT_WRAPPER,
    compact,
    enriched_lines,
    line,
    random_line,
    sdj,
)
from toolkit.contract import native_codec
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import BY_NAME, FIELD_COUNT, FIELDS, FieldKind
from toolkit.contract.profiles import canonical, to_json
from toolkit.contract.samples import SampleSpec, generate
from toolkit.contract.tsv import ParseFailure, parse_line, parse_line_python
from toolkit.pipeline.routing import event_schema_uri

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _native_extension() -> None:
    if not native_codec.AVAILABLE:
        unavailable(f"the native fast path's parity cannot be proven: {native_codec.STATUS}")


def outcome(text: str | bytes) -> str:
    """``"declined"`` or ``"native"``, after proving a native answer is the Python parser's, byte for byte."""
    event = native_codec.parse(text)
    if event is None:
        return "declined"
    reference = parse_line_python(text)
    assert type(reference) is EnrichedEvent, (
        f"native accepted a line the Python parser rejects: {getattr(reference, 'reason', reference)}")
    expected = orjson.dumps(canonical.to_object(reference))
    assert event.canonical_json == expected, _first_difference(event.canonical_json, expected)
    assert event.line == reference.line
    assert event.fields == reference.fields
    assert event.native.fields == reference.fields
    assert event.sdj == reference.sdj
    assert event.layout is reference.layout
    assert canonical.to_object(event) == canonical.to_object(reference)
    assert (event.event_id, event.collector_tstamp, event.domain_userid, event.network_userid,
            event.event_fingerprint, event.event_schema) == (
        reference.event_id, reference.collector_tstamp, reference.domain_userid, reference.network_userid,
        reference.event_fingerprint, reference.event_schema)
    native = event.native  # what the pipeline reads without building field strings
    assert (native.event_id, native.collector_tstamp, native.event_schema_uri) == (
        reference.fields[6], reference.fields[3], event_schema_uri(reference))
    assert event == reference and hash(event) == hash(reference)
    return "native"


def both(text: str, *, exact: bool = True) -> str:
    """The outcome for the text and for its UTF-8 bytes, which must agree.

    ``exact``: the fast path may decline only lines the Python parser rejects, so a decline is never a lost fast
    path by mistake. Tests of deliberately unsupported input (200 levels of nesting, a URI ending in a newline)
    pass ``exact=False``.
    """
    as_text = outcome(text)
    if exact and as_text == "declined":
        reference = parse_line_python(text)
        assert not isinstance(reference, EnrichedEvent), "declined a line the Python parser accepts"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no bytes carry them, and the text must be declined
        assert as_text == "declined"
        return as_text
    assert outcome(data) == as_text, "str and bytes of one line were treated differently"
    return as_text


def _first_difference(got: bytes, want: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
    return f"canonical JSON differs at byte {at}: native {got[at - 40:at + 80]!r}, Python {want[at - 40:at + 80]!r}"


def put(base: str, **values: str) -> str:
    """``base`` with some fields replaced by raw texts (no JSON encoding, unlike ``event_lines.line``)."""
    row = base.split("\t")
    for name, value in values.items():
        row[BY_NAME[name].position] = value
    return "\t".join(row)


def spelled(schema: str, data: str) -> str:
    """A self-describing JSON text around a data text spelled by hand: ``{"schema":"<schema>","data":<data>}``."""
    return '{"schema":"' + schema + '","data":' + data + "}"


# --- real and generated lines ----------------------------------------------------------------------------------


def test_every_snowplow_fixture_line_declines_or_matches(enriched_fixtures: Path) -> None:
    paths = sorted(enriched_fixtures.glob("*.tsv")) + sorted((enriched_fixtures / "invalid").glob("*.tsv"))
    assert len(paths) >= 30
    results = {p.name: both(p.read_text(encoding="utf-8")) for p in paths}
    for path in paths:
        assert outcome(path.read_bytes()) == results[path.name]
    assert all(results[p.name] == "declined" for p in paths if p.parent.name == "invalid")
    # every valid one stays native, the JSON with spaces of python-1, scala-1 and go-1 included
    valid = {p.name for p in paths if isinstance(parse_line_python(p.read_bytes()), EnrichedEvent)}
    assert len(valid) >= 18 and {name for name, result in results.items() if result == "native"} == valid


def test_every_sample_line_the_python_parser_accepts_stays_native() -> None:
    lines = list(generate(SampleSpec(events=3000, parse_failure_ratio=0.02, schema_failure_ratio=0.02)))
    declined = accepted = failures = 0
    for text in lines:
        result = both(text)
        if isinstance(parse_line_python(text), ParseFailure):
            failures += 1
            assert result == "declined"
        else:
            accepted += 1
            declined += result == "declined"
    assert failures > 0 and accepted > 2500
    assert declined == 0, f"{declined} of {accepted} valid sample lines went the slow way"


def test_the_pipeline_reads_the_extensions_canonical_json_as_the_python_builder_builds_it() -> None:
    """Derived streams start from profile_object, which for native events reads the ready-made JSON."""
    from toolkit.pipeline.fanout import profile_object

    for text in generate(SampleSpec(events=500, seed=3)):
        event = native_codec.parse(text)
        if event is None:
            continue
        reference = parse_line_python(text)
        assert not isinstance(reference, ParseFailure)
        got = profile_object(event, canonical.NAME)
        assert got == orjson.loads(orjson.dumps(canonical.to_object(reference)))
        assert orjson.dumps(got) == to_json(reference, canonical.NAME)


def test_thousands_of_generated_lines_in_every_allowed_spelling() -> None:
    rng = random.Random(20261101)
    counts = {"native": 0, "declined": 0}
    for _ in range(2500):
        counts[both(random_line(rng))] += 1
    assert counts == {"native": 2500, "declined": 0}  # every line is valid, in compact and other spellings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(enriched_lines)
def test_hypothesis_lines(text: str) -> None:
    both(text)


def test_random_byte_edits_of_valid_lines() -> None:
    """Lines one edit away from valid: the readers must never take a broken line, nor lose a valid one."""
    rng = random.Random(5)
    lines = [text.encode() for text in generate(SampleSpec(events=200, parse_failure_ratio=0, schema_failure_ratio=0))]
    lines += [random_line(rng).encode() for _ in range(200)]
    alphabet = b'\t"\\{}[]:,0123456789.eE+-/ nultrfasA\x00\x01\x7f\xc3\xa9\xe2\x80\xa8\xff'
    seen = set()
    for _ in range(2500):
        data = bytearray(rng.choice(lines))
        at = rng.randrange(len(data))
        edit = rng.choice(("replace", "insert", "delete"))
        if edit == "replace":
            data[at] = rng.choice(alphabet)
        elif edit == "insert":
            data.insert(at, rng.choice(alphabet))
        else:
            del data[at]
        result = outcome(bytes(data))
        if result == "declined":
            assert not isinstance(parse_line_python(bytes(data)), EnrichedEvent), "declined a valid line"
        seen.add(result)
    assert seen == {"native", "declined"}


# --- each field kind at its edges ------------------------------------------------------------------------------

EDGES: dict[FieldKind, list[str]] = {
    FieldKind.STRING: ["a", "x" * 255, "x" * 256, "é" * 255, "é" * 256, "😀" * 255, "😀" * 256, 'q"uote\\back', "\r",
                       "a\nb", "\x01\x08\x0b\x0c\x1f\x7f", "\u2028\u2029", "\ufeff", "\ud800", "a\x00b", "中文"],
    FieldKind.UUID: ["c6ef3124-b53a-4b13-a233-0088f79dcbcb", "C6EF3124-B53A-4B13-A233-0088F79DCBCB",
                     "c6ef3124b53a4b13a2330088f79dcbcb", "{c6ef3124-b53a-4b13-a233-0088f79dcbcb}",
                     "g6ef3124-b53a-4b13-a233-0088f79dcbcb", "c6ef3124-b53a-4b13-a233-0088f79dcbc"],
    FieldKind.INT: ["0", "-0", "+0", "7", "+7", "007", "-007", "2147483647", "2147483648", "-2147483648",
                    "-2147483649", "0000000000002147483647", "99999999999999999999", "1_0", " 1", "1.0", "", "+",
                    "-", "٣", "1e3"],
    FieldKind.DOUBLE: ["0", "-0", "0.0", "-0.0", "12.5", "12.50", "1e400", "-1e400", "1e-400", "1e5", "1E5", "1e+16",
                       "1e16", "1e-05", "0.00001", "0.0001", ".5", "5.", "+1.5", "nan", "NaN", "inf", "Infinity",
                       "1_0", "0x10", "1.7976931348623157e+308", "1.7976931348623157e308", "1.8e308", "5e-324",
                       "123456789012345678901234567890", "1.5e", "--1", "١٢", "52.52", "-13.405", "100", "1e22",
                       "9007199254740993", "0.1", "0.30000000000000004", "1e-07", "1.5e-06"],
    FieldKind.BOOL: ["0", "1", "2", "01", "true", " 1", "-0"],
    FieldKind.TSTAMP: ["2026-11-01 12:00:00", "2026-11-01 12:00:00.1", "2026-11-01 12:00:00.123456789",
                       "2026-11-01 12:00:00.1234567890", "2026-11-01 12:00:00.", "0000-01-01 00:00:00",
                       "-0001-01-01 00:00:00", "-0004-02-29 00:00:00", "0000-02-29 00:00:00", "2024-02-29 23:59:59",
                       "2023-02-29 00:00:00", "1900-02-29 00:00:00", "2000-02-29 00:00:00", "2026-04-31 00:00:00",
                       "2026-04-30 00:00:00", "2026-13-01 00:00:00", "2026-00-01 00:00:00", "2026-01-00 00:00:00",
                       "2026-01-01 24:00:00", "2026-01-01 23:60:00", "2026-01-01 23:59:60", "2026-01-01T00:00:00",
                       "2026-01-01 00:00:00Z", "2026-1-01 00:00:00", "+2026-01-01 00:00:00", "20260-01-01 00:00:00",
                       "٢٠٢٦-01-01 00:00:00", "2026-01-01  00:00:00", "2026-01-01 00:00:00.12a"],
}


@pytest.mark.parametrize("kind", list(EDGES), ids=lambda k: k.value)
def test_every_field_of_each_kind_at_its_edges(kind: FieldKind) -> None:
    base = line(page_urlport="443", br_cookies="1", geo_latitude="52.52", geo_longitude="13.405",
                contexts=sdj(CONTEXTS_WRAPPER, [sdj("iglu:com.acme/product/jsonschema/1-0-0", {"sku": "B"})]))
    seen = set()
    for f in FIELDS:
        if f.kind is not kind:
            continue
        for value in EDGES[kind]:
            seen.add(both(put(base, **{f.name: value})))
    assert seen == {"native", "declined"}


def test_required_fields_and_the_geo_pair() -> None:
    for name in ("collector_tstamp", "event_id", "v_collector", "v_etl"):
        assert both(line(**{name: None})) == "declined"
    assert both(line(geo_latitude="-0.0", geo_longitude="180")) == "native"  # "180" needs _tsv, kept native
    assert both(line(geo_latitude="1e-05")) == "native"


def test_1mb_fields() -> None:
    big = sdj(CONTEXTS_WRAPPER, [sdj("iglu:com.acme/blob/jsonschema/1-0-0", {"text": "é" * 500_000})])
    assert both(line(contexts=big)) == "native"
    assert both(line(page_url="https://x.example/" + "a" * 1_000_000)) == "declined"


def test_many_entities_sharing_columns() -> None:
    entities = [sdj(f"iglu:com.acme/e{i % 40}/jsonschema/1-0-{i % 3}", {"i": i}) for i in range(200)]
    assert both(line(contexts=sdj(CONTEXTS_WRAPPER, entities), derived_contexts=sdj(DERIVED_WRAPPER, entities[:50]),
                     unstruct_event=sdj(UNSTRUCT_WRAPPER, sdj("iglu:com.acme/e1/jsonschema/1-0-0", [1])))) == "native"


# --- JSON spellings --------------------------------------------------------------------------------------------

THING = "iglu:com.acme/thing/jsonschema/1-0-0"
DATA_SPELLINGS = [
    '{"a":1}', '{"a": 1}', '{ "a":1}', '{"a":1,"a":2}', '{"b":1,"a":2}', "{}", "[]", '"x"', "1", "null", "true",
    '{"a":"\\/"}', '{"a":"/"}', '{"a":"\\u00e9"}', '{"a":"é"}', '{"a":"\\u001f"}', '{"a":"\\u001F"}', '{"a":"\\t"}',
    '{"a":"\\u0009"}', '{"a":"\\b\\f\\n\\r\\"\\\\"}', '{"a":"\\ud83d\\ude00"}', '{"a":"\\ud800"}', '{"a":"\x01"}',
    '{"a":1e400}', '{"a":-0}', '{"a":-0.0}', '{"a":1.0}', '{"a":1E5}', '{"a":1e5}', '{"a":100000.0}', '{"a":12.50}',
    '{"a":18446744073709551615}', '{"a":18446744073709551616}', '{"a":-9223372036854775808}',
    '{"a":-9223372036854775809}', '{"a":NaN}', '{"a":Infinity}', '{"a":1,}', "{'a':1}", '{"a":01}', '{"a":.5}',
    '{"a":1e+16}', '{"a":1e16}', '{"a":0.00001}', '{"a":1e-05}', '{"a":1e-7}', '{"a":5e-324}', '{"a":[1,[2,[3]]]}',
    '{"a":"\u2028"}', '{"a":"\x7f"}', '{"a":tru}', '{"a":1}x', '{"a":"' + "\\u0000" + '"}',
    "[" * 200 + "]" * 200, "[" * 100 + "]" * 100,
]


@pytest.mark.parametrize("field", ["contexts", "derived_contexts", "unstruct_event"])
def test_json_spellings_inside_entities(field: str) -> None:
    results = set()
    for data in DATA_SPELLINGS:
        entity = spelled(THING, data)
        if field == "unstruct_event":
            text = spelled(UNSTRUCT_WRAPPER, entity)
        else:
            text = spelled(CONTEXTS_WRAPPER, f"[{entity},{entity}]")
        results.add(both(put(line(), **{field: text}), exact=not data.startswith("[" * 200)))
    assert results == {"native", "declined"}


WRAPPERS = [
    spelled(CONTEXTS_WRAPPER, "[]"),
    '{"data":[],"schema":"' + CONTEXTS_WRAPPER + '"}',
    spelled(CONTEXTS_WRAPPER, '[],"x":1'),
    '{"schema":"' + CONTEXTS_WRAPPER + '"}',
    spelled(CONTEXTS_WRAPPER, "{}"),
    spelled(CONTEXTS_WRAPPER, "[1]"),
    spelled(CONTEXTS_WRAPPER, '[{"schema":"iglu:a/b/jsonschema/1-0-0"}]'),
    spelled(CONTEXTS_WRAPPER, '[{"data":1,"schema":"iglu:a/b/jsonschema/1-0-0"}]'),
    spelled(CONTEXTS_WRAPPER, '[{"schema":"iglu:a/b/jsonschema/1-0-0","data":1,"x":2}]'),
    spelled(UNSTRUCT_WRAPPER, '[{"schema":"iglu:a/b/jsonschema/1-0-0","data":1}]'),  # the wrong wrapper
    spelled(CONTEXTS_WRAPPER, '{"schema":"iglu:a/b/jsonschema/1-0-0","data":1}'),
    '{"schema":1,"data":[]}', '{"schema":"iglu:bad","data":[]}', '[]', '"x"', "", " ",
    spelled(CONTEXTS_WRAPPER, "[]") + " ",
    spelled(CONTEXTS_WRAPPER, "[]") + "\r",
    " \n" + spelled(CONTEXTS_WRAPPER, "[]") + " \r\n",
    "\ufeff" + spelled(CONTEXTS_WRAPPER, "[]"),
    '{"schema":"iglu:x/y/jsonschema/1-0-0",' + spelled(CONTEXTS_WRAPPER, "[]")[1:],  # a repeated key: the last wins
    spelled(CONTEXTS_WRAPPER, '[],"schema":"iglu:bad"'),
    spelled(CONTEXTS_WRAPPER, '[],"data":{}'),
    spelled(CONTEXTS_WRAPPER.replace("/", "\\/"), '[{"schema":"iglu:a\\/b/jsonschema/1-0-0","data":1}]'),
    spelled(CONTEXTS_WRAPPER, '[{"schema":"iglu:a/b/jsonschema/1-0-0","data":1,"data":2}]'),
    spelled(CONTEXTS_WRAPPER, '[{"data":{"z":1,"a":[1, 2]},"schema":"iglu:a/b/jsonschema/1-0-0"}]'),
    spelled(UNSTRUCT_WRAPPER, '{"data":1,"schema":"iglu:a/b/jsonschema/1-0-0","x":1}'),
    spelled(UNSTRUCT_WRAPPER, '{"schema":"iglu:a/b/jsonschema/1-0-0"}'),
    spelled(UNSTRUCT_WRAPPER, '{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"a":"\\ud83d\\ude00\\u0000"}}'),
]
URIS = ["iglu:com.acme/x/jsonschema/1-0-0", "iglu:com.acme/x/jsonschema/0-0-0", "iglu:com.acme/x/jsonschema/1-01-0",
        "iglu:com.acme/x/jsonschema/1-0", "iglu:com.acme/x/y/jsonschema/1-0-0", "iglu:com.acme//jsonschema/1-0-0",
        "iglu:com.acme/x.y/jsonschema/1-0-0", "iglu:com.acme/x/jsonschema/1-0-0\\n", "com.acme/x/jsonschema/1-0-0",
        "iglu:com.acme/x/jsonschema/1-0-0-0", "iglu:com.ACME-corp_1/HTTPHeader/json-schema_2/12-3-45",
        "iglu:com.acme/x/jsonschema/1-0-0\\/", "iglu:com.acme/é/jsonschema/1-0-0", "iglu:com acme/x/jsonschema/1-0-0",
        "iglu:com.acme/aBCd-eF.g/jsonschema/1-0-0", "iglu:com.acme/x_Y/jsonschema/99999999999999999999-0-0"]


def test_wrapper_shapes_and_iglu_uris() -> None:
    results = set()
    for field in ("contexts", "derived_contexts", "unstruct_event"):
        for text in WRAPPERS:
            results.add(both(put(line(), **{field: text})))
    assert results == {"native", "declined"}
    results = set()
    for uri in URIS:
        entity = spelled(uri, '{"a":1}')
        exact = not uri.endswith("\\n")  # Python's `$` takes a URI ending in a newline; the fast path declines it
        results.add(both(put(line(), contexts=spelled(CONTEXTS_WRAPPER, f"[{entity}]")), exact=exact))
        results.add(both(put(line(), unstruct_event=spelled(UNSTRUCT_WRAPPER, entity)), exact=exact))
        results.add(both(put(line(), contexts=spelled(uri, "[]")), exact=exact))
    assert results == {"native", "declined"}


def _random_doubles(rng: random.Random, count: int) -> list[float]:
    out = []
    while len(out) < count:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x):
            out.append(x)
    return out + [rng.uniform(-1e6, 1e6) for _ in range(count)] + [rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 20)
                                                                  for _ in range(count)]


def test_doubles_are_spelled_as_python_and_orjson_spell_them() -> None:
    rng = random.Random(7)
    for x in _random_doubles(rng, 300):
        for text in (repr(x), f"{x:.17g}", f"{x:e}", f"{x:.3f}"):
            assert both(put(line(), se_value=text)) == ("native" if math.isfinite(float(text)) else "declined")
        data = orjson.dumps({"x": x, "y": [x, -x]}).decode()
        as_json = json.dumps({"x": x})  # Python's spelling: 1e-05 and 1e+16 are not orjson's
        for text in (data, as_json):
            both(put(line(), unstruct_event=spelled(UNSTRUCT_WRAPPER, spelled(THING, text))))


# --- whole lines -----------------------------------------------------------------------------------------------


def test_line_level_cases() -> None:
    ok = line()
    assert both(ok) == "native"
    assert both(ok + "\n") == "native" and both(ok + "\r\n") == "native"
    assert both("\ufeff" + ok) == "native"  # a byte-order mark is a character of app_id, as in Python
    for bad in ("", "\n", "no tabs at all", ok + "\n\n", ok + "\r", ok + "\t", "\t".join(ok.split("\t")[:130]),
                "\x00" + ok, ok.replace("shop", "sh\x00p")):
        assert both(bad) == "declined", repr(bad[:40])
    data = ok.encode()
    for broken in (data.replace(b"shop", b"sh\xe9p"), data.replace(b"shop", b"sh\xed\xa0\x80p"), b"\xff" + data,
                   data.replace(b"shop", b"sh\xc0\xafp")):
        assert outcome(broken) == "declined"
        assert isinstance(parse_line(broken), ParseFailure)
    assert outcome(bytearray(data)) == "native" and outcome(memoryview(data)) == "native"
    event = native_codec.parse(ok + "\r\n")
    assert event is not None and event.line == ok


def test_the_public_api_takes_the_native_path_with_the_same_results() -> None:
    text = next(iter(generate(SampleSpec(events=1, parse_failure_ratio=0, schema_failure_ratio=0))))
    event = parse_line(text)
    assert type(event) is native_codec.NativeEvent and isinstance(event, EnrichedEvent)
    reference = parse_line_python(text)
    assert to_json(event, "canonical") == to_json(reference, "canonical") == canonical.to_json(event)
    for profile in ("python-sdk", "scala-sdk", "go-sdk", "go-sdk-geo"):
        assert to_json(event, profile) == to_json(reference, profile)
    assert event.values == reference.values and event.typed == reference.typed
    assert event.entities == reference.entities and event.self_describing() == reference.self_describing()
    assert canonical.parse_canonical(to_json(event)).line == text
    with pytest.raises(AttributeError, match="immutable"):
        event.line = "x"  # type: ignore[misc]


def test_the_extension_object() -> None:
    text = line(domain_userid="d-1", unstruct_event=sdj(UNSTRUCT_WRAPPER, sdj("iglu:com.acme/click/jsonschema/1-0-0",
                                                                              {"id": "buy"})))
    native = native_codec.parse(text.encode()).native  # type: ignore[union-attr]
    assert native.field("app_id") == native.field(0) == "shop"
    assert native.field("refr_device_tstamp") == native.field("refr_dvce_tstamp") == ""
    assert (native.event_id, native.collector_tstamp) == ("c6ef3124-b53a-4b13-a233-0088f79dcbcb",
                                                          "2026-11-01 12:00:00.123")
    assert (native.domain_userid, native.network_userid, native.event_fingerprint) == ("d-1", None, None)
    assert native.event_schema_uri == "iglu:com.acme/click/jsonschema/1-0-0"
    assert native.unstruct_event == text.split("\t")[58] and native.contexts is None
    assert len(native.fields) == FIELD_COUNT
    with pytest.raises(KeyError, match="unknown enriched-event field"):
        native.field("nope")
    with pytest.raises(IndexError, match="outside 0-130"):
        native.field(131)
    with pytest.raises(TypeError):
        native.field(1.5)
    schema_by_fields = native_codec.parse(line(event_vendor="com.acme", event_name="e", event_format="jsonschema",
                                               event_version="1-0-0")).native  # type: ignore[union-attr]
    assert schema_by_fields.event_schema_uri == "iglu:com.acme/e/jsonschema/1-0-0"
    assert native_codec.parse(line()).native.event_schema_uri is None  # type: ignore[union-attr]
    import sptk_native

    with pytest.raises(TypeError, match="bytes or str"):
        sptk_native.parse(123)
    assert tuple(sptk_native.FIELDS) == tuple((f.name, f.kind.value, f.max_length, f.required) for f in FIELDS)


def test_the_environment_switch_turns_the_fast_path_off() -> None:
    code = ("from toolkit.contract.native_codec import AVAILABLE, STATUS; from toolkit.contract.tsv import parse_line; "
            "import sys; sys.path.insert(0, 'tests/unit/toolkit'); from event_lines import line; "
            "print(AVAILABLE, type(parse_line(line())).__name__, STATUS)")
    env = {**os.environ, native_codec.ENV_SWITCH: "0"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.startswith("False EnrichedEvent native fast path off: SPTK_NATIVE=0"), out.stdout + out.stderr


def test_custom_and_derived_entities_of_one_type_keep_their_order() -> None:
    product = "iglu:com.acme/product/jsonschema/1-0-0"
    text = line(contexts=sdj(CONTEXTS_WRAPPER, [sdj(product, {"sku": 1}), sdj("iglu:org.w3/PerformanceTiming/"
                                                                              "jsonschema/1-0-0", {"d": 2}),
                                                sdj(product, {"sku": 3})]),
                derived_contexts=sdj(DERIVED_WRAPPER, [sdj("iglu:com.acme/product/jsonschema/1-1-0", {"sku": 4})]))
    assert both(text) == "native"
    doc: dict[str, Any] = orjson.loads(canonical.to_json(parse_line(text)))  # type: ignore[arg-type]
    assert doc["contexts_com_acme_product_1"] == [{"sku": 1}, {"sku": 3}, {"sku": 4}]
    assert list(doc)[-3:] == ["contexts_com_acme_product_1", "contexts_org_w3_performance_timing_1", "_schemas"]
    assert compact(doc["_schemas"]).count("iglu:") == 6
