"""JSON profiles: each SDK's expected output matched, the Python SDK reproduced byte for byte, canonical lossless."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from snowplow_analytics_sdk.event_transformer import transform
from snowplow_analytics_sdk.snowplow_event_transformation_exception import SnowplowEventTransformationException

from tests.unit.toolkit.event_lines import CONTEXTS_WRAPPER, DERIVED_WRAPPER, UNSTRUCT_WRAPPER, line, sdj
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.profiles import PROFILES, ProfileError, to_json
from toolkit.contract.profiles.canonical import parse_canonical, to_dict
from toolkit.contract.profiles.formats import go_float, go_rfc3339_nano, java_double, java_instant
from toolkit.contract.tsv import ParseFailure, parse_line

#: which profile reproduces each expected-JSON fixture (fixtures/enriched/SOURCES.md), and what to drop first
EXPECTED = {
    "python-1.expected.json": ("python-sdk", False),
    "js-1.expected.json": ("python-sdk", False),  # the JS SDK 0.4.0 writes what the Python SDK writes
    "go-1.expected.json": ("go-sdk-geo", False),
    "go-1.expected-nogeo.json": ("go-sdk", False),
    "scala-1.expected.json": ("scala-sdk", False),
    "scala-2.expected.json": ("scala-sdk", False),
    "scala-3.expected.json": ("scala-sdk", False),
    # Scala SDK 3.1.0 (RDB Loader) and the .NET SDK: the lossy format without 3.2's _schema_version
    "rdbloader-1.expected.json": ("scala-sdk", True),
    "rdbloader-2.expected.json": ("scala-sdk", True),
    "dotnet-2.expected.json": ("scala-sdk", True),
}


def _without_schema_version(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_schema_version(v) for k, v in value.items() if k != "_schema_version"}
    if isinstance(value, list):
        return [_without_schema_version(v) for v in value]
    return value


def _event(text: str | bytes) -> EnrichedEvent:
    result = parse_line(text)
    assert isinstance(result, EnrichedEvent), getattr(result, "reason", result)
    return result


def test_each_expected_json_fixture_is_matched_under_its_sdks_profile(enriched_fixtures: Path) -> None:
    seen = set()
    for path in sorted(enriched_fixtures.glob("*.expected*.json")):
        source = (enriched_fixtures / (path.name.split(".")[0] + ".tsv")).read_bytes()
        if path.name in NOT_JSON:  # .NET's single-quoted pseudo-JSON: rejected with a reason, not guessed at
            assert "single quotes are not JSON" in parse_line(source).reason
            continue
        profile, drop_schema_version = EXPECTED[path.name]
        event = _event(source)
        got = json.loads(to_json(event, profile))
        if drop_schema_version:
            got = _without_schema_version(got)
        assert got == json.loads(path.read_text()), path.name
        seen.add(path.name)
    assert seen == set(EXPECTED)


#: expected outputs of the .NET SDK for lines whose JSON fields are single-quoted, which no strict parser reads
NOT_JSON = {"dotnet-1.expected.json", "dotnet-3.expected.json"}


def test_python_sdk_profile_is_byte_for_byte_json_dumps_of_transform_on_every_fixture(
        enriched_fixtures: Path) -> None:
    compared = 0
    for path in sorted(enriched_fixtures.glob("*.tsv")) + sorted((enriched_fixtures / "invalid").glob("*.tsv")):
        text = path.read_text(encoding="utf-8").rstrip("\n")
        try:
            sdk = json.dumps(transform(text)).encode()
        except SnowplowEventTransformationException:
            sdk = None
        ours = parse_line(text)
        if sdk is None:  # every line the SDK rejects, the contract rejects too
            assert isinstance(ours, ParseFailure), path.name
            continue
        if path.stem == "scala-4":  # the one the SDK takes and the contract does not: app_id over 255 chars
            assert isinstance(ours, ParseFailure)
            continue
        assert to_json(ours, "python-sdk") == sdk, path.name
        compared += 1
    assert compared >= 18


def test_canonical_round_trips_every_fixture_back_to_the_same_tsv(enriched_fixtures: Path) -> None:
    for path in sorted(enriched_fixtures.glob("*.tsv")):
        event = parse_line(path.read_bytes())
        if isinstance(event, ParseFailure):
            continue
        back = parse_canonical(to_json(event))
        assert isinstance(back, EnrichedEvent), (path.name, getattr(back, "reason", None))
        assert back.line == event.line, path.name


def test_canonical_shape_warehouse_columns_typed_values_entities_grouped() -> None:
    text = line(
        etl_tstamp="2026-11-01 12:00:01", txn_id="42", geo_latitude="52.5", geo_longitude="13.4",
        se_value="2.5", br_cookies="0", refr_dvce_tstamp="2026-11-01 11:59:59.123456789",
        contexts=sdj(CONTEXTS_WRAPPER, [sdj("iglu:org.w3/PerformanceTiming/jsonschema/1-0-0", {"a": 1}),
                                        sdj("iglu:com.acme-corp/my-event/jsonschema/2-1-0", {"b": 2}),
                                        sdj("iglu:org.w3/PerformanceTiming/jsonschema/1-0-1", {"a": 3})]),
        unstruct_event=sdj(UNSTRUCT_WRAPPER, sdj("iglu:com.acme/button_click/jsonschema/1-0-0", {"id": "buy"})),
        derived_contexts=sdj(DERIVED_WRAPPER, [sdj("iglu:org.w3/PerformanceTiming/jsonschema/1-0-0", {"a": 4})]),
    )
    got = to_dict(_event(text))
    assert got == {
        "app_id": "shop", "platform": "web", "etl_tstamp": "2026-11-01T12:00:01Z",
        "collector_tstamp": "2026-11-01T12:00:00.123Z", "event": "page_view",
        "event_id": "c6ef3124-b53a-4b13-a233-0088f79dcbcb", "txn_id": 42, "v_collector": "ssc-3.2.0-kafka",
        "v_etl": "snowplow-enrich-kafka-5.1.0", "geo_latitude": 52.5, "geo_longitude": 13.4, "se_value": 2.5,
        "br_cookies": False, "refr_dvce_tstamp": "2026-11-01T11:59:59.123456789Z",
        "geo_location": "52.5,13.4",
        # custom and derived contexts of one type share a column: custom first, none lost
        "contexts_org_w3_performance_timing_1": [{"a": 1}, {"a": 3}, {"a": 4}],
        "contexts_com_acme_corp_my_event_2": [{"b": 2}],
        "unstruct_event_com_acme_button_click_1": {"id": "buy"},
        "_schemas": {
            "contexts": [CONTEXTS_WRAPPER, "iglu:org.w3/PerformanceTiming/jsonschema/1-0-0",
                         "iglu:com.acme-corp/my-event/jsonschema/2-1-0",
                         "iglu:org.w3/PerformanceTiming/jsonschema/1-0-1"],
            "unstruct_event": [UNSTRUCT_WRAPPER, "iglu:com.acme/button_click/jsonschema/1-0-0"],
            "derived_contexts": [DERIVED_WRAPPER, "iglu:org.w3/PerformanceTiming/jsonschema/1-0-0"],
        },
    }
    assert list(got)[:4] == ["app_id", "platform", "event", "event_id"]  # strings first, each group in TSV order
    assert parse_canonical(orjson.dumps(got)).line == text


def test_canonical_keeps_the_text_of_what_json_would_respell() -> None:
    spaced = '{"schema": "' + CONTEXTS_WRAPPER + '", "data": [{"schema": "iglu:a/b/jsonschema/1-0-0", "data": {}}]}'
    escaped = '{"schema":"iglu:com.snowplowanalytics.snowplow\\/contexts\\/jsonschema\\/1-0-1","data":[]}'
    text = line(tr_total="12.50", txn_id="+7", tr_tax="3", contexts=spaced, derived_contexts=escaped)
    got = to_dict(_event(text))
    assert got["_tsv"] == {"txn_id": "+7", "tr_total": "12.50", "tr_tax": "3", "contexts": spaced,
                           "derived_contexts": escaped}
    assert (got["txn_id"], got["tr_total"], got["tr_tax"]) == (7, 12.5, 3.0)
    assert "_tsv" not in to_dict(_event(line(tr_total="12.5", txn_id="7")))
    assert parse_canonical(to_json(_event(text))).line == text


def test_the_sdk_bugs_each_profile_reproduces_on_one_event() -> None:
    shared = "iglu:com.acme/shared/jsonschema/1-0-0"
    text = line(
        se_value="10", refr_dvce_tstamp="2026-11-01 11:59:59.880", geo_latitude="1e-7", geo_longitude="100",
        contexts=sdj(CONTEXTS_WRAPPER, [sdj(shared, {"from": "custom"}),
                                        sdj("iglu:org.ietf/HTTPHeader/jsonschema/1-0-0", {"n": 12345678901234567})]),
        derived_contexts=sdj(DERIVED_WRAPPER, [sdj(shared, {"from": "derived"})]),
    )
    event = _event(text)
    py = json.loads(to_json(event, "python-sdk"))
    assert py == transform(text)
    assert py["se_value"] == "10" and py["refr_device_tstamp"] == "2026-11-01T11:59:59.880Z"
    assert py["contexts_com_acme_shared_1"] == [{"from": "derived"}]  # the custom entity is lost
    assert py["contexts_org_ietf_httpheader_1"] == [{"n": 12345678901234567}]

    scala = json.loads(to_json(event, "scala-sdk"))
    assert scala["se_value"] == 10.0 and scala["refr_dvce_tstamp"] == "2026-11-01T11:59:59.880Z"
    assert scala["contexts_com_acme_shared_1"] == [{"_schema_version": "1-0-0", "from": "derived"}]
    assert scala["contexts_org_ietf_httpheader_1"][0]["_schema_version"] == "1-0-0"
    assert scala["geo_location"] == "1.0E-7,100.0" and scala["app_id"] == "shop" and scala["user_id"] is None
    assert b'"se_value":10.0' in to_json(event, "scala-sdk")

    go = to_json(event, "go-sdk")
    assert json.loads(go)["refr_device_tstamp"] == "2026-11-01T11:59:59.88Z"
    assert json.loads(go)["contexts_org_ietf_h_t_t_p_header_1"] == [{"n": 12345678901234568}]  # float64
    assert b'"geo_latitude":1e-7' in go and b'"geo_longitude":100' in go and b"geo_location" not in go
    assert list(json.loads(go)) == sorted(json.loads(go))

    canonical = to_dict(event)
    assert canonical["contexts_com_acme_shared_1"] == [{"from": "custom"}, {"from": "derived"}]
    # Scala splits no run of capitals: HTTPHeader is httpheader
    assert canonical["contexts_org_ietf_httpheader_1"] == [{"n": 12345678901234567}]
    assert canonical["se_value"] == 10.0 and canonical["refr_dvce_tstamp"] == "2026-11-01T11:59:59.880Z"


def test_go_profile_rejects_what_the_go_sdk_cannot_decode() -> None:
    negative_year = _event(line(etl_tstamp="-2006-10-15 09:06:35.493256951"))
    with pytest.raises(ProfileError, match="go-sdk: etl_tstamp: Go's time package cannot read or write the year"):
        to_json(negative_year, "go-sdk")
    array_data = _event(line(contexts=sdj(CONTEXTS_WRAPPER, [sdj("iglu:a/b/jsonschema/1-0-0", [1, 2])])))
    with pytest.raises(ProfileError, match=r"contexts.data\[0\] \(iglu:a/b/jsonschema/1-0-0\) holds a JSON array"):
        to_json(array_data, "go-sdk")
    assert json.loads(to_json(array_data, "scala-sdk"))["contexts_a_b_1"] == [[1, 2]]


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown JSON profile 'xml'; choose one of: canonical, python-sdk"):
        to_json(_event(line()), "xml")
    assert set(PROFILES) == {"canonical", "python-sdk", "scala-sdk", "go-sdk", "go-sdk-geo"}


@pytest.mark.parametrize(("value", "java", "go"), [
    (37.443604, "37.443604", "37.443604"), (-122.4124, "-122.4124", "-122.4124"), (100.0, "100.0", "100"),
    (1e7, "1.0E7", "10000000"), (1.5e-4, "1.5E-4", "0.00015"), (1e-7, "1.0E-7", "1e-7"),
    (1e21, "1.0E21", "1e+21"), (0.0, "0.0", "0"), (-0.0, "-0.0", "-0"), (123456.789, "123456.789", "123456.789"),
    (1.2345e-10, "1.2345E-10", "1.2345e-10"), (0.001, "0.001", "0.001"),
])
def test_jvm_and_go_number_spelling(value: float, java: str, go: str) -> None:
    assert (java_double(value), go_float(value)) == (java, go)


@pytest.mark.parametrize(("tsv", "java", "go"), [
    ("2013-11-26 00:02:05", "2013-11-26T00:02:05Z", "2013-11-26T00:02:05Z"),
    ("2013-11-26 00:02:05.000", "2013-11-26T00:02:05Z", "2013-11-26T00:02:05Z"),
    ("2013-11-26 00:03:57.880", "2013-11-26T00:03:57.880Z", "2013-11-26T00:03:57.88Z"),
    ("2021-10-13 20:22:10.4230726", "2021-10-13T20:22:10.423072600Z", "2021-10-13T20:22:10.4230726Z"),
    ("2021-10-13 20:22:10.42307", "2021-10-13T20:22:10.423070Z", "2021-10-13T20:22:10.42307Z"),
    ("0000-01-01 00:00:00.5", "0000-01-01T00:00:00.500Z", "0000-01-01T00:00:00.5Z"),
])
def test_jvm_and_go_instant_spelling(tsv: str, java: str, go: str) -> None:
    from toolkit.contract.event import Timestamp

    ts = Timestamp.from_tsv(tsv)
    assert (java_instant(ts), go_rfc3339_nano(ts)) == (java, go)
    assert java_instant(Timestamp.from_tsv("-2006-10-15 09:06:35")) == "-2006-10-15T09:06:35Z"


# --- canonical JSON that does not describe an event says why --------------------------------------------------


def _canonical(**changes: Any) -> dict[str, Any]:
    obj = to_dict(_event(line(contexts=sdj(CONTEXTS_WRAPPER, [sdj("iglu:a/b/jsonschema/1-0-0", {"x": 1})]))))
    for key, value in changes.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    return obj


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"refr_device_tstamp": "2026-11-01T00:00:00Z"}, "refr_device_tstamp",
     "(that is the Python/Go SDK's name; canonical JSON says refr_dvce_tstamp)"),
    ({"colour": "blue"}, "colour", "unknown key 'colour'"),
    ({"txn_id": "42"}, "txn_id", "txn_id must be an integer"),
    ({"br_cookies": 1}, "br_cookies", "br_cookies must be true or false"),
    ({"etl_tstamp": "2026-11-01 00:00:00"}, "etl_tstamp", "must be an ISO-8601 UTC timestamp string"),
    ({"contexts": "{}"}, "contexts", "its entities go under contexts_*/unstruct_event_* columns"),
    ({"contexts_a_b_1": [{"x": 1}, {"x": 2}]}, "contexts_a_b_1", "contexts_a_b_1 does not match the event"),
    ({"contexts_a_b_1": None}, "contexts_a_b_1", "the object has no contexts_a_b_1 column"),
    ({"contexts_c_d_1": [{}]}, "contexts_c_d_1", "is not reproduced by the rebuilt event"),
    ({"_tsv": {"tr_total": "1.5"}}, "_tsv", "_tsv holds text for tr_total, but the object has no tr_total value"),
    ({"event_id": "nope"}, "event_id", "event_id 'nope' is not a UUID"),
])
def test_canonical_json_that_is_not_an_event_fails_naming_the_key(changes: dict[str, Any], field: str,
                                                                   message: str) -> None:
    result = parse_canonical(orjson.dumps(_canonical(**changes)))
    assert isinstance(result, ParseFailure)
    assert any(e.field == field and message in e.message for e in result.errors), result.reason
    assert result.bad_row().to_dict()["data"]["payload"] == orjson.dumps(_canonical(**changes)).decode()


def test_canonical_stale_tsv_text_is_caught_not_written() -> None:
    obj = to_dict(_event(line(tr_total="12.50")))
    obj["tr_total"] = 99.0  # edited value, stale original text
    result = parse_canonical(orjson.dumps(obj))
    assert isinstance(result, ParseFailure)
    assert [e.field for e in result.errors] == ["tr_total"]


def test_canonical_input_that_is_not_json_or_not_an_object() -> None:
    assert "not valid JSON" in parse_canonical(b"{nope").reason
    assert "must be a JSON object" in parse_canonical(b"[1, 2]").reason


def test_canonical_objects_round_trip_as_python_objects_too() -> None:
    from toolkit.contract.profiles.canonical import to_object

    event = _event(line(tr_total="12.50", contexts=sdj(CONTEXTS_WRAPPER, [sdj("iglu:a/b/jsonschema/1-0-0", {})])))
    assert isinstance(to_object(event)["contexts_a_b_1"], tuple)  # the hot path's shape, written as an array
    assert parse_canonical(to_object(event)).line == event.line
    assert parse_canonical(to_dict(event)).line == event.line

